//! [`TaskContext`]: what a running body uses to see cancellation and report progress.

use std::cell::RefCell;
use std::fmt;

use crate::task::cell::CellRef;
use crate::{Cancelled, TaskId};

/// Handed to every task body: the task's identity, its cancellation flag, and progress
/// reporting.
///
/// Cheap to clone; a clone may be moved to helper threads the body starts. The context of the
/// task running on the current thread is also available from anywhere below the body with
/// [`current()`].
///
/// # Examples
///
/// ```
/// use task_runtime::{AppError, TaskManager};
///
/// let manager = TaskManager::new(1);
/// let task = manager.spawn(|ctx| {
///     let lines = ["a", "b", "c"];
///     for (i, line) in lines.iter().enumerate() {
///         ctx.check_cancelled()?; // stop early with `?` when cancelled
///         ctx.report_progress(i as u64 + 1, lines.len() as u64, format!("line {line}"));
///     }
///     Ok::<_, AppError>(lines.len())
/// });
/// assert_eq!(task.join().unwrap(), 3);
/// ```
#[derive(Clone)]
pub struct TaskContext {
    cell: CellRef,
}

impl TaskContext {
    pub(crate) fn new(cell: CellRef) -> Self {
        TaskContext { cell }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.cell.core.id
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        self.cell.core.name.as_str()
    }

    /// Whether cancellation was requested. A body that checks it regularly stops early; its
    /// outcome is *cancelled* whatever it returns.
    pub fn is_cancelled(&self) -> bool {
        self.cell.core.is_cancelled()
    }

    /// `Err(Cancelled)` once cancellation was requested, for use with `?`
    /// ([`Cancelled`] converts into [`AppError`](crate::AppError)).
    pub fn check_cancelled(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reports progress with a message. Deliveries are coalesced: however often this is
    /// called, at most one `on_progress` delivery per task is pending, carrying the latest
    /// value. After cancellation, progress is recorded but no longer delivered.
    pub fn report_progress(&self, current: u64, total: u64, message: impl Into<String>) {
        self.update_progress(current, total, Some(message.into()));
    }

    /// Reports progress without a message (the last message given stays): the cheapest form,
    /// fit for tight loops.
    pub fn set_progress(&self, current: u64, total: u64) {
        self.update_progress(current, total, None);
    }

    fn update_progress(&self, current: u64, total: u64, message: Option<String>) {
        self.cell.core.delivery.report(&self.cell, |progress| {
            progress.current = current;
            progress.total = total;
            if let Some(message) = message {
                progress.message = message;
            }
        });
    }
}

impl fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskContext")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<TaskContext>> = const { RefCell::new(None) };
}

/// The context of the task whose body is running on this thread, if any.
///
/// Lets code deep below a body check cancellation or report progress without threading a
/// `&TaskContext` through every call.
///
/// ```
/// use task_runtime::{current, AppError, TaskManager};
///
/// fn deep_helper() -> Result<(), AppError> {
///     if let Some(ctx) = current() {
///         ctx.check_cancelled()?;
///         ctx.set_progress(1, 2);
///     }
///     Ok(())
/// }
///
/// assert!(current().is_none()); // not inside a task here
/// let manager = TaskManager::new(1);
/// manager.spawn(|_ctx| deep_helper()).join().unwrap();
/// ```
pub fn current() -> Option<TaskContext> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Marks a body as running on this thread for the guard's lifetime; restores what was there
/// before (a worker that joins a queued task runs it nested inside its own body).
pub(crate) struct CurrentTask {
    previous: Option<TaskContext>,
}

impl CurrentTask {
    pub(crate) fn enter(ctx: &TaskContext) -> Self {
        let previous = CURRENT.with(|current| current.replace(Some(ctx.clone())));
        CurrentTask { previous }
    }
}

impl Drop for CurrentTask {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// What a thread is doing for a manager right now, for waits that must not count it: a
/// thread cannot wait for the task it is running, nor for the delivery it is in the middle of.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// Running a task: from its start until its outcome is decided (its `on_started` and
    /// progress callbacks on the worker, and its body).
    Running,
    /// Delivering a task's callbacks through a queued dispatcher (an event loop, `from_fn`).
    Delivering,
}

thread_local! {
    /// (manager address, what) for every piece of work in progress on this thread, nested.
    static BUSY: RefCell<Vec<(usize, Busy)>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread busy for `manager` until the guard is dropped.
pub(crate) fn busy(manager: &crate::manager::ManagerCore, what: Busy) -> BusyGuard {
    let key = (std::ptr::from_ref(manager) as usize, what);
    BUSY.with(|busy| busy.borrow_mut().push(key));
    BusyGuard { key }
}

/// How many pieces of work of this kind this thread has in progress for `manager`.
pub(crate) fn busy_here(manager: &crate::manager::ManagerCore, what: Busy) -> usize {
    let key = (std::ptr::from_ref(manager) as usize, what);
    BUSY.with(|busy| busy.borrow().iter().filter(|k| **k == key).count())
}

/// Ends a [`busy`] mark.
pub(crate) struct BusyGuard {
    key: (usize, Busy),
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        // Guards nest, so this one's mark is the last of its key.
        let _ = BUSY.try_with(|busy| {
            let mut busy = busy.borrow_mut();
            if let Some(at) = busy.iter().rposition(|k| *k == self.key) {
                busy.remove(at);
            }
        });
    }
}
