//! [`TaskManager`]: the pool, the registry of active tasks, signals, and shutdown.

mod builder;
mod global;
mod registry;

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use builder::TaskManagerBuilder;
pub use global::{get_task_manager, init_global, set_max_threads};
use registry::{Refusal, Registry};

use crate::context;
use crate::delivery::Terminal;
use crate::dispatch::Dispatcher;
use crate::display::DisplayPump;
use crate::pool::Pool;
use crate::signal::{ManagerSignals, Signal, TaskInfo};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{deadline_after, CachePadded};
use crate::task::cell::{CellRef, TaskCore};
use crate::task::run;
use crate::unwind::{self, Panic};
use crate::{
    codes, AppError, Exclusive, Outcome, Progress, Task, TaskBuilder, TaskContext, TaskId,
    TaskState,
};

/// Receives errors that no `on_error` callback took.
pub(crate) type ErrorHandler = Arc<dyn Fn(&AppError) + Send + Sync>;

/// Rewrites every task error before anyone sees it (`TaskManagerBuilder::map_error`).
pub(crate) type ErrorMap = Arc<dyn Fn(AppError) -> AppError + Send + Sync>;

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

/// Owned only by `TaskManager` handles: dropping the last one shuts the manager down. Tasks
/// hold the `ManagerCore` itself, so they never keep the manager from shutting down.
struct Handle {
    core: Arc<ManagerCore>,
}

/// A snapshot of one active task, from [`TaskManager::tasks`].
#[derive(Debug, Clone)]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// Queued or running (snapshots only list active tasks).
    pub state: TaskState,
    /// The latest progress reported, if any.
    pub progress: Option<Progress>,
    /// When the task was submitted.
    pub queued_at: Instant,
    /// When its body started, if it did.
    pub started_at: Option<Instant>,
}

pub(crate) struct ManagerCore {
    pool: Pool<CellRef>,
    registry: Registry,
    dispatcher: Dispatcher,
    error_handler: ErrorHandler,
    error_map: Option<ErrorMap>,
    signals: ManagerSignals,
    /// Calls the progress display for tasks with `show_progress`, on a thread of its own.
    display: DisplayPump,
    shutdown_timeout: Duration,
    /// Task instants are stored as offsets from this one (8 bytes instead of 16).
    epoch: Instant,
    /// Tasks with a queued dispatcher (an event loop, `from_fn`) whose terminal delivery is
    /// not done yet, counted from submission: such a task is always active or undelivered,
    /// so "registry empty, then nothing undelivered" is a reliable idle check. Deliveries on
    /// the worker thread happen inline and need no count, which keeps a shared counter off
    /// the common path.
    undelivered: AtomicUsize,
    /// Written by every submission: padded, so workers reading the fields around it do not
    /// lose their cached copies each time.
    next_number: CachePadded<AtomicU64>,
}

impl TaskManager {
    /// Creates a manager with at most `max_threads` worker threads and default settings.
    ///
    /// Its callbacks and signals run on the **worker thread** ([`Dispatcher::worker_thread`]),
    /// not on your UI thread: for that, build it with
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
        TaskBuilder::new(Arc::clone(self.core()), f)
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
        let matching = self.core().registry.named(name);
        if matching.is_empty() {
            tracing::warn!(name, "cancel_task: no active task with this name");
            return false;
        }
        for cell in &matching {
            run::cancel(cell);
        }
        self.core().pool.purge_stale();
        true
    }

    /// Cancels the task with this id; returns `false` if it is not active (finished, or not a
    /// task of this manager).
    pub fn cancel(&self, id: TaskId) -> bool {
        match self.core().registry.get(id) {
            Some(cell) => {
                let request = run::cancel(&cell);
                self.core().pool.purge_stale();
                request != crate::task::cell::CancelRequest::Finished
            }
            None => false,
        }
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
            .map(|cell| cell.core.name.as_str().to_owned())
            .collect()
    }

    /// Snapshots of the active tasks, in submission order.
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.core()
            .registry
            .cells()
            .iter()
            .map(|cell| {
                let core = &cell.core;
                TaskSnapshot {
                    id: core.id,
                    name: core.name.as_str().to_owned(),
                    state: core.state(),
                    progress: core.delivery.latest_progress(),
                    queued_at: core.queued_at(),
                    started_at: core.started_at(),
                }
            })
            .collect()
    }

    /// Blocks until no task is active or `timeout` passes; returns `true` iff the manager
    /// became idle in time. Callbacks may still be pending on their dispatchers (see
    /// [`EventLoop::run_until_idle`](crate::EventLoop::run_until_idle) to wait for those too).
    ///
    /// "Became idle" is an event: if the manager was idle at any moment after the call began,
    /// this returns `true` even if new tasks were submitted before it woke up. Every timeout
    /// is accepted; `Duration::MAX` waits for as long as it takes.
    #[must_use = "wait_for_all returns false when the manager did not become idle in time"]
    pub fn wait_for_all(&self, timeout: Duration) -> bool {
        self.core()
            .registry
            .wait_until_at_most(0, deadline_after(timeout))
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
        &self.core().signals
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

    /// Runs the next queued task on the calling thread; loom models play the worker with it.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn run_queued_task(&self) -> bool {
        self.core().pool.run_queued()
    }

    /// No task active and no terminal callback queued (checked in that order: a task is
    /// counted as undelivered before it leaves the registry). A delivery in progress on the
    /// calling thread does not count: a callback asking cannot wait for itself.
    pub(crate) fn is_quiescent(&self) -> bool {
        let core = self.core();
        core.registry.is_idle()
            && core.undelivered.load(Ordering::SeqCst) <= context::delivering_here(core)
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

impl Drop for Handle {
    fn drop(&mut self) {
        let deadline = deadline_after(self.core.shutdown_timeout);
        self.core.shutdown(deadline);
        self.core.pool.terminate(deadline);
        // After the workers: the cancellations above still show.
        self.core.display.stop(deadline);
        // Last: breaks the cycle between the core and the finished tasks it still lists.
        for cell in self.core.registry.drain() {
            if let Some(panic) = unwind::drop_contained(cell) {
                tracing::error!(
                    panic = panic.message(),
                    "dropping a finished task's value panicked"
                );
            }
        }
    }
}

impl ManagerCore {
    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub(crate) fn display(&self) -> &DisplayPump {
        &self.display
    }

    /// Nanoseconds since the manager was built.
    pub(crate) fn since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `nanos` after the manager was built.
    pub(crate) fn instant_at(&self, nanos: u64) -> Instant {
        self.epoch + Duration::from_nanos(nanos)
    }

    pub(crate) fn next_task_number(&self) -> u64 {
        self.next_number.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn is_worker_thread(&self) -> bool {
        self.pool.is_worker_thread()
    }

    /// Admits and queues a new task, or cancels it at once when it may not run.
    pub(crate) fn submit(&self, cell: CellRef) {
        if !cell.core.dispatcher().is_worker_thread() {
            self.undelivered.fetch_add(1, Ordering::SeqCst);
        }
        self.registry.entered();
        match self.registry.admit(&cell) {
            Ok(superseded) => {
                for old in &superseded {
                    run::cancel(old);
                }
                if !superseded.is_empty() {
                    self.pool.purge_stale();
                }
                if let Err(cell) = self.pool.submit(cell) {
                    // Only once the last handle is gone: a builder outlived its manager.
                    let _entered = cell.core.enter_span();
                    tracing::warn!("task started after its manager was dropped; cancelled");
                    run::cancel(&cell);
                }
            }
            Err(refusal) => {
                let _entered = cell.core.enter_span();
                match refusal {
                    Refusal::ShutDown => tracing::warn!(
                        "task '{}' started after the manager was shut down; cancelled",
                        cell.core.name
                    ),
                    Refusal::NameActive => tracing::info!(
                        "task '{}' skipped: a task of this name is active",
                        cell.core.name
                    ),
                }
                run::cancel(&cell);
            }
        }
    }

    /// The task's outcome was just decided, so it left the registry (its state says so).
    pub(crate) fn unregister(&self, _core: &TaskCore) {
        self.registry.left();
    }

    /// The task's terminal event was delivered (or there was nothing to deliver).
    pub(crate) fn settle(&self, core: &TaskCore) {
        if core.exclusive == Some(Exclusive::CancelPrevious) {
            self.registry.forget_exclusive(core);
        }
        if !core.dispatcher().is_worker_thread() {
            self.undelivered.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn cancel_all(&self) -> usize {
        let cancelled = self
            .registry
            .cells()
            .iter()
            .filter(|cell| run::cancel(cell).newly_cancelled())
            .count();
        self.pool.purge_stale();
        cancelled
    }

    fn shutdown(&self, deadline: Option<Instant>) -> bool {
        self.registry.close();
        self.cancel_all();
        // A task of this manager shutting it down from its body or its worker-side callbacks
        // cannot wait for itself (nor for the tasks it runs nested, joined inline).
        let own = context::running_here(self);
        self.registry.wait_until_at_most(own, deadline)
    }

    /// The error a task ends with, as everyone will see it: with context `task = <name>`,
    /// rewritten by the manager's `map_error` (which keeps that context).
    pub(crate) fn task_error(&self, core: &TaskCore, error: AppError) -> AppError {
        let error = error.with_context("task", &core.name);
        let Some(map) = &self.error_map else {
            return error;
        };
        let original = error.clone();
        match unwind::catch(|| map(error)) {
            Ok(mapped) => mapped.with_context("task", &core.name),
            Err(panic) => {
                self.report_user_panic("the manager's map_error", core, &panic);
                original
            }
        }
    }

    // ----- errors and user code -----

    /// Hands an error nobody else took to the error handler.
    pub(crate) fn handle_error(&self, error: &AppError) {
        if let Err(panic) = unwind::catch(|| (self.error_handler)(error)) {
            tracing::error!(
                panic = panic.message(),
                error = %error,
                "the error handler panicked while handling an error"
            );
        }
    }

    pub(crate) fn report_user_panic(&self, what: &str, core: &TaskCore, panic: &Panic) {
        self.handle_error(
            &AppError::new(
                codes::ERR_CALLBACK_PANICKED,
                format!(
                    "{what} of task '{}' panicked: {}",
                    core.name,
                    panic.message()
                ),
            )
            .with_context("task", &core.name),
        );
    }

    /// Runs a user callback; a panic goes to the error handler.
    pub(crate) fn run_callback(&self, what: &str, core: &TaskCore, callback: impl FnOnce()) {
        if let Err(panic) = unwind::catch(callback) {
            self.report_user_panic(what, core, &panic);
        }
    }

    /// Drops user data (values, closures) where a panicking `Drop` is contained.
    pub(crate) fn drop_user_value<V>(&self, value: V, core: &TaskCore) {
        if let Some(panic) = unwind::drop_contained(value) {
            self.report_user_panic("dropping a value", core, &panic);
        }
    }

    // ----- signals -----

    pub(crate) fn wants_started(&self) -> bool {
        self.signals.task_started.is_connected()
    }

    pub(crate) fn wants_terminal(&self, terminal: &Terminal) -> bool {
        match terminal {
            Terminal::Completed(_) => self.signals.task_completed.is_connected(),
            Terminal::Failed(_) => self.signals.task_failed.is_connected(),
            Terminal::Cancelled => self.signals.task_cancelled.is_connected(),
        }
    }

    pub(crate) fn task_started(&self, cell: &CellRef) {
        self.emit_info(cell, "task_started", |signals| &signals.task_started);
    }

    pub(crate) fn task_ended(&self, cell: &CellRef, ended: Outcome) {
        match ended {
            Outcome::Completed => {
                self.emit_info(cell, "task_completed", |signals| &signals.task_completed)
            }
            Outcome::Cancelled => {
                self.emit_info(cell, "task_cancelled", |signals| &signals.task_cancelled)
            }
            Outcome::Failed(error) if self.signals.task_failed.is_connected() => {
                let arg = (task_info(&cell.core), error);
                self.emit(cell, move |manager| {
                    manager.signals.task_failed.emit_with(&arg, |panic| {
                        manager.report_signal_panic("task_failed", &arg.0, &panic)
                    })
                })
            }
            Outcome::Failed(_) => {}
        }
    }

    /// Emits one of the signals that carry a `TaskInfo`. The info holds an owned name: it
    /// is built only when a slot will receive it.
    fn emit_info(
        &self,
        cell: &CellRef,
        name: &'static str,
        signal: fn(&ManagerSignals) -> &Signal<TaskInfo>,
    ) {
        if signal(&self.signals).is_connected() {
            let info = task_info(&cell.core);
            self.emit(cell, move |manager| {
                signal(&manager.signals).emit_with(&info, |panic| {
                    manager.report_signal_panic(name, &info, &panic)
                })
            });
        }
    }

    /// Runs an emission on the manager's dispatcher: right here if the task's callbacks
    /// already run there (so it follows the task's own callback), else as a job of its own.
    fn emit(&self, cell: &CellRef, emission: impl FnOnce(&ManagerCore) + Send + 'static) {
        let core = &cell.core;
        if core.dispatcher().same_target(&self.dispatcher) {
            emission(self);
            return;
        }
        let manager = Arc::clone(&core.manager);
        let dispatched = unwind::catch(|| {
            self.dispatcher
                .dispatch(Box::new(move || emission(&manager)))
        });
        if let Err(panic) = dispatched {
            self.report_user_panic("the manager's dispatcher", core, &panic);
        }
    }

    fn report_signal_panic(&self, signal: &str, info: &TaskInfo, panic: &Panic) {
        self.handle_error(
            &AppError::new(
                codes::ERR_CALLBACK_PANICKED,
                format!(
                    "a slot of signal {signal} panicked for task '{}': {}",
                    info.name,
                    panic.message()
                ),
            )
            .with_context("task", &info.name),
        );
    }
}

fn task_info(core: &TaskCore) -> TaskInfo {
    TaskInfo {
        id: core.id,
        name: core.name.as_str().to_owned(),
    }
}
