use task_macros::run_in_background;
use task_runtime::TaskContext;

#[run_in_background]
fn work(first: &TaskContext, items: Vec<u32>, second: &TaskContext) -> usize {
    first.set_progress(1, 2);
    second.set_progress(2, 2);
    items.len()
}

fn main() {}
