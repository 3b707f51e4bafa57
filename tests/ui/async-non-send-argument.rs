// An argument that is not `Send` is one error, at the argument, in an `async fn` too.
use std::rc::Rc;
use task_macros::run_in_background;

async fn tick() {}

#[run_in_background]
async fn total(numbers: Rc<Vec<u64>>) -> u64 {
    tick().await;
    numbers.iter().sum()
}

fn main() {}
