//! An owned receiver the body does not use may be moved into a closure callback (only a
//! borrowed `&self` is gone by the time a callback runs).
use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::{run_in_background, EventLoop, TaskManager};

struct Counter {
    manager: TaskManager,
    seen: Rc<RefCell<Vec<usize>>>,
}

impl Counter {
    #[run_in_background(local = true, manager = &self.manager, on_complete = move |n: usize| self.seen.borrow_mut().push(n))]
    fn count(self, words: Vec<String>) -> usize {
        words.len()
    }
}

fn main() {
    let ui = EventLoop::new();
    let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let counter = Counter { manager: manager.clone(), seen: seen.clone() };
    counter.count(vec!["a".into(), "b".into()]);
    assert!(ui.run_until_idle(&manager, std::time::Duration::from_secs(10)));
    assert_eq!(*seen.borrow(), [2]);
}
