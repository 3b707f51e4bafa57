//! [`TaskManager`]: the pool, the registry of active tasks, signals, and shutdown.

mod builder;
mod global;
mod idle;
mod local_builder;
mod options;
mod task_builder;
mod testing;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use crate::admission::TaskSnapshot;
pub use crate::scope::{ScopeHandle, ScopeProgress, TaskScope};
pub use builder::TaskManagerBuilder;
pub use global::{get_task_manager, init_global, set_max_threads};
pub use local_builder::LocalTaskBuilder;
pub(crate) use task_builder::Joins;
pub use task_builder::TaskBuilder;

use crate::admission::ManagerCore;
use crate::error::AppError;
use crate::items::Publisher;
use crate::signal::ManagerSignals;
use crate::sync::deadline_after;
use crate::task::admit::Admit;
use crate::task::context::TaskContext;
use crate::task::Task;
use crate::vocabulary::TaskId;

/// Runs background tasks on a pool of worker threads and keeps track of them
/// (Python: `TaskManager`).
///
/// A `TaskManager` is a cheap-to-clone handle; clones share one pool, one registry and one
/// set of signals. When the last handle is dropped the manager shuts down: active tasks are
/// cancelled, running bodies get up to the `shutdown_timeout` (5 s by default) to return,
/// and the worker threads exit (threads still busy after that are detached, never waited on
/// forever).
///
/// Most applications use the global manager, [`get_task_manager()`], which the macros use
/// by default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{AppError, TaskManager};
///
/// let manager = TaskManager::new(4);
/// let a = manager.task(|_| Ok::<_, AppError>(1)).name("one").start();
/// let b = manager.spawn(|_| Ok::<_, AppError>(2));
/// assert_eq!(a.join().unwrap() + b.join().unwrap(), 3);
///
/// assert!(manager.wait_for_all(Duration::from_secs(10)));
/// assert_eq!(manager.active_count(), 0);
/// ```
#[derive(Clone)]
pub struct TaskManager {
    handle: Arc<Handle>,
}

/// Owned only by `TaskManager` handles: dropping the last one shuts the manager down. A
/// `TaskBuilder` holds the core itself, so one that outlives the handles does not keep the
/// manager running (its task is cancelled when it starts). Tasks point at neither: only at the
/// core's host.
struct Handle {
    core: Arc<ManagerCore>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.close();
    }
}

impl TaskManager {
    /// Creates a manager with at most `max_threads` worker threads and default settings.
    ///
    /// Its callbacks and signals run on the **worker thread**
    /// ([`Dispatcher::worker_thread`](crate::Dispatcher::worker_thread)), not on your UI
    /// thread: for that, build it with
    /// [`builder().dispatcher(..)`](TaskManagerBuilder::dispatcher), for instance an
    /// [`EventLoop`](crate::EventLoop)'s.
    ///
    /// # Panics
    ///
    /// If `max_threads` is 0. Use [`TaskManager::builder`] to get an error instead.
    pub fn new(max_threads: usize) -> TaskManager {
        match TaskManager::builder().max_threads(max_threads).build() {
            Ok(manager) => manager,
            Err(err) => panic!("TaskManager::new({max_threads}): {err}"),
        }
    }

    /// Starts configuring a manager.
    pub fn builder() -> TaskManagerBuilder {
        TaskManagerBuilder::new()
    }

    fn core(&self) -> &Arc<ManagerCore> {
        &self.handle.core
    }

    /// The core as the builders and scopes submit to it.
    pub(crate) fn admission(&self) -> Arc<dyn Admit> {
        Arc::clone(self.core()) as Arc<dyn Admit>
    }

    /// Prepares a task running `f`; configure it, then call
    /// [`start`](TaskBuilder::start).
    ///
    /// `f` returns `Result<T, E>` for any `E: Into<AppError>`, so `?` works on any standard
    /// error and on [`Cancelled`](crate::Cancelled).
    pub fn task<T, E, F>(&self, f: F) -> TaskBuilder<T>
    where
        F: FnOnce(&TaskContext) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::new(self.admission(), f)
    }

    /// A task whose body also publishes items (partial results) through a [`Publisher<P>`]:
    /// delivered in batches to [`on_items`](TaskBuilder::on_items) on the dispatcher, or
    /// taken with [`Task::take_items`]. See [`Publisher`] for an example.
    pub fn task_with_items<T, P, E, F>(&self, f: F) -> TaskBuilder<T, P>
    where
        F: FnOnce(&TaskContext, &Publisher<P>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        P: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::with_items(self.admission(), f)
    }

    /// Prepares a task whose body is `async`: `f` gets an owned [`TaskContext`] and returns
    /// the future, which the manager's own workers poll. Every option of
    /// [`task`](Self::task) applies (callbacks, scope, timeout, priority, `exclusive`).
    ///
    /// While the future waits it holds no worker: a woken body queues again, ahead of the
    /// never-started tasks of its priority. A cancel (or a deadline, a scope's drop, a newer
    /// task of the name, shutdown) stops it for good: at once if it is waiting, the outcome
    /// decided before `cancel()` returns; else right after its current poll. The future is
    /// then dropped by a worker, never inside the call that cancelled it. A body that blocks
    /// inside `poll` holds its worker like a blocking body: inside an async body, `.await` a
    /// [`Task`] rather than `join` it.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let half = manager.spawn(|_| Ok::<_, AppError>(21));
    /// let answer = manager
    ///     .task_async(move |ctx| async move {
    ///         // Awaiting a task holds no worker while it runs.
    ///         let half = half.await.map_err(TaskError::into_app_error)?;
    ///         ctx.check_cancelled()?;
    ///         Ok::<_, AppError>(half * 2)
    ///     })
    ///     .name("answer")
    ///     .start();
    /// assert_eq!(answer.join().unwrap(), 42);
    /// ```
    pub fn task_async<T, E, F, Fut>(&self, f: F) -> TaskBuilder<T>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::polled(self.admission(), f)
    }

    /// Starts an `async` task with default options: `manager.task_async(f).start()`.
    pub fn spawn_async<T, E, F, Fut>(&self, f: F) -> Task<T>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        self.task_async(f).start()
    }

    /// An `async` task whose body also publishes items through an owned [`Publisher<P>`], as
    /// [`task_with_items`](Self::task_with_items).
    pub fn task_async_with_items<T, P, E, F, Fut>(&self, f: F) -> TaskBuilder<T, P>
    where
        F: FnOnce(TaskContext, Publisher<P>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        P: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::polled_with_items(self.admission(), f)
    }

    /// A new scope: tasks started through it are cancelled when it is dropped, and none of
    /// their callbacks starts from then on. See [`TaskScope`].
    pub fn scope(&self) -> TaskScope {
        TaskScope::new(self.admission(), None)
    }

    /// Starts a task with default options: `manager.task(f).start()`.
    pub fn spawn<T, E, F>(&self, f: F) -> Task<T>
    where
        F: FnOnce(&TaskContext) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        self.task(f).start()
    }

    /// Cancels every active task named `name`; returns `false` (and logs a warning) if there
    /// was none.
    pub fn cancel_task(&self, name: &str) -> bool {
        let cancelled = self.core().cancel_named(name);
        if !cancelled {
            tracing::warn!(name, "cancel_task: no active task with this name");
        }
        cancelled
    }

    /// Cancels the task with this id; returns `false` if it is not active (finished, or not a
    /// task of this manager).
    pub fn cancel(&self, id: TaskId) -> bool {
        self.core().cancel(id)
    }

    /// Cancels every active task: running ones are flagged, queued ones are removed from the
    /// queue. Each gets exactly one *cancelled* outcome. Returns how many were cancelled by
    /// this call.
    pub fn cancel_all(&self) -> usize {
        self.core().cancel_all()
    }

    /// How many tasks are active (queued or running).
    pub fn active_count(&self) -> usize {
        self.core().registry.len()
    }

    /// The names of the active tasks, in submission order.
    pub fn active_tasks(&self) -> Vec<String> {
        self.core()
            .registry
            .cells()
            .iter()
            .map(|cell| cell.core.name().as_str().to_owned())
            .collect()
    }

    /// Snapshots of the active tasks, in submission order.
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.core()
            .registry
            .cells()
            .iter()
            .map(TaskSnapshot::of)
            .collect()
    }

    /// Blocks until no task is active or `timeout` passes; returns `true` iff the manager
    /// became idle in time. Callbacks may still be pending on their dispatchers (see
    /// [`EventLoop::run_until_idle`](crate::EventLoop::run_until_idle) to wait for those too).
    ///
    /// "Became idle" is an event: if the manager was idle at any moment after the call began,
    /// this returns `true` even if new tasks were submitted before it woke up. A task stops
    /// counting as active when its outcome can first be seen (`join` returns, `try_take`
    /// gives it), so a waiter sees the idle moment between joining the last task and
    /// starting the next. Every timeout is accepted; `Duration::MAX` waits for as long as it
    /// takes.
    #[must_use = "wait_for_all returns false when the manager did not become idle in time"]
    pub fn wait_for_all(&self, timeout: Duration) -> bool {
        self.core()
            .host
            .undecided()
            .wait_until_at_most(0, deadline_after(timeout))
    }

    /// The async form of [`wait_for_all`](Self::wait_for_all): ready once no task is active,
    /// at any moment after this call (new tasks arriving after that moment do not undo it).
    /// For async code, an `async` body among them (which must not block a worker in
    /// `wait_for_all`), or an async test.
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// for n in 0..10 {
    ///     manager.spawn(move |_| Ok::<_, AppError>(n));
    /// }
    /// futures::executor::block_on(manager.idle());
    /// assert_eq!(manager.active_count(), 0);
    /// ```
    pub fn idle(&self) -> impl Future<Output = ()> + Send + 'static {
        let host = Arc::clone(&self.core().host);
        let epoch = host.undecided().epoch();
        std::future::poll_fn(move |cx| {
            if host.undecided().poll_idle(epoch, cx.waker()) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
    }

    /// Changes the thread limit at once. Growing starts threads for queued tasks; shrinking
    /// lets surplus threads finish their current task, then retire.
    ///
    /// # Panics
    ///
    /// If `max_threads` is 0.
    pub fn set_max_threads(&self, max_threads: usize) {
        assert!(
            max_threads > 0,
            "TaskManager::set_max_threads(0): max_threads must be at least 1"
        );
        self.core().pool.set_max_threads(max_threads);
    }

    /// The thread limit.
    pub fn max_threads(&self) -> usize {
        self.core().pool.max_threads()
    }

    /// How many worker threads exist now (busy or idle). Never more than
    /// [`max_threads`](Self::max_threads), except right after it was lowered, while surplus
    /// threads finish their current task.
    pub fn worker_count(&self) -> usize {
        self.core().pool.live_threads()
    }

    /// The manager's lifecycle signals.
    pub fn signals(&self) -> &ManagerSignals {
        self.core().host.signals()
    }

    /// Cancels all tasks, then waits up to `timeout` for running bodies to return; returns
    /// whether they all did. From then on, every task started on this manager is cancelled at
    /// once (with a warning naming it). The worker threads stay until the last handle is
    /// dropped. Called from inside a task of this manager (its body or a callback that runs on
    /// its worker), that task is not waited for.
    #[must_use = "shutdown returns false when running bodies did not return in time"]
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.core().shutdown(deadline_after(timeout))
    }

    /// Passes every pending deadline now, on the calling thread; loom models play the timer
    /// with it (no timer thread runs under loom).
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn expire_deadlines(&self) {
        self.core().expire_deadlines();
    }
}

impl fmt::Debug for TaskManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskManager")
            .field("max_threads", &self.max_threads())
            .field("workers", &self.worker_count())
            .field("active", &self.active_count())
            .finish()
    }
}
