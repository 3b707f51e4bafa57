use task_macros::run_in_background;

#[run_in_background(priority = "high")]
fn load() {}

fn main() {}
