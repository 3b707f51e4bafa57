//! One dependency is enough: the attributes come from `task_runtime` itself.

use task_runtime::{async_method, run_in_background, TaskContext};

#[run_in_background(task_name = "Sum")]
fn sum(values: Vec<u64>, ctx: &TaskContext) -> u64 {
    ctx.set_progress(1, 1);
    values.iter().sum()
}

#[derive(Clone)]
struct Api;

impl Api {
    #[async_method]
    fn fetch(&self, id: u32) -> u32 {
        id * 2
    }
}

fn main() {
    assert_eq!(sum(vec![1, 2, 3]).join().unwrap(), 6);
    assert_eq!(futures::executor::block_on(Api.fetch(21)).unwrap(), 42);
}
