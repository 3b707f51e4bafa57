use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::run_in_background;

#[derive(Clone)]
struct View {
    shown: Rc<RefCell<Vec<usize>>>,
}

impl View {
    // Without `local = true`, callbacks go to the dispatcher's thread: `View` must be `Send`.
    #[run_in_background(on_complete = self.show)]
    fn count(&self, words: Vec<String>) -> usize {
        words.len()
    }

    fn show(&self, count: usize) {
        self.shown.borrow_mut().push(count);
    }
}

fn main() {}
