use task_macros::run_in_background;

#[run_in_background(task_name = Load)]
fn load() {}

fn main() {}
