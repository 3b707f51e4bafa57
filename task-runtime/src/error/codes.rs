//! Error codes used by the runtime, and common codes for applications.
//!
//! Codes are plain strings so that applications can define their own next to these; the
//! `ERR_<AREA>_<WHAT>` shape follows the Python system this crate replaces.
//!
//! ```
//! use task_runtime::{codes, AppError, Category};
//!
//! let err = AppError::new(codes::ERR_FILE_NOT_FOUND, "settings.toml is missing")
//!     .with_category(Category::FileNotFound);
//! assert_eq!(err.code(), "ERR_FILE_NOT_FOUND");
//! ```

/// A foreign error converted with `From` (typically through `?` in a task body).
pub const ERR_SYS_UNKNOWN: &str = "ERR_SYS_UNKNOWN";
/// A task body panicked; the message is the panic message. Severity is `Critical`.
pub const ERR_TASK_PANICKED: &str = "ERR_TASK_PANICKED";
/// A task was cancelled ([`Cancelled`](crate::Cancelled) converted into an `AppError`).
pub const ERR_TASK_CANCELLED: &str = "ERR_TASK_CANCELLED";
/// A callback, signal slot, dispatcher or progress display panicked. Reported to the
/// manager's error handler; the task's outcome is not affected.
pub const ERR_CALLBACK_PANICKED: &str = "ERR_CALLBACK_PANICKED";
/// A dispatcher dropped a callback delivery without running it (for instance its
/// [`EventLoop`](crate::EventLoop) is gone); the task's remaining callbacks will not run.
pub const ERR_DELIVERY_LOST: &str = "ERR_DELIVERY_LOST";
/// The runtime could not start a worker thread.
pub const ERR_THREAD_SPAWN: &str = "ERR_THREAD_SPAWN";
/// The task did not finish before its deadline (`TaskBuilder::timeout`).
pub const ERR_TASK_TIMEOUT: &str = "ERR_TASK_TIMEOUT";
/// A task's body (or a task it runs nested, joined inline) waited for the task itself:
/// [`Task::join`](crate::Task::join) and `.await` answer with this at once instead of waiting
/// forever. The task itself goes on.
pub const ERR_SELF_JOIN: &str = "ERR_SELF_JOIN";
/// [`TaskManager::when_any`](crate::TaskManager::when_any) was given no task: there is no
/// first to complete.
pub const ERR_NO_TASKS: &str = "ERR_NO_TASKS";

/// A file or directory does not exist.
pub const ERR_FILE_NOT_FOUND: &str = "ERR_FILE_NOT_FOUND";
/// Input could not be parsed.
pub const ERR_PARSE: &str = "ERR_PARSE";
/// A database operation failed.
pub const ERR_DATABASE: &str = "ERR_DATABASE";
/// A network operation failed.
pub const ERR_NETWORK: &str = "ERR_NETWORK";
/// A remote API answered with an error.
pub const ERR_API: &str = "ERR_API";
/// A computation failed or produced an invalid result.
pub const ERR_CALCULATION: &str = "ERR_CALCULATION";
/// Rendering failed.
pub const ERR_RENDER: &str = "ERR_RENDER";
/// Input did not pass validation.
pub const ERR_VALIDATION: &str = "ERR_VALIDATION";
/// Memory could not be allocated or a size limit was exceeded.
pub const ERR_MEMORY: &str = "ERR_MEMORY";
/// The operation was not permitted.
pub const ERR_PERMISSION: &str = "ERR_PERMISSION";
/// The configuration is missing or invalid.
pub const ERR_CONFIGURATION: &str = "ERR_CONFIGURATION";
