//! The process-wide manager (Python: `get_task_manager()`), used by the macros by default.

use std::sync::OnceLock;

use super::{TaskManager, TaskManagerBuilder};
use crate::error::BuildError;

static GLOBAL: OnceLock<TaskManager> = OnceLock::new();

/// The global task manager: 4 threads, created on first use (thread-safe); the macros use it
/// unless given `manager = ..`. Configure it beforehand with [`init_global`].
///
/// By default its callbacks run on the **worker thread**, not on your UI thread: to deliver
/// them to an [`EventLoop`](crate::EventLoop), call [`init_global`] first thing in `main`:
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{get_task_manager, init_global, AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// init_global(TaskManager::builder().dispatcher(ui.dispatcher())).unwrap();
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// get_task_manager()
///     .task(|_| Ok::<_, AppError>(()))
///     .on_complete(move |()| tx.send(std::thread::current().id()).unwrap())
///     .start();
/// assert!(ui.run_until_idle(get_task_manager(), Duration::from_secs(10)));
/// assert_eq!(rx.recv().unwrap(), std::thread::current().id()); // the UI thread
/// ```
///
/// Without it:
///
/// ```
/// use task_runtime::{get_task_manager, AppError};
///
/// let task = get_task_manager().spawn(|_| Ok::<_, AppError>("hi"));
/// assert_eq!(task.join().unwrap(), "hi");
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// get_task_manager()
///     .task(|_| Ok::<_, AppError>(()))
///     .on_complete(move |()| tx.send(std::thread::current().id()).unwrap())
///     .start();
/// assert_ne!(rx.recv().unwrap(), std::thread::current().id()); // a worker thread
/// ```
pub fn get_task_manager() -> &'static TaskManager {
    GLOBAL.get_or_init(|| TaskManager::new(4))
}

/// Sets the global manager's thread limit (creating the manager if needed).
///
/// # Panics
///
/// If `max_threads` is 0.
pub fn set_max_threads(max_threads: usize) {
    get_task_manager().set_max_threads(max_threads);
}

/// Builds the global manager from `builder`; call it once, before anything uses
/// [`get_task_manager`] (typically first thing in `main`, to route callbacks to the UI
/// thread's [`EventLoop`](crate::EventLoop)).
///
/// ```
/// use task_runtime::{get_task_manager, init_global, TaskManager};
///
/// let manager = init_global(TaskManager::builder().max_threads(2)).unwrap();
/// assert_eq!(manager.max_threads(), 2);
/// assert!(init_global(TaskManager::builder()).unwrap_err().is_already_initialized());
/// assert_eq!(get_task_manager().max_threads(), 2);
/// ```
///
/// # Errors
///
/// If the global manager already exists, or the builder's settings are invalid.
pub fn init_global(builder: TaskManagerBuilder) -> Result<&'static TaskManager, BuildError> {
    let mut built = Some(builder.build()?);
    let global = GLOBAL.get_or_init(|| built.take().expect("taken once"));
    if built.is_some() {
        return Err(BuildError::global_already_initialized());
    }
    Ok(global)
}
