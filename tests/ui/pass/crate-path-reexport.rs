// The runtime reached through a re-export module, as a crate that wraps it would do.
mod tasks {
    pub use task_runtime::*;
}

use task_macros::{async_method, run_in_background};

#[run_in_background(crate = "crate::tasks", on_complete = |n: u32| assert_eq!(n, 4))]
fn four() -> u32 {
    4
}

#[async_method(crate = "crate::tasks")]
fn five(ctx: &tasks::TaskContext) -> Result<u32, tasks::AppError> {
    ctx.check_cancelled()?;
    Ok(5)
}

fn main() {
    four().join().unwrap();
    assert_eq!(five().join().unwrap(), 5);
}
