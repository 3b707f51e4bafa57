use task_macros::run_in_background;

#[run_in_background(priority = 3000000000)]
fn load() {}

fn main() {}
