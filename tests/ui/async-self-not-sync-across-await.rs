// `&self` of an `async fn` is a borrow of the task's clone, held across the `.await`: the
// clone must then be `Sync` too, as in any `async fn` taking `&self`. The error names the
// receiver, `self`.
use std::cell::Cell;
use task_runtime::run_in_background;

async fn tick() {}

#[derive(Clone)]
struct Counter {
    hits: Cell<u32>,
}

impl Counter {
    #[run_in_background]
    async fn bump(&self) -> u32 {
        tick().await;
        self.hits.get() + 1
    }
}

fn main() {}
