use task_macros::run_in_background;

#[run_in_background(crate = "task runtime!")]
fn load() {}

fn main() {}
