// The user's own `Result`, `Task`, `Option`, `Some`, `Arc` and `Clone` in scope do not
// confuse the generated code, which only uses absolute paths.
#![allow(dead_code)]

use task_macros::run_in_background;

type Result<T> = std::result::Result<T, task_runtime::AppError>;
struct Task;
struct Arc;
enum Option {
    Some,
    None,
}
use Option::Some;
trait Clone {}

#[derive(::core::clone::Clone)]
struct Service;

impl Service {
    #[run_in_background(on_complete = self.done)]
    fn work(&self, n: u32) -> Result<u32> {
        Ok(n + 1)
    }

    fn done(&self, _n: u32) {}

    #[run_in_background(on_complete = self.shared_done)]
    fn shared(self: std::sync::Arc<Self>) -> u32 {
        2
    }

    fn shared_done(&self, _n: u32) {}
}

fn main() {
    Service.work(1).join().unwrap();
    std::sync::Arc::new(Service).shared().join().unwrap();
    let _ = (Task, Arc, Some);
}
