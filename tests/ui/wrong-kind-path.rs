use task_macros::run_in_background;

#[run_in_background(on_complete = "show")]
fn load() -> u32 {
    1
}

fn main() {}
