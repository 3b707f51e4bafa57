use task_macros::run_in_background;

#[run_in_background(task_name = "Load", priority = 1, task_name = "Reload")]
fn load() {}

fn main() {}
