//! [`TaskScope`] and [`ScopeHandle`]: tasks that live and die with their owner (a window, a
//! panel, a view model), as Kotlin's `viewModelScope` or Qt's `then(context, ..)`.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ScopeNode;
use crate::admission::TaskSnapshot;
use crate::sync::deadline_after;
use crate::task::admit::Admit;
use crate::task::context::TaskContext;
use crate::vocabulary::{TaskId, TaskInfo};

/// A group of tasks that share a lifetime: dropping the scope cancels every active task of it
/// and of its children, and from then on no callback of any of them starts, not even
/// `on_cancelled`, nor one still pending for a task that had already ended: the owner is
/// gone. Made by [`TaskManager::scope`](crate::TaskManager::scope).
///
/// "From then on" means once the drop returned on the thread the dispatcher runs callbacks
/// on (a callback already running elsewhere may finish). Outcomes stay observable: handles
/// and the manager's signals see each task end, exactly once, and a failure whose `on_error`
/// is silenced goes to the manager's error handler, as one without `on_error` does: nothing
/// is lost silently. Dropping never blocks.
///
/// `Send + Sync`, not `Clone`: the owner holds it. Everything else goes through
/// [`ScopeHandle`] (which it derefs to), cheap to clone and to hand to code that starts tasks
/// for the owner; a handle does not keep the scope open.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap();
/// let panel = manager.scope(); // owned by the panel
/// let scan = panel.spawn(|ctx| -> Result<(), AppError> {
///     loop {
///         ctx.check_cancelled()?;
///         std::thread::sleep(Duration::from_millis(1));
///     }
/// });
/// drop(panel); // the panel closes: its scan stops, and none of its callbacks run
/// assert!(scan.join().unwrap_err().is_cancelled());
/// ```
pub struct TaskScope {
    handle: ScopeHandle,
    /// Given by `named`, for the progress display.
    name: Option<String>,
}

/// A handle to a [`TaskScope`]: starts tasks in it, cancels them, counts and waits for them.
/// Every count and wait includes the scope's children, recursively. `Clone + Send + Sync`;
/// it does not keep the scope open: once the scope is dropped, a task started through a
/// handle is cancelled at once (its state is `Cancelled` when `start` returns), never runs,
/// and runs no callback.
#[derive(Clone)]
pub struct ScopeHandle {
    /// The manager's admission: where the scope's tasks are submitted.
    admission: Arc<dyn Admit>,
    node: Arc<ScopeNode>,
}

/// How far a scope's tasks are: returned by [`ScopeHandle::progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeProgress {
    /// Tasks submitted in the scope (and its children).
    pub started: usize,
    /// Of those, the tasks with an outcome.
    pub finished: usize,
    /// The latest progress of its tasks, summed: `current` units...
    pub current: u64,
    /// ... of `total`.
    pub total: u64,
}

impl TaskScope {
    pub(crate) fn new(admission: Arc<dyn Admit>, parent: Option<Arc<ScopeNode>>) -> Self {
        let node = ScopeNode::new(Arc::clone(admission.host()), parent);
        Self::over(admission, node)
    }

    fn over(admission: Arc<dyn Admit>, node: Arc<ScopeNode>) -> Self {
        TaskScope {
            handle: ScopeHandle { admission, node },
            name: None,
        }
    }

    /// Names the scope, for its line in the progress display (default `Scope-<id>`). Name
    /// it before [`show_progress`](Self::show_progress).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Shows the scope in the manager's progress display as one line until the scope is
    /// dropped: tasks finished of started, and as its message the summed units of its tasks'
    /// progress (the running tasks' latest report included) and, once any ended, how many
    /// completed, failed and were cancelled (`"512 of 1024 units, 18 completed, 1 failed, 1
    /// cancelled"`). Its tasks (and its children's) are then not drawn one by one, even with
    /// `show_progress(true)`. [`wait`](ScopeHandle::wait) returns once the display has drawn
    /// that line with its counts ([`TerminalProgress`](crate::TerminalProgress) prints it as
    /// a line of its own), so the program's own output comes after it.
    ///
    /// ```
    /// use task_runtime::{AppError, LogProgress, TaskManager};
    ///
    /// let manager = TaskManager::builder().progress_display(LogProgress::new()).build().unwrap();
    /// let batch = manager.scope().named("hash").show_progress(true);
    /// for file in 0..100u64 {
    ///     batch.task(move |ctx| { ctx.set_progress(file, 100); Ok::<_, AppError>(()) })
    ///         .show_progress(true) // drawn as part of the batch's one line
    ///         .start();
    /// }
    /// assert!(batch.wait(std::time::Duration::from_secs(30)));
    /// assert_eq!(batch.progress().finished, 100);
    /// ```
    pub fn show_progress(self, show: bool) -> Self {
        if show {
            let id = TaskId::next();
            let name = self
                .name
                .clone()
                .unwrap_or_else(|| format!("Scope-{}", id.as_u64()));
            self.handle.node.show(TaskInfo { id, name });
        }
        self
    }

    /// A handle to this scope.
    pub fn handle(&self) -> ScopeHandle {
        self.handle.clone()
    }
}

impl Deref for TaskScope {
    type Target = ScopeHandle;

    fn deref(&self) -> &ScopeHandle {
        &self.handle
    }
}

impl Drop for TaskScope {
    fn drop(&mut self) {
        self.handle.node.shut();
        self.handle.admission.purge_stale();
    }
}

impl ScopeHandle {
    /// A scope inside this one: closed when this one is, counted in its counts.
    pub fn child(&self) -> TaskScope {
        TaskScope::new(Arc::clone(&self.admission), Some(Arc::clone(&self.node)))
    }

    /// Cancels the active tasks of this scope and its children; returns exactly how many this
    /// call cancelled. A task still queued when `cancel` is called never runs its body, even
    /// if a worker comes free while `cancel` works through the others. As with a drop, none
    /// of the cancelled tasks' callbacks starts from then on; a task that completed before
    /// `cancel` reached it keeps its `on_complete`. The scope stays usable, and tasks started
    /// in it afterwards behave normally.
    pub fn cancel(&self) -> usize {
        let cancelled = self.node.cancel();
        self.admission.purge_stale();
        cancelled
    }

    /// How many tasks of this scope and its children are queued or running.
    pub fn active_count(&self) -> usize {
        self.node.pending()
    }

    /// Snapshots of the active tasks of this scope and its children.
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.node.active().iter().map(TaskSnapshot::of).collect()
    }

    /// Blocks until every task of this scope and its children has an outcome, or `timeout`
    /// passes; `true` iff they all did in time. Every timeout is accepted: `Duration::MAX`
    /// waits for as long as it takes. Callbacks may still be pending.
    ///
    /// A scope shown in the progress display ([`TaskScope::show_progress`]) is drawn with its
    /// counts before this returns, so the program's next output comes after its line; a
    /// display that takes longer than the manager's `shutdown_timeout` (or than `timeout`) to
    /// draw it is not waited for.
    #[must_use = "wait returns false when the scope's tasks did not finish in time"]
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = deadline_after(timeout);
        let settled = self.node.wait(deadline);
        if settled {
            let drawn_by = deadline_after(self.admission.shutdown_timeout());
            self.node.flush_display(earliest(deadline, drawn_by));
        }
        settled
    }

    /// The async form of [`wait`](Self::wait): ready once every task of this scope and its
    /// children has an outcome (at once if none is active). Callbacks may still be pending.
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let parts = manager.scope();
    /// for n in 0..4 {
    ///     parts.spawn(move |_| Ok::<_, AppError>(n));
    /// }
    /// futures::executor::block_on(parts.idle());
    /// assert_eq!(parts.active_count(), 0);
    /// ```
    pub fn idle(&self) -> impl Future<Output = ()> + Send + 'static {
        let node = Arc::clone(&self.node);
        std::future::poll_fn(move |cx| {
            if node.poll_idle(cx.waker()) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
    }

    /// How far the scope's tasks are.
    pub fn progress(&self) -> ScopeProgress {
        let counts = self.node.counts();
        ScopeProgress {
            started: counts.started,
            finished: counts.finished,
            current: counts.current,
            total: counts.total,
        }
    }

    /// Whether the scope (or an ancestor) was dropped.
    pub fn is_closed(&self) -> bool {
        self.node.is_closed()
    }

    pub(crate) fn node(&self) -> &Arc<ScopeNode> {
        &self.node
    }

    pub(crate) fn admission(&self) -> &Arc<dyn Admit> {
        &self.admission
    }
}

impl TaskContext {
    /// A scope for this body's subtasks: a child of the task's own scope (if it has one),
    /// closed as if dropped when this task is asked to stop (cancelled, timed out, its scope
    /// closed), so the subtasks stop with it and none of their callbacks starts afterwards.
    /// A task already asked to stop gets a closed scope: what it starts there is cancelled at
    /// once and never runs.
    ///
    /// The body owns the scope like any [`TaskScope`]: when the body returns, the scope is
    /// dropped and the subtasks still active are cancelled. Wait for them (or join their
    /// handles) first if the result needs them.
    ///
    /// # Panics
    ///
    /// If the task's manager no longer exists (every handle to it was dropped and its
    /// shutdown stopped waiting for this body): there is nothing left to run subtasks on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use task_runtime::{AppError, TaskError, TaskManager};
    ///
    /// let manager = TaskManager::new(4);
    /// let sum = manager.spawn(|ctx| {
    ///     let parts = ctx.scope();
    ///     let handles: Vec<_> = (1..=3u64)
    ///         .map(|n| parts.spawn(move |_| Ok::<_, AppError>(n * 10)))
    ///         .collect();
    ///     let mut sum = 0;
    ///     for part in handles {
    ///         sum += part.join().map_err(TaskError::into_app_error)?;
    ///     }
    ///     Ok::<_, AppError>(sum)
    /// });
    /// assert_eq!(sum.join().unwrap(), 60);
    ///
    /// // Cancelling the task cancels what its body started.
    /// let (started, ready) = std::sync::mpsc::channel();
    /// let (finished, done) = std::sync::mpsc::channel();
    /// let outer = manager.spawn(move |ctx| {
    ///     let parts = ctx.scope();
    ///     parts.spawn(|ctx| -> Result<(), AppError> {
    ///         loop {
    ///             ctx.check_cancelled()?;
    ///             std::thread::sleep(Duration::from_millis(1));
    ///         }
    ///     });
    ///     started.send(()).unwrap();
    ///     // The part loops until cancelled: this returns once `outer.cancel()` reached it.
    ///     finished.send(parts.wait(Duration::from_secs(30))).unwrap();
    ///     Ok::<_, AppError>(())
    /// });
    /// ready.recv().unwrap();
    /// outer.cancel();
    /// assert!(done.recv().unwrap(), "the part stopped with its task");
    /// assert!(outer.join().unwrap_err().is_cancelled());
    /// ```
    pub fn scope(&self) -> TaskScope {
        let cell = self.cell();
        let Some(admission) = cell.core.host.admission() else {
            panic!(
                "TaskContext::scope: the manager of task `{}` is gone (every handle to it was \
                 dropped and its shutdown stopped waiting for this body); keep a TaskManager \
                 alive while bodies start subtasks",
                cell.core.name().as_str()
            );
        };
        TaskScope::over(admission, ScopeNode::for_body(cell))
    }
}

/// The earlier of two deadlines (`None`: none).
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl fmt::Debug for TaskScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskScope").field(&self.handle).finish()
    }
}

impl fmt::Debug for ScopeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeHandle")
            .field("progress", &self.progress())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::error::AppError;
    use crate::manager::TaskManager;
    use crate::task::context::TaskContext;
    use std::time::Duration;

    /// How many scopes the body of `ctx`'s task has listed with its manager.
    fn listed_body_scopes(ctx: &TaskContext) -> usize {
        ctx.cell().core.host.body_scopes().listed(ctx.id())
    }

    #[test]
    fn a_body_scope_is_unlisted_once_dropped_or_stopped() {
        let manager = TaskManager::new(2);
        let dropped = manager.spawn(|ctx| {
            let scope = ctx.scope();
            let listed = listed_body_scopes(ctx);
            drop(scope);
            Ok::<_, AppError>((listed, listed_body_scopes(ctx)))
        });
        assert_eq!(dropped.join().unwrap(), (1, 0));

        let (tx, rx) = std::sync::mpsc::channel();
        let stopped = manager.spawn(move |ctx| {
            let _scope = ctx.scope();
            tx.send(listed_body_scopes(ctx)).unwrap();
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_micros(200));
            }
            // Still held by the body, but its task was asked to stop.
            tx.send(listed_body_scopes(ctx)).unwrap();
            Ok::<_, AppError>(())
        });
        let patience = Duration::from_secs(30);
        assert_eq!(rx.recv_timeout(patience).unwrap(), 1);
        stopped.cancel();
        assert_eq!(rx.recv_timeout(patience).unwrap(), 0);
    }
}
