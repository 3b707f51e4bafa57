use task_macros::run_in_background;

#[run_in_background(task_name, priority = 1)]
fn load() {}

fn main() {}
