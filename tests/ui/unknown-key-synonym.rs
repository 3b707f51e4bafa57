use task_macros::run_in_background;

#[run_in_background(name = "Load")]
fn load(path: String) -> usize {
    path.len()
}

fn main() {}
