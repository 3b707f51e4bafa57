use task_macros::run_in_background;

#[run_in_background(show_progress = "yes")]
fn load() {}

fn main() {}
