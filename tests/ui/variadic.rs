use task_macros::run_in_background;

#[run_in_background]
fn log_all(_format: String, _args: ...) {}

fn main() {}
