// The body reads `self`, which holds `Rc` state: `local = true` would not help (the body still
// runs on a worker), so the error says to pass the data as an owned argument.
use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::run_in_background;

#[derive(Clone)]
struct Search {
    words: Rc<RefCell<Vec<String>>>,
}

impl Search {
    #[run_in_background(on_complete = |n: usize| println!("{n}"))]
    fn count(&self, query: String) -> usize {
        self.words.borrow().iter().filter(|w| **w == query).count()
    }
}

fn main() {}
