//! `async fn` in every shape the blocking functions take compiles, without a warning: the
//! wrapper is a plain `fn` that starts the task and returns its `Task`.
#![deny(warnings)]

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use task_macros::{async_method, run_in_background};
use task_runtime::{AppError, Publisher, Task, TaskContext, TaskManager};

async fn tick() {}

/// No context, a plain value.
#[run_in_background]
async fn fetch(url: String) -> usize {
    tick().await;
    url.len()
}

/// No return type, an empty body.
#[run_in_background]
async fn nothing() {}

/// The context across `.await`, `?` converting, an early `return`.
#[run_in_background(task_name = "Parse", timeout_ms = 100, priority = 2)]
async fn parse(text: String, ctx: &TaskContext) -> Result<u64, AppError> {
    ctx.sleep(Duration::from_millis(1)).await;
    if text.is_empty() {
        return Ok(0);
    }
    let n: u64 = text.trim().parse()?;
    ctx.yield_now().await;
    ctx.check_cancelled()?;
    Ok(n)
}

/// Another error type, an alias of `Result`.
#[async_method]
async fn read(path: std::path::PathBuf) -> std::io::Result<Vec<u8>> {
    tick().await;
    std::fs::read(path)
}

/// Items, published between awaits.
#[run_in_background(on_items = |batch| drop(batch), exclusive = "skip_if_active")]
async fn scan(limit: u32, items: &Publisher<u32>, ctx: &TaskContext) -> u32 {
    for i in 0..limit {
        ctx.yield_now().await;
        items.publish(i);
    }
    limit
}

/// Generics, `impl Trait` in both positions, `mut` and pattern arguments.
#[run_in_background]
async fn pair<T: Clone + Send + 'static>(value: T, mut count: usize, (a, b): (u8, u8)) -> Vec<T> {
    tick().await;
    count += usize::from(a) + usize::from(b);
    vec![value; count]
}

#[run_in_background]
async fn show(value: impl Display + Send + 'static) -> impl Display + Send + 'static {
    tick().await;
    format!("<{value}>")
}

/// A body that diverges (its type is `!`: the generated code after it is unreachable, and must
/// not warn), and one whose context is not used.
#[run_in_background]
async fn unfinished(_ctx: &TaskContext) -> u32 {
    panic!("this body always fails")
}

#[derive(Clone)]
struct Library {
    tasks: TaskManager,
    title: String,
}

impl Library {
    /// `&self`, callbacks on the receiver.
    #[run_in_background(manager = &self.tasks, on_complete = self.done, on_error = self.failed)]
    async fn count(&self, ctx: &TaskContext) -> Result<usize, AppError> {
        ctx.yield_now().await;
        Ok(self.title.split_whitespace().count())
    }

    /// `self`, and a one-line body.
    #[run_in_background(manager = &self.tasks, on_cancelled = || ())]
    async fn into_title(self) -> String {
        self.title
    }

    /// `self: Arc<Self>` and `self: &Arc<Self>`.
    #[async_method(manager = &self.tasks)]
    async fn shared(self: Arc<Self>, ctx: &TaskContext) -> usize {
        ctx.yield_now().await;
        self.title.len()
    }

    #[async_method(manager = &self.tasks)]
    async fn shared_ref(self: &Arc<Self>) -> usize {
        tick().await;
        self.title.len()
    }

    /// `local = true`: callbacks on this thread; the body does not use `self`.
    #[run_in_background(local = true, manager = &self.tasks, on_complete = self.done)]
    async fn local(&self, n: usize) -> usize {
        tick().await;
        n
    }

    fn done(&self, _: usize) {}

    fn failed(&self, _: AppError) {}
}

/// A trait declares the wrapper's signature; its impl writes an `async fn`.
trait Loader {
    fn load(&self, name: String) -> Task<String>;
}

impl Loader for Library {
    #[run_in_background(manager = &self.tasks)]
    async fn load(&self, name: String) -> String {
        tick().await;
        format!("{}/{name}", self.title)
    }
}

fn main() {
    let _: fn(String) -> Task<usize> = fetch;
    let _: fn() -> Task<()> = nothing;
    let _ = (parse, read, scan, pair::<u8>, unfinished);
    assert_eq!(show(1).join().unwrap().to_string(), "<1>");
    let _ = (
        Library::count,
        Library::into_title,
        Library::shared,
        Library::shared_ref,
    );
    let _ = (Library::local, <Library as Loader>::load);
}
