use task_macros::run_in_background;
use task_runtime::{Progress, TaskContext};

#[run_in_background(on_progress = |progress: &Progress| println!("{progress}"))]
fn count(limit: u64, ctx: &TaskContext) -> u64 {
    ctx.report_progress(0, limit, "counting");
    limit
}

fn main() {}
