// An `async fn` whose body reads `self`, which holds `Rc` state: one error, at the receiver,
// saying to pass the data as an owned argument (as for a blocking body).
use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::run_in_background;

async fn tick() {}

#[derive(Clone)]
struct Search {
    words: Rc<RefCell<Vec<String>>>,
}

impl Search {
    #[run_in_background(on_complete = |n: usize| println!("{n}"))]
    async fn count(&self, query: String) -> usize {
        tick().await;
        self.words.borrow().iter().filter(|w| **w == query).count()
    }
}

fn main() {}
