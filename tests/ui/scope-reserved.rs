use task_runtime::run_in_background;

#[run_in_background(scope = &SCOPE)]
fn work() {}

fn main() {}
