//! Errors: [`AppError`] for what tasks fail with, [`TaskError`] for how a task ended when it
//! did not complete, [`Cancelled`] for `?` on cancellation, [`BuildError`] for configuration.

mod app_error;
pub mod codes;
mod losses;
mod raised;
mod sink;

use std::fmt;

pub use app_error::{AppError, Category, Severity};
pub(crate) use losses::Losses;
pub(crate) use sink::ErrorSink;

/// Why a task produced no value: it failed, or it was cancelled.
///
/// Returned by [`Task::join`](crate::Task::join), [`Task::try_take`](crate::Task::try_take)
/// and by awaiting a [`Task`](crate::Task).
///
/// ```
/// use task_runtime::{AppError, TaskError, TaskManager};
///
/// let manager = TaskManager::new(1);
/// let task = manager.spawn(|_ctx| -> Result<(), AppError> {
///     Err(AppError::new("ERR_DEMO", "no luck"))
/// });
/// match task.join() {
///     Err(TaskError::Failed(err)) => assert_eq!(err.code(), "ERR_DEMO"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub enum TaskError {
    /// The body returned an error or panicked.
    #[error("task failed: {0}")]
    Failed(AppError),
    /// The task was cancelled, before or while it ran.
    #[error("task was cancelled")]
    Cancelled,
}

impl TaskError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// The error the task failed with, if it failed.
    pub fn app_error(&self) -> Option<&AppError> {
        match self {
            TaskError::Failed(err) => Some(err),
            TaskError::Cancelled => None,
        }
    }

    /// Converts into an [`AppError`]: the failure itself, or a cancellation error
    /// (code [`ERR_TASK_CANCELLED`](codes::ERR_TASK_CANCELLED)).
    ///
    /// `TaskError` implements `std::error::Error`, so `?` would also convert it, but into a
    /// generic `ERR_SYS_UNKNOWN` wrapper; this keeps the original error.
    pub fn into_app_error(self) -> AppError {
        match self {
            TaskError::Failed(err) => err,
            TaskError::Cancelled => Cancelled.into(),
        }
    }
}

impl From<Cancelled> for TaskError {
    fn from(_: Cancelled) -> Self {
        TaskError::Cancelled
    }
}

/// The task was cancelled: returned by
/// [`TaskContext::check_cancelled`](crate::TaskContext::check_cancelled) so a body can stop
/// with `?`.
///
/// It converts into [`AppError`] (code [`ERR_TASK_CANCELLED`](codes::ERR_TASK_CANCELLED)).
/// It deliberately does not implement `std::error::Error`: the blanket conversion of standard
/// errors into `AppError` would otherwise turn it into an `ERR_SYS_UNKNOWN`.
///
/// Whatever a cancelled body returns, its task's outcome is *cancelled*; returning this error
/// is simply the quickest way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task was cancelled")
    }
}

impl From<Cancelled> for AppError {
    fn from(_: Cancelled) -> Self {
        AppError::new(codes::ERR_TASK_CANCELLED, "task was cancelled").with_severity(Severity::Info)
    }
}

/// A [`TaskManager`](crate::TaskManager) could not be built or installed.
///
/// Returned by [`TaskManagerBuilder::build`](crate::TaskManagerBuilder::build) and
/// [`init_global`](crate::init_global).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}")]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug, Clone, thiserror::Error)]
enum BuildErrorKind {
    #[error("max_threads must be at least 1")]
    ZeroThreads,
    #[error("thread name prefix {0:?} contains a NUL byte, which no thread name can hold")]
    InvalidThreadName(String),
    #[error("the global task manager already exists; call init_global before the first use of get_task_manager")]
    GlobalAlreadyInitialized,
}

impl BuildError {
    pub(crate) fn zero_threads() -> Self {
        BuildError {
            kind: BuildErrorKind::ZeroThreads,
        }
    }

    pub(crate) fn invalid_thread_name(prefix: &str) -> Self {
        BuildError {
            kind: BuildErrorKind::InvalidThreadName(prefix.to_owned()),
        }
    }

    pub(crate) fn global_already_initialized() -> Self {
        BuildError {
            kind: BuildErrorKind::GlobalAlreadyInitialized,
        }
    }

    /// Whether the builder asked for zero worker threads.
    pub fn is_zero_threads(&self) -> bool {
        matches!(self.kind, BuildErrorKind::ZeroThreads)
    }

    /// Whether the thread name prefix contains a NUL byte.
    pub fn is_invalid_thread_name(&self) -> bool {
        matches!(self.kind, BuildErrorKind::InvalidThreadName(_))
    }

    /// Whether [`init_global`](crate::init_global) came after the global manager was created.
    pub fn is_already_initialized(&self) -> bool {
        matches!(self.kind, BuildErrorKind::GlobalAlreadyInitialized)
    }
}
