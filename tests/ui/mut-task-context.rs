use task_macros::run_in_background;
use task_runtime::TaskContext;

#[run_in_background]
fn count(ctx: &mut TaskContext) -> u32 {
    ctx.set_progress(1, 1);
    1
}

fn main() {}
