//! [`TaskManagerBuilder`]: a manager's settings.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::registry::Registry;
use super::{ErrorHandler, Handle, ManagerCore, TaskManager};
use crate::dispatch::Dispatcher;
use crate::display::{default_display, DisplayPump};
use crate::pool::{Pool, PoolConfig};
use crate::signal::ManagerSignals;
use crate::sync::atomic::AtomicUsize;
use crate::{AppError, BuildError, ProgressDisplay};

/// Configures a [`TaskManager`]; made by [`TaskManager::builder`].
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::builder()
///     .max_threads(2)
///     .thread_name("loader")
///     .idle_timeout(Duration::from_secs(5))
///     .dispatcher(ui.dispatcher())
///     .error_handler(|err| eprintln!("background error: {err}"))
///     .shutdown_timeout(Duration::from_secs(1))
///     .build()
///     .expect("valid settings");
/// assert_eq!(manager.max_threads(), 2);
///
/// assert!(TaskManager::builder().max_threads(0).build().unwrap_err().is_zero_threads());
/// ```
#[must_use = "a TaskManagerBuilder does nothing until `.build()` is called"]
pub struct TaskManagerBuilder {
    max_threads: usize,
    thread_name: String,
    idle_timeout: Duration,
    dispatcher: Dispatcher,
    error_handler: Option<ErrorHandler>,
    shutdown_timeout: Duration,
    progress_display: Option<Arc<dyn ProgressDisplay>>,
}

impl TaskManagerBuilder {
    pub(crate) fn new() -> Self {
        TaskManagerBuilder {
            max_threads: 4,
            thread_name: "task-worker".to_owned(),
            idle_timeout: Duration::from_secs(30),
            dispatcher: Dispatcher::worker_thread(),
            error_handler: None,
            shutdown_timeout: Duration::from_secs(5),
            progress_display: None,
        }
    }

    /// At most this many worker threads (default 4). Threads start on demand.
    pub fn max_threads(mut self, max_threads: usize) -> Self {
        self.max_threads = max_threads;
        self
    }

    /// Worker threads are named `<prefix>-<n>` (default prefix `task-worker`).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// A worker idle this long exits; a new one starts when work comes (default 30 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Where task callbacks and the manager's signals run unless a task says otherwise
    /// (default: [`Dispatcher::worker_thread`]).
    pub fn dispatcher(mut self, dispatcher: Dispatcher) -> Self {
        self.dispatcher = dispatcher;
        self
    }

    /// Receives errors no `on_error` callback took, and panics of callbacks, signal slots and
    /// dispatchers. Runs where the task's terminal callback would have run. The default emits
    /// a `tracing` error event.
    pub fn error_handler(mut self, handler: impl Fn(&AppError) + Send + Sync + 'static) -> Self {
        self.error_handler = Some(Arc::new(handler));
        self
    }

    /// How long dropping the last handle waits for running bodies to return (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Shows the progress of tasks started with `show_progress(true)`. The default is
    /// `TerminalProgress` when stderr is a terminal (feature
    /// `terminal`), [`LogProgress`](crate::LogProgress) otherwise. See [`ProgressDisplay`].
    pub fn progress_display(mut self, display: impl ProgressDisplay) -> Self {
        self.progress_display = Some(Arc::new(display));
        self
    }

    /// Creates the manager. No thread starts until the first task does.
    ///
    /// # Errors
    ///
    /// [`BuildError`] if `max_threads` is 0.
    pub fn build(self) -> Result<TaskManager, BuildError> {
        if self.max_threads == 0 {
            return Err(BuildError::zero_threads());
        }
        let display = DisplayPump::new(
            self.progress_display.unwrap_or_else(default_display),
            format!("{}-display", self.thread_name),
        );
        let core = ManagerCore {
            pool: Pool::new(PoolConfig {
                max_threads: self.max_threads,
                thread_name: self.thread_name,
                idle_timeout: self.idle_timeout,
            }),
            registry: Registry::new(),
            dispatcher: self.dispatcher,
            error_handler: self.error_handler.unwrap_or_else(default_error_handler),
            signals: ManagerSignals::default(),
            display,
            shutdown_timeout: self.shutdown_timeout,
            epoch: std::time::Instant::now(),
            undelivered: AtomicUsize::new(0),
            next_number: crate::sync::CachePadded(AtomicU64::new(0)),
        };
        Ok(TaskManager {
            handle: Arc::new(Handle {
                core: Arc::new(core),
            }),
        })
    }
}

impl Default for TaskManagerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TaskManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskManagerBuilder")
            .field("max_threads", &self.max_threads)
            .field("thread_name", &self.thread_name)
            .field("idle_timeout", &self.idle_timeout)
            .field("dispatcher", &self.dispatcher)
            .field("custom_error_handler", &self.error_handler.is_some())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("custom_progress_display", &self.progress_display.is_some())
            .finish()
    }
}

fn default_error_handler() -> ErrorHandler {
    Arc::new(|error: &AppError| {
        tracing::error!(
            code = error.code(),
            severity = %error.severity(),
            "unhandled task error: {error}"
        );
    })
}
