use task_macros::run_in_background;

#[run_in_background(timeout_ms = "2s")]
fn load(path: String) -> usize {
    path.len()
}

#[run_in_background(timeout_ms = 2_000u32)]
fn parse(text: String) -> usize {
    text.len()
}

fn main() {}
