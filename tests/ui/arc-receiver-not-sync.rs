use std::cell::Cell;
use std::sync::Arc;
use task_macros::run_in_background;

struct Counter {
    hits: Cell<u32>,
}

impl Counter {
    #[run_in_background]
    fn bump(self: Arc<Self>) -> u32 {
        self.hits.set(self.hits.get() + 1);
        self.hits.get()
    }
}

fn main() {}
