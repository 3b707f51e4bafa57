//! `local = true`: callbacks that need not be `Send`. The view holds `Rc<RefCell<..>>` state,
//! so it is not `Send`: its `self.method` callbacks need `Clone + 'static` only, since the
//! bodies do not use `self`.
use std::cell::RefCell;
use std::rc::Rc;
use task_runtime::{run_in_background, task_methods, AppError, EventLoop, TaskContext, TaskManager};

#[derive(Clone)]
struct View {
    tasks: TaskManager,
    shown: Rc<RefCell<Vec<String>>>,
}

#[task_methods(manager = &self.tasks, local = true)]
impl View {
    #[run_in_background(on_complete = self.show, on_error = self.report, on_progress = self.tick)]
    fn count(&self, words: Vec<String>, ctx: &TaskContext) -> usize {
        ctx.set_progress(1, 1);
        words.len()
    }

    // A closure capturing `Rc` state, and an `impl Trait` value.
    #[run_in_background(on_complete = |evens| drop(evens))]
    fn evens(&self, limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
        (0..limit).filter(|n| n % 2 == 0)
    }

    fn show(&self, count: usize) {
        self.shown.borrow_mut().push(format!("{count} words"));
    }

    fn report(&self, error: AppError) {
        self.shown.borrow_mut().push(error.code().to_owned());
    }

    fn tick(&self, _: task_runtime::Progress) {}
}

fn main() {
    let ui = EventLoop::new();
    let view = View {
        tasks: TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap(),
        shown: Rc::default(),
    };
    view.count(vec!["a".into(), "b".into()]);
    view.evens(4);
    assert!(ui.run_until_idle(&view.tasks, std::time::Duration::from_secs(30)));
    assert_eq!(*view.shown.borrow(), ["2 words"]);
}
