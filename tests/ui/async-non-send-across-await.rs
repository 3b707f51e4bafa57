use std::rc::Rc;

use task_macros::run_in_background;

async fn tick() {}

#[run_in_background]
async fn count(n: u32) -> u32 {
    let shared = Rc::new(n);
    tick().await;
    *shared + 1
}

fn main() {}
