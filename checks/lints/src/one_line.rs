//! Bodies written on one line, as rustfmt leaves them only when told to: rustc's
//! `unused_braces` looks at a block only when it fits on one line, so the shapes of the other
//! modules are repeated here in that form.

use std::sync::Arc;

use task_runtime::{async_method, run_in_background, task_methods, AppError, Publisher, TaskContext, TaskManager};

/// A plain value.
#[run_in_background] pub fn length(text: String) -> usize { text.len() }

/// A `Result`.
#[run_in_background] pub fn parse(text: String) -> Result<u32, std::num::ParseIntError> { text.parse() }

/// Unit.
#[run_in_background] pub fn print(text: String) { println!("{text}") }

/// With the context.
#[run_in_background] pub fn checked(ctx: &TaskContext) -> Result<(), AppError> { Ok(ctx.check_cancelled()?) }

/// With items.
#[run_in_background(on_items = |rows| println!("{rows:?}"))] pub fn rows(rows: &Publisher<u32>) { rows.publish(1) }

/// Callbacks and options.
#[run_in_background(on_complete = |n: usize| println!("{n}"), on_error = |e| eprintln!("{e}"), timeout_ms = 1000, priority = 1)] pub fn counted(text: String) -> usize { text.len() }

/// `#[async_method]`.
#[async_method] pub fn awaited(text: String) -> usize { text.len() }

/// `#[async_method]` with its keys.
#[async_method(task_name = "A", timeout_ms = 1000)] pub fn awaited_keys(text: String) -> usize { text.len() }

/// A value for the methods.
#[derive(Clone)]
pub struct Thing { tasks: TaskManager, n: usize }

impl Thing {
    /// A thing on `tasks`.
    pub fn new(tasks: TaskManager, n: usize) -> Self { Thing { tasks, n } }

    /// `&self`, the case: a closure `on_complete`, a body without `self`.
    #[run_in_background(on_complete = |n: usize| println!("{n}"))] pub fn count(&self, t: String) -> usize { t.len() }

    /// `&self`, using it.
    #[run_in_background] pub fn plus(&self, n: usize) -> usize { self.n + n }

    /// `&self`, unit.
    #[run_in_background] pub fn show(&self) { println!("{}", self.n) }

    /// `self`.
    #[run_in_background] pub fn into_n(self) -> usize { self.n }

    /// `mut self`.
    #[run_in_background] pub fn bumped(mut self) -> usize { self.n += 1; self.n }

    /// `self: Arc<Self>`.
    #[run_in_background] pub fn shared(self: Arc<Self>) -> usize { self.n }

    /// `self: &Arc<Self>`.
    #[run_in_background] pub fn shared_ref(self: &Arc<Self>) -> usize { self.n }

    /// `self.method` callbacks.
    #[run_in_background(on_complete = self.got, manager = &self.tasks)] pub fn twice(&self) -> usize { self.n * 2 }

    /// `local = true`, a body without `self`.
    #[run_in_background(local = true, manager = &self.tasks, on_complete = self.got)] pub fn local(&self, n: usize) -> usize { n }

    /// `local = true`, a body with `self`.
    #[run_in_background(local = true, manager = &self.tasks, on_complete = self.got)] pub fn local_self(&self) -> usize { self.n }

    /// `#[async_method]` on `&self`.
    #[async_method] pub fn awaited(&self) -> usize { self.n }

    /// `timeout_ms`.
    #[run_in_background(timeout_ms = 1000)] pub fn timed(&self) -> usize { self.n }

    fn got(&self, n: usize) { println!("{} {n}", self.n) }
}

#[task_methods(manager = &self.tasks, timeout_ms = 1000)]
impl Thing {
    /// In a block.
    #[run_in_background] pub fn in_block(&self, t: String) -> usize { t.len() }

    /// In a block, using `self`.
    #[run_in_background] pub fn in_block_self(&self) -> usize { self.n }

    /// In a block, `#[async_method]`.
    #[async_method] pub fn in_block_awaited(&self) -> usize { self.n }

    /// In a block, fallible.
    #[run_in_background] pub fn in_block_parse(&self, t: String) -> Result<usize, AppError> { Ok(t.parse()?) }
}
