//! `#[task_methods]` blocks: the defaults it gives (`manager`, `scope`, `timeout_ms`,
//! `crate`), a method's own key over them, one-expression bodies, and a trait impl.

use std::sync::Arc;

use task_runtime::{
    async_method, run_in_background, task_methods, AppError, Task, TaskContext, TaskManager,
    TaskScope,
};

/// A library of texts with its own manager and scope.
#[derive(Clone)]
pub struct Library {
    tasks: TaskManager,
    scope: Arc<TaskScope>,
}

impl Library {
    /// A library on `tasks`.
    pub fn new(tasks: TaskManager) -> Self {
        let scope = Arc::new(tasks.scope());
        Library { tasks, scope }
    }
}

#[task_methods(manager = &self.tasks, scope = &self.scope, timeout_ms = 60000, crate = "task_runtime")]
impl Library {
    /// One expression.
    #[run_in_background]
    pub fn count(&self, text: String) -> usize {
        text.split_whitespace().count()
    }

    /// One expression, with callbacks.
    #[run_in_background(on_complete = |n: usize| println!("{n}"), on_error = self.report)]
    pub fn longest(&self, text: String) -> usize {
        text.split_whitespace().map(str::len).max().unwrap_or(0)
    }

    /// A key of its own wins over the block's.
    #[run_in_background(manager = task_runtime::get_task_manager(), timeout_ms = 10)]
    pub fn elsewhere(&self) -> bool {
        true
    }

    /// `#[async_method]` in the block.
    #[async_method(task_name = "Shout")]
    pub fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }

    /// A moved receiver, with the block's `manager` and `scope` borrowed from it.
    #[run_in_background]
    pub fn into_count(self) -> usize {
        self.tasks.max_threads()
    }

    /// A fallible body with its context.
    #[run_in_background]
    pub fn checked(&self, text: String, ctx: &TaskContext) -> Result<usize, AppError> {
        ctx.check_cancelled()?;
        Ok(text.len())
    }

    /// A unit body.
    #[run_in_background]
    pub fn nothing(&self) {}

    fn report(&self, error: AppError) {
        eprintln!("{error}");
    }

    /// A method left alone.
    pub fn threads(&self) -> usize {
        self.tasks.max_threads()
    }
}

/// A trait implemented by a block.
pub trait Indexer {
    /// Counts the words in the background.
    fn index(&self, words: Vec<String>) -> Task<usize>;
}

#[task_methods(manager = &self.tasks)]
impl Indexer for Library {
    #[run_in_background]
    fn index(&self, words: Vec<String>) -> usize {
        words.len()
    }
}
