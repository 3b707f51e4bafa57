use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::run_in_background;

#[derive(Clone)]
struct View {
    words: Rc<RefCell<Vec<String>>>,
}

impl View {
    // The body uses `self`, which goes to the worker: `View` must be `Send` even here.
    #[run_in_background(local = true, on_complete = self.show)]
    fn count(&self) -> usize {
        self.words.borrow().len()
    }

    fn show(&self, _: usize) {}
}

fn main() {}
