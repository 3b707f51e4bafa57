//! `#[async_method]`, bare and with each key it takes.

use std::sync::Arc;

use task_runtime::{async_method, AppError, TaskContext, TaskManager, TaskScope};

/// Bare, one expression.
#[async_method]
pub fn checksum(data: Vec<u8>) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

/// With its context, fallible.
#[async_method(
    task_name = "Parse",
    show_progress = false,
    priority = 2,
    timeout_ms = 60000
)]
pub fn parse(text: String, ctx: &TaskContext) -> Result<u64, AppError> {
    ctx.set_progress(1, 1);
    Ok(text.parse()?)
}

/// Unit.
#[async_method]
pub fn nothing() {}

/// A service with its own manager and scope.
#[derive(Clone)]
pub struct Service {
    tasks: TaskManager,
    scope: Arc<TaskScope>,
}

impl Service {
    /// A service on `tasks`.
    pub fn new(tasks: TaskManager) -> Self {
        let scope = Arc::new(tasks.scope());
        Service { tasks, scope }
    }

    /// `manager`, `scope` and `crate`, one expression using `self`.
    #[async_method(manager = &self.tasks, scope = &self.scope, crate = "task_runtime")]
    pub fn threads(&self) -> usize {
        self.tasks.max_threads()
    }

    /// `local`: no callbacks to keep, but the key is accepted.
    #[async_method(manager = &self.tasks, local = true)]
    pub fn echo(&self, text: String) -> String {
        text
    }
}
