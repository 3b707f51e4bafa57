//! `timeout_ms`: on a function, on an `#[async_method]`, and as an `impl` block's default.
use std::time::Duration;
use task_runtime::{async_method, codes, run_in_background, task_methods, TaskContext, TaskError};

fn wait_for_cancel(ctx: &TaskContext) -> u32 {
    while !ctx.is_cancelled() {
        std::thread::sleep(Duration::from_millis(1));
    }
    0
}

#[run_in_background(timeout_ms = 20)]
fn slow(ctx: &TaskContext) -> u32 {
    wait_for_cancel(ctx)
}

#[derive(Clone)]
struct Service;

#[task_methods(timeout_ms = 20)]
impl Service {
    #[run_in_background]
    fn stuck(&self, ctx: &TaskContext) -> u32 {
        wait_for_cancel(ctx)
    }

    #[async_method(timeout_ms = 30_000)]
    fn quick(&self) -> u32 {
        7
    }
}

fn timed_out(outcome: Result<u32, TaskError>) -> bool {
    matches!(outcome, Err(TaskError::Failed(error)) if error.code() == codes::ERR_TASK_TIMEOUT)
}

fn main() {
    assert!(timed_out(slow().join()));
    assert!(timed_out(Service.stuck().join()));
    assert_eq!(Service.quick().join().unwrap(), 7);
}
