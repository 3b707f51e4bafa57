// A view holding UI state in `Rc<RefCell<..>>`: only its callback uses `self`, so the fix is
// `local = true`, and the error says so.
use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::{run_in_background, TaskManager};

#[derive(Clone)]
struct Search {
    tasks: TaskManager,
    results: Rc<RefCell<Vec<String>>>,
}

impl Search {
    #[run_in_background(manager = &self.tasks, on_complete = self.show)]
    fn search(&self, query: String) -> Vec<String> {
        vec![query]
    }

    fn show(&self, found: Vec<String>) {
        self.results.borrow_mut().extend(found);
    }
}

fn main() {}
