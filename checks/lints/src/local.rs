//! `local = true`: callbacks that capture `Rc` state, on a view that is not `Send` (bodies that
//! do not use `self`) and on one that is (bodies that do).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use task_runtime::{
    run_in_background, task_methods, AppError, Progress, Publisher, TaskContext, TaskManager,
};

/// UI state of one thread: not `Send`.
#[derive(Clone)]
pub struct View {
    tasks: TaskManager,
    shown: Rc<RefCell<Vec<String>>>,
}

impl View {
    /// A view on `tasks`, whose dispatcher must deliver to this thread.
    pub fn new(tasks: TaskManager) -> Self {
        View {
            tasks,
            shown: Rc::default(),
        }
    }

    /// What the callbacks showed.
    pub fn shown(&self) -> Vec<String> {
        self.shown.borrow().clone()
    }
}

#[task_methods(manager = &self.tasks, local = true)]
impl View {
    /// Every callback as `self.method`.
    #[run_in_background(
        on_complete = self.show,
        on_error = self.report,
        on_progress = self.tick,
        on_items = self.add,
        on_started = self.busy,
        on_cancelled = self.idle
    )]
    pub fn count(&self, words: Vec<String>, rows: &Publisher<String>, ctx: &TaskContext) -> usize {
        ctx.set_progress(1, 1);
        rows.publish_all(words.iter().cloned());
        words.len()
    }

    /// A closure capturing `Rc` state is not possible in an attribute (it names no local), so
    /// `Self::` paths and closures over statics and values.
    #[run_in_background(on_complete = |n: usize| println!("{n}"), on_error = Self::log)]
    pub fn length(&self, text: String) -> usize {
        text.len()
    }

    /// An `impl Trait` value.
    #[run_in_background(on_complete = |evens| drop(evens))]
    pub fn evens(&self, limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
        (0..limit).filter(|n| n % 2 == 0)
    }

    /// A fallible one-expression body.
    #[run_in_background(on_complete = self.show_number)]
    pub fn parse(&self, text: String) -> Result<u32, std::num::ParseIntError> {
        text.parse()
    }

    fn show(&self, count: usize) {
        self.shown.borrow_mut().push(format!("{count} words"));
    }

    fn show_number(&self, n: u32) {
        self.shown.borrow_mut().push(n.to_string());
    }

    fn report(&self, error: AppError) {
        self.shown.borrow_mut().push(error.code().to_owned());
    }

    fn tick(&self, _: Progress) {}

    fn add(&self, rows: Vec<String>) {
        self.shown.borrow_mut().extend(rows);
    }

    fn busy(&self) {}

    fn idle(&self) {}

    fn log(error: AppError) {
        eprintln!("{error}");
    }
}

/// A `Send` model whose bodies use `self`, with local callbacks.
#[derive(Clone)]
pub struct Model {
    tasks: TaskManager,
    factor: Arc<u32>,
}

impl Model {
    /// A model on `tasks`.
    pub fn new(tasks: TaskManager, factor: u32) -> Self {
        Model {
            tasks,
            factor: Arc::new(factor),
        }
    }

    /// The body uses `self`; the callback need not be `Send`.
    #[run_in_background(manager = &self.tasks, local = true, on_complete = self.print)]
    pub fn scaled(&self, n: u32) -> u32 {
        n * *self.factor
    }

    /// A moved receiver.
    #[run_in_background(manager = &self.tasks, local = true, on_complete = |n: u32| println!("{n}"))]
    pub fn into_scaled(self, n: u32) -> u32 {
        n * *self.factor
    }

    /// Through an `Arc`.
    #[run_in_background(manager = &self.tasks, local = true, on_complete = self.print)]
    pub fn shared(self: Arc<Self>, n: u32) -> u32 {
        n + *self.factor
    }

    fn print(&self, n: u32) {
        println!("{n}");
    }
}
