//! [`TaskManagerBuilder`]: a manager's settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Handle, TaskManager};
use crate::admission::ManagerCore;
use crate::clock::TestClock;
use crate::dispatch::Dispatcher;
use crate::display::{default_display, ProgressDisplay};
use crate::error::{AppError, BuildError, ErrorSink};
use crate::host::{ErrorMap, Host, HostConfig};
use crate::pool::{Pool, PoolConfig};

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
    error_handler: Option<ErrorSink>,
    error_map: Option<ErrorMap>,
    shutdown_timeout: Duration,
    progress_display: Option<Arc<dyn ProgressDisplay>>,
    stack_size: Option<usize>,
    manual: bool,
    clock: Option<TestClock>,
    #[cfg(feature = "tokio")]
    tokio: Option<tokio::runtime::Handle>,
}

impl TaskManagerBuilder {
    pub(crate) fn new() -> Self {
        TaskManagerBuilder {
            max_threads: 4,
            thread_name: "task-worker".to_owned(),
            idle_timeout: Duration::from_secs(30),
            dispatcher: Dispatcher::worker_thread(),
            error_handler: None,
            error_map: None,
            shutdown_timeout: Duration::from_secs(5),
            progress_display: None,
            stack_size: None,
            manual: false,
            clock: None,
            #[cfg(feature = "tokio")]
            tokio: None,
        }
    }

    /// At most this many worker threads (default 4). Threads start on demand.
    pub fn max_threads(mut self, max_threads: usize) -> Self {
        self.max_threads = max_threads;
        self
    }

    /// Worker threads are named `<prefix>-<n>` (default prefix `task-worker`). A prefix with a
    /// NUL byte makes [`build`](Self::build) fail: no thread can carry that name.
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
        self.error_handler = Some(ErrorSink::new(handler));
        self
    }

    /// The stack size of the worker threads, in bytes. The default is four times the standard
    /// library's default thread stack (8 MiB, or four times `RUST_MIN_STACK` when that is
    /// set), so that a task can return any value a plain `std::thread` can: the value passes
    /// through a few frames of the runtime on its way to the handle. Stacks are reserved
    /// address space; memory is used only as deep as a task actually goes.
    ///
    /// A size the system cannot give makes every task that needs a new thread fail with
    /// [`ERR_THREAD_SPAWN`](crate::codes::ERR_THREAD_SPAWN) once no worker is left to run it.
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// // A deeply recursive parser needs more than the default.
    /// fn depth(n: u32) -> u32 {
    ///     if n == 0 { 0 } else { 1 + depth(n - 1) }
    /// }
    /// let manager = TaskManager::builder().stack_size(256 << 20).build().unwrap();
    /// let deep = manager.spawn(|_| Ok::<_, AppError>(depth(500_000))).join().unwrap();
    /// assert_eq!(deep, 500_000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Rewrites every error a task fails with (panics included, cancellations not) before
    /// anyone sees it: [`Task::join`](crate::Task::join), `on_error`, the error handler and
    /// the `task_failed` signal all get the mapped error, which still carries the context
    /// `task = <name>`. This is the one place where an application gives its own error types
    /// their code, category and user message (a `From<MyError> for AppError` would conflict
    /// with the blanket conversion of standard errors).
    ///
    /// If `f` panics, the panic goes to the error handler and the error stays unmapped.
    ///
    /// ```
    /// use task_runtime::{AppError, Category, TaskManager};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("document {0} is locked")]
    /// struct Locked(String);
    ///
    /// let manager = TaskManager::builder()
    ///     .map_error(|err| match err.downcast_ref::<Locked>() {
    ///         Some(Locked(name)) => AppError::new("ERR_DOC_LOCKED", err.message())
    ///             .with_category(Category::Permission)
    ///             .with_user_message(format!("{name} is open elsewhere."))
    ///             .with_source(Locked(name.clone())),
    ///         None => err,
    ///     })
    ///     .build()
    ///     .unwrap();
    ///
    /// let task = manager.spawn(|_| -> Result<(), Locked> { Err(Locked("notes.md".into())) });
    /// let err = task.join().unwrap_err().into_app_error();
    /// assert_eq!(err.code(), "ERR_DOC_LOCKED");
    /// assert_eq!(err.user_message(), "notes.md is open elsewhere.");
    /// assert!(err.context().contains_key("task"));
    /// ```
    pub fn map_error(mut self, f: impl Fn(AppError) -> AppError + Send + Sync + 'static) -> Self {
        self.error_map = Some(Arc::new(f));
        self
    }

    /// How long dropping the last handle waits for running bodies to return (default 5 s).
    /// Every duration is accepted: `Duration::MAX` waits for as long as it takes.
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

    /// A manager with no worker threads, for tests: a body runs only when the test asks,
    /// with [`TaskManager::run_next`] (the next queued body, in priority order, on the
    /// calling thread) or [`TaskManager::run_all`] (until none is queued). Everything else
    /// behaves as with threads: callbacks go through the dispatcher, queued tasks can be
    /// cancelled, scopes, items, exclusivity, signals and the registry work the same.
    /// [`Task::join`](crate::Task::join) on a queued task runs it on the calling thread.
    ///
    /// With [`clock`](Self::clock), a test of a view model runs in microseconds, the same
    /// way every time:
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use task_runtime::{AppError, EventLoop, Exclusive, TaskManager};
    ///
    /// /// A search box: each keystroke starts a search; only the latest one may show.
    /// struct SearchBox {
    ///     tasks: TaskManager,
    ///     shown: Arc<Mutex<Option<String>>>,
    /// }
    ///
    /// impl SearchBox {
    ///     fn typed(&self, query: &str) {
    ///         let query = query.to_owned();
    ///         let shown = self.shown.clone();
    ///         self.tasks
    ///             .task(move |_| Ok::<_, AppError>(format!("results for {query}")))
    ///             .name("search")
    ///             .exclusive(Exclusive::CancelPrevious)
    ///             .on_complete(move |results| *shown.lock().unwrap() = Some(results))
    ///             .start();
    ///     }
    /// }
    ///
    /// let ui = EventLoop::new();
    /// let tasks = TaskManager::builder().manual().dispatcher(ui.dispatcher()).build().unwrap();
    /// let search = SearchBox { tasks: tasks.clone(), shown: Arc::default() };
    /// for query in ["r", "ru", "rus"] {
    ///     search.typed(query); // three keystrokes before any search runs
    /// }
    /// assert_eq!(tasks.run_all(), 1, "the first two were cancelled while still queued");
    /// ui.process_events();
    /// assert_eq!(search.shown.lock().unwrap().as_deref(), Some("results for rus"));
    /// ```
    pub fn manual(mut self) -> Self {
        self.manual = true;
        self
    }

    /// Counts the manager's instants and deadlines on `clock` instead of the system's: a
    /// `timeout(2 s)` fires exactly when the test advances the clock past it (during
    /// [`TestClock::advance`], on the test's thread), and snapshots' instants are the
    /// clock's, and so is idle workers' expiry. Without a
    /// [`progress_display`](Self::progress_display), the display is a
    /// [`LogProgress`](crate::LogProgress) throttled on the clock, also when stderr is a
    /// terminal ([`TerminalProgress`](crate::TerminalProgress) redraws on indicatif's own wall
    /// clock timer). Waits (`wait_for`, `wait_for_all`, `run_until*`) stay in real time. See
    /// [`TestClock`].
    pub fn clock(mut self, clock: TestClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Runs every body of the manager (blocking or `async`) inside the context of the tokio
    /// runtime of `handle`: each worker enters it once, so tokio's timers and sockets, and
    /// the crates built on them (reqwest, sqlx), work in bodies. The runtime must be driven
    /// by someone: a multi-thread runtime, or a current-thread one inside `block_on`. Without
    /// this, the manager starts a runtime of one thread of its own when its first worker
    /// starts, and shuts it down when it is dropped (waiting at most its
    /// [`shutdown_timeout`](Self::shutdown_timeout)).
    ///
    /// What a body hands to tokio itself (`tokio::spawn`, `spawn_blocking`) is tokio's work,
    /// not part of the task: it is not cancelled with the task, not counted by the manager,
    /// and runs on real time, whatever the manager's clock.
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let manager = TaskManager::builder().tokio(runtime.handle().clone()).build().unwrap();
    /// let task = manager.spawn(|_| {
    ///     // A blocking body may use what needs a runtime context.
    ///     let handle = tokio::runtime::Handle::current();
    ///     Ok::<_, AppError>(handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
    /// });
    /// assert!(task.join().unwrap());
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio(mut self, handle: tokio::runtime::Handle) -> Self {
        self.tokio = Some(handle);
        self
    }

    /// Creates the manager. No thread starts until the first task does.
    ///
    /// # Errors
    ///
    /// [`BuildError`] if `max_threads` is 0 or the thread name prefix contains a NUL byte.
    pub fn build(self) -> Result<TaskManager, BuildError> {
        if self.max_threads == 0 {
            return Err(BuildError::zero_threads());
        }
        if self.thread_name.contains('\0') {
            return Err(BuildError::invalid_thread_name(&self.thread_name));
        }
        let pool = Pool::new(PoolConfig {
            max_threads: self.max_threads,
            thread_name: self.thread_name.clone(),
            idle_timeout: self.idle_timeout,
            stack_size: Some(self.stack_size.unwrap_or_else(|| {
                default_stack_size(std::env::var("RUST_MIN_STACK").ok().as_deref())
            })),
            manual: self.manual,
            clock: self.clock.clone(),
            #[cfg(feature = "tokio")]
            around: Some(
                crate::reactor::Reactor::new(
                    self.tokio,
                    self.thread_name.clone(),
                    self.shutdown_timeout,
                )
                .around(),
            ),
            #[cfg(not(feature = "tokio"))]
            around: None,
        });
        let host = Host::new(HostConfig {
            dispatcher: self.dispatcher,
            errors: self.error_handler.unwrap_or_else(ErrorSink::tracing),
            error_map: self.error_map,
            display: self
                .progress_display
                .unwrap_or_else(|| default_display(self.clock.as_ref())),
            display_thread: format!("{}-display", self.thread_name),
            pool: pool.threads(),
            clock: self.clock,
            manual: self.manual,
        });
        let core = ManagerCore::new(Arc::new(host), pool, self.shutdown_timeout);
        Ok(TaskManager {
            handle: Arc::new(Handle { core }),
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
            .field("stack_size", &self.stack_size)
            .field("maps_errors", &self.error_map.is_some())
            .finish()
    }
}

/// Four times what a plain `std::thread` gets: `RUST_MIN_STACK` (given here) if it is a
/// number, as std reads it, else 2 MiB.
fn default_stack_size(rust_min_stack: Option<&str>) -> usize {
    const STD_DEFAULT: usize = 2 << 20;
    rust_min_stack
        .and_then(|bytes| bytes.parse::<usize>().ok())
        .unwrap_or(STD_DEFAULT)
        .saturating_mul(4)
}

#[cfg(test)]
mod tests {
    use super::default_stack_size;

    #[test]
    fn the_default_stack_is_four_times_std() {
        assert_eq!(default_stack_size(None), 8 << 20);
        assert_eq!(default_stack_size(Some("1048576")), 4 << 20);
        assert_eq!(
            default_stack_size(Some("lots")),
            8 << 20,
            "std ignores it too"
        );
        assert_eq!(
            default_stack_size(Some(&usize::MAX.to_string())),
            usize::MAX
        );
    }
}
