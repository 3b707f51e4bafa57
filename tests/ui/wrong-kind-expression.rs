use task_macros::run_in_background;

#[run_in_background(manager = "global")]
fn load() {}

fn main() {}
