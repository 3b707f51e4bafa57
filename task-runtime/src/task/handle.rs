//! [`Task`], the handle to one piece of background work.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::cell::{CancelRequest, CellRef, TaskCell, TaskCore};
use super::context;
use super::run;
use super::slot::Slot;
use crate::error::{AppError, TaskError};
use crate::progress::Progress;
use crate::sync::{deadline_after, spin_briefly};
use crate::vocabulary::{TaskId, TaskState};

/// A handle to a background task: cancel it, poll it, join it or `.await` it.
///
/// Returned by [`TaskManager::spawn`](crate::TaskManager::spawn),
/// [`TaskBuilder::start`](crate::TaskBuilder::start) and the `#[run_in_background]` macro.
/// The task runs whether or not the handle is kept: dropping a `Task` *detaches* it, and its
/// callbacks still run.
///
/// Every task ends exactly once: completed (with the value), failed (with an
/// [`AppError`](crate::AppError)) or cancelled. The handle sees that outcome as soon as it is
/// decided, without waiting for callbacks: `join` on the UI thread cannot deadlock against
/// callbacks queued for that same thread.
///
/// # Examples
///
/// ```
/// use task_runtime::{AppError, TaskManager};
///
/// let manager = TaskManager::new(2);
/// let task = manager.spawn(|ctx| {
///     let mut sum = 0u64;
///     for i in 0..=100 {
///         ctx.check_cancelled()?;
///         sum += i;
///     }
///     Ok::<_, AppError>(sum)
/// });
/// assert_eq!(task.join().unwrap(), 5050);
/// ```
///
/// In a frame-based UI, poll once per frame:
///
/// ```
/// # use task_runtime::{AppError, TaskManager};
/// # let manager = TaskManager::new(1);
/// let mut task = manager.spawn(|_| Ok::<_, AppError>("loaded"));
/// loop {
///     // ... draw the frame ...
///     if let Some(result) = task.try_take() {
///         assert_eq!(result.unwrap(), "loaded");
///         break;
///     }
///     # task.wait_for(std::time::Duration::from_millis(10));
/// }
/// ```
///
/// `P` is the type of the task's items, for a task made with
/// [`task_with_items`](crate::TaskManager::task_with_items) (`()` for the others).
pub struct Task<T, P = ()> {
    cell: Arc<TaskCell<Slot<T>>>,
    /// The items are the task's feature (`crate::items`); the handle only names their type.
    items: PhantomData<fn() -> P>,
}

impl<T: Send + 'static, P: Send + 'static> Task<T, P> {
    /// The handle of a task just made.
    pub(crate) fn new(cell: Arc<TaskCell<Slot<T>>>) -> Self {
        Task {
            cell,
            items: PhantomData,
        }
    }

    /// The task: for the features that extend the handle (`take_items`).
    pub(crate) fn core(&self) -> &TaskCore {
        &self.cell.core
    }

    /// Whether the outcome was taken (`try_take`, `.await`).
    pub(crate) fn is_taken(&self) -> bool {
        self.cell.slot.is_taken()
    }

    pub(crate) fn erased(&self) -> CellRef {
        self.cell.clone()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.cell.core.id
    }

    /// The task's name (`Task-<n>` unless one was given).
    pub fn name(&self) -> &str {
        self.cell.core.name().as_str()
    }

    /// Requests cancellation; returns `false` if the task had already finished.
    ///
    /// A queued task is cancelled at once: it never starts, and its `on_cancelled` is
    /// delivered. A running task has its flag set (the body sees it through
    /// [`TaskContext::is_cancelled`](crate::TaskContext::is_cancelled)); its outcome is
    /// *cancelled* whatever the body then returns, and no progress is delivered any more.
    pub fn cancel(&self) -> bool {
        run::cancel(&self.erased()) != CancelRequest::Finished
    }

    /// Whether cancellation was requested, even if the body is still running.
    pub fn is_cancelled(&self) -> bool {
        self.cell.core.is_cancelled()
    }

    /// The task's state now.
    pub fn state(&self) -> TaskState {
        self.cell.core.state()
    }

    /// The latest progress the body reported, if any.
    pub fn progress(&self) -> Option<Progress> {
        self.cell.core.mailbox().latest_progress()
    }

    /// Whether the outcome is decided. Once it is, [`try_take`](Self::try_take) returns it.
    pub fn is_finished(&self) -> bool {
        self.state().is_terminal()
    }

    /// Blocks until the outcome is decided and returns it.
    ///
    /// Never waits for callbacks. Called on one of the manager's own worker threads for a task
    /// that is still queued, the task runs right there, so joining from inside a task cannot
    /// starve a full pool.
    ///
    /// # Errors
    ///
    /// The task's failure (`TaskError::Failed`) or cancellation (`TaskError::Cancelled`).
    /// Inside an `async` body, `.await` the task instead: `join` blocks the worker that polls
    /// the body for as long as it waits, where `.await` holds none.
    ///
    /// Called from the task's own body (or from a task it runs nested), where waiting would
    /// never end, it returns at once with `TaskError::Failed` and code
    /// [`ERR_SELF_JOIN`](crate::codes::ERR_SELF_JOIN); the task itself goes on.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use task_runtime::{codes, AppError, Task, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let own: Arc<Mutex<Option<Task<u32>>>> = Arc::default();
    /// let slot = own.clone();
    /// let (started, go) = std::sync::mpsc::channel::<()>();
    /// let task = manager.spawn(move |_| {
    ///     go.recv().unwrap();
    ///     let me = slot.lock().unwrap().take().unwrap();
    ///     let err = me.join().unwrap_err().into_app_error();
    ///     assert_eq!(err.code(), codes::ERR_SELF_JOIN);
    ///     Ok::<_, AppError>(7)
    /// });
    /// *own.lock().unwrap() = Some(task);
    /// started.send(()).unwrap();
    /// assert!(manager.wait_for_all(std::time::Duration::from_secs(10)));
    /// ```
    ///
    /// # Panics
    ///
    /// If the result was already taken with [`try_take`](Self::try_take) or by awaiting.
    pub fn join(self) -> Result<T, TaskError> {
        if let Some(waits_for_itself) = self.self_join() {
            return Err(waits_for_itself);
        }
        run::help_if_worker(&self.erased());
        spin_briefly(|| self.is_finished());
        self.cell.slot.join()
    }

    /// Waits at most `timeout` for the outcome; returns whether it is decided.
    ///
    /// Every timeout is accepted: `Duration::MAX` waits for as long as it takes. Unlike
    /// [`join`](Self::join), it never runs a queued task inline on a worker thread, so it
    /// returns by its deadline however long the task would take. Called from the task's own
    /// body, it returns `false` at once: the task cannot finish while it waits for itself.
    ///
    /// On a [`manual`](crate::TaskManagerBuilder::manual) manager, which has no worker, it
    /// runs the task (and, while an `async` body waits, the manager's other queued work) on
    /// the calling thread first, as `join` does, and panics when nothing queued can wake the
    /// body: only advancing a [`TestClock`](crate::TestClock) could.
    #[must_use = "wait_for returns false when the task did not finish in time"]
    pub fn wait_for(&self, timeout: Duration) -> bool {
        if self.self_join().is_some() {
            return false;
        }
        if self.cell.core.host.is_manual() {
            run::help_if_worker(&self.erased());
        }
        let deadline = deadline_after(timeout);
        spin_briefly(|| self.is_finished());
        self.cell.slot.wait(deadline)
    }

    /// Takes the outcome if it is decided, without blocking. Returns `Some` once; later calls
    /// return `None`.
    #[must_use = "the outcome is taken: ignoring it loses the value or the error"]
    pub fn try_take(&mut self) -> Option<Result<T, TaskError>> {
        self.cell.slot.try_take()
    }
}

impl<T, P> Task<T, P> {
    /// The answer to a wait for this task from inside its own body (or a body nested in it):
    /// an error at once, since the wait would never end.
    fn self_join(&self) -> Option<TaskError> {
        let core = &self.cell.core;
        if core.state().is_terminal() || !context::is_running_here(core.id) {
            return None;
        }
        Some(TaskError::Failed(AppError::self_join(core.name().as_str())))
    }
}

impl<T, P> fmt::Debug for Task<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.cell.core.id)
            .field("name", &self.cell.core.name().as_str())
            .field("state", &self.cell.core.state())
            .finish()
    }
}

/// Resolves to the outcome once it is decided; the waker is woken exactly then. Polled from
/// the task's own body (a wait that could never end), it resolves at once to
/// `TaskError::Failed` with code [`ERR_SELF_JOIN`](crate::codes::ERR_SELF_JOIN).
///
/// ```
/// use task_runtime::{AppError, TaskManager};
///
/// let manager = TaskManager::new(1);
/// let task = manager.spawn(|_| Ok::<_, AppError>(1 + 1));
/// assert_eq!(futures::executor::block_on(task).unwrap(), 2);
/// ```
impl<T: Send + 'static, P> Future for Task<T, P> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(waits_for_itself) = self.self_join() {
            return Poll::Ready(Err(waits_for_itself));
        }
        match self.cell.slot.poll(cx.waker()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

impl<T, P> Drop for Task<T, P> {
    fn drop(&mut self) {
        // Detach: the task keeps running; a value nobody can read any more is dropped now,
        // on the thread that dropped the handle.
        drop(self.cell.slot.detach(&self.cell.core));
    }
}
