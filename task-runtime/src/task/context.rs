//! [`TaskContext`]: what a running body uses to see cancellation and report progress.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Weak;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::cell::CellRef;
use super::delivery;
use crate::error::Cancelled;
use crate::host::BodyScope;
use crate::sync::atomic::{fence, Ordering};
use crate::sync::thread_local;
use crate::sync::{lock, Mutex};
use crate::task::admit::TaskHost;
use crate::vocabulary::CancelReason;
use crate::vocabulary::TaskId;

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

    /// The running task.
    pub(crate) fn cell(&self) -> &CellRef {
        &self.cell
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.cell.core.id
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        self.cell.core.name().as_str()
    }

    /// Whether cancellation was requested. A body that checks it regularly stops early; its
    /// outcome is *cancelled* whatever it returns.
    pub fn is_cancelled(&self) -> bool {
        self.cell.core.is_cancelled()
    }

    /// Why the task was asked to stop, once it was: a cancel, its scope closing, its
    /// deadline, a newer task of its name, or its manager shutting down (the first request's
    /// reason). `None` while it goes on. See [`CancelReason`] for an example.
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        self.cell.core.cancel_reason()
    }

    /// Ready once the task is asked to stop (a cancel, its scope, its deadline, a newer task of
    /// its name, shutdown): for code that waits on something else meanwhile, such as a
    /// blocking body driving a future with `block_on` and `select`, or work handed to another
    /// runtime that must end with the task. (An `async` body needs none of this to stop: its
    /// future is simply not polled again.)
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let (started, ready) = std::sync::mpsc::channel();
    /// let task = manager.spawn(move |ctx| {
    ///     started.send(()).unwrap();
    ///     futures::executor::block_on(ctx.cancelled()); // a blocking body, waiting
    ///     Ok::<_, AppError>("stopped")
    /// });
    /// ready.recv().unwrap();
    /// task.cancel();
    /// assert!(task.join().unwrap_err().is_cancelled());
    /// ```
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        CancelledFuture {
            cell: self.cell.clone(),
            waiter: None,
        }
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

    /// In an `async` body: waits `duration` on the manager's clock, holding no worker. On a
    /// [`TestClock`](crate::TestClock) it ends when the test advances the clock past it (on a
    /// `manual()` manager, the next `run_all` then polls the body), so a debounce or a retry
    /// delay is tested without a real wait. `Duration::MAX` never ends (the body waits for
    /// its cancel). A cancel ends the task at once, sleeping or not.
    ///
    /// The time is counted from this call, not from the first poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use task_runtime::{AppError, TaskManager, TestClock};
    ///
    /// // A search box that waits for the typing to pause before it searches.
    /// let clock = TestClock::new();
    /// let manager = TaskManager::builder().manual().clock(clock.clone()).build().unwrap();
    /// let search = manager.spawn_async(|ctx| async move {
    ///     ctx.sleep(Duration::from_millis(300)).await; // the debounce
    ///     Ok::<_, AppError>(format!("results for {}", "rust"))
    /// });
    /// manager.run_all();
    /// assert!(!search.is_finished(), "still debouncing");
    /// clock.advance(Duration::from_millis(300));
    /// manager.run_all();
    /// assert_eq!(search.join().unwrap(), "results for rust");
    /// ```
    pub fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        let host = Arc::clone(&self.cell.core.host);
        let at = u64::try_from(duration.as_nanos())
            .ok()
            .and_then(|nanos| host.since_epoch().checked_add(nanos))
            .unwrap_or(u64::MAX);
        let mut registered: Option<Waker> = None;
        std::future::poll_fn(move |cx| {
            if at != u64::MAX && host.since_epoch() >= at {
                return Poll::Ready(());
            }
            let fresh = registered
                .as_ref()
                .is_none_or(|waker| !waker.will_wake(cx.waker()));
            if fresh {
                if let Some(admission) = host.admission() {
                    admission.wake_at(at, cx.waker().clone());
                }
                registered = Some(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// In an `async` body: lets the manager's other work run, then goes on. The task queues
    /// again behind the woken bodies of its priority (still ahead of never-started tasks);
    /// a cancel requested meanwhile lands here, as at every `.await` that waits.
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let sum = manager.spawn_async(|ctx| async move {
    ///     let mut sum = 0u64;
    ///     for chunk in 0..100u64 {
    ///         sum += chunk; // a slice of CPU work...
    ///         ctx.yield_now().await; // ...then the worker is free for a moment
    ///     }
    ///     Ok::<_, AppError>(sum)
    /// });
    /// assert_eq!(sum.join().unwrap(), 4950);
    /// ```
    pub fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut yielded = false;
        std::future::poll_fn(move |cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
    }

    fn update_progress(&self, current: u64, total: u64, message: Option<String>) {
        delivery::report(&self.cell, |progress| {
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

// Loom's under `cfg(loom)`, whose model threads share one OS thread. (Not `const { .. }`:
// loom's `thread_local!` takes no const block.)
thread_local! {
    /// The tasks running on this thread, innermost last (a worker that joins a queued task
    /// runs it nested inside its own).
    #[allow(clippy::missing_const_for_thread_local)]
    static RUNNING: RefCell<Vec<TaskContext>> = RefCell::new(Vec::new());
}

/// [`TaskContext::cancelled`]: listed with the host as something that ends with the task's
/// stop request (beside the scopes its body made), and unlisted when dropped.
struct CancelledFuture {
    cell: CellRef,
    waiter: Option<Arc<StopWaiter>>,
}

/// The waker of a [`CancelledFuture`], woken by the task's stop request.
struct StopWaiter(Mutex<Option<Waker>>);

impl BodyScope for StopWaiter {
    fn shut(&self) -> usize {
        if let Some(waker) = lock(&self.0).take() {
            waker.wake();
        }
        0
    }
}

impl Future for CancelledFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let core = &self.cell.core;
        if core.is_cancelled() {
            return Poll::Ready(());
        }
        if let Some(waiter) = &self.waiter {
            let mut waker = lock(&waiter.0);
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            drop(waker);
            // A stop request that took the waker before it was replaced.
            return if core.is_cancelled() {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        let waiter = Arc::new(StopWaiter(Mutex::new(Some(cx.waker().clone()))));
        let listed: Weak<dyn BodyScope> = Arc::downgrade(&waiter) as Weak<dyn BodyScope>;
        core.host.body_scopes().add(core.id, listed);
        fence(Ordering::SeqCst); // pairs with the one in `BodyScopes::stop`
        let cancelled = core.is_cancelled();
        self.waiter = Some(waiter);
        if cancelled {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for CancelledFuture {
    fn drop(&mut self) {
        if let Some(waiter) = &self.waiter {
            let at: *const StopWaiter = Arc::as_ptr(waiter);
            self.cell
                .core
                .host
                .body_scopes()
                .remove(self.cell.core.id, at.cast());
        }
    }
}

/// The context of the task running on this thread, if any: inside its body, and inside the
/// callbacks that run inline on the worker while it runs (`on_started`, `on_progress` with the
/// worker-thread dispatcher).
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
    RUNNING.with(|running| running.borrow().last().cloned())
}

/// Marks a task as running on this thread for the guard's lifetime, from its start until its
/// outcome is decided.
pub(crate) struct CurrentTask(());

impl CurrentTask {
    pub(crate) fn enter(cell: &CellRef) -> Self {
        RUNNING.with(|running| running.borrow_mut().push(TaskContext::new(cell.clone())));
        CurrentTask(())
    }
}

impl Drop for CurrentTask {
    fn drop(&mut self) {
        // Guards nest, so this one's task is the last.
        let _ = RUNNING.try_with(|running| running.borrow_mut().pop());
    }
}

/// Whether task `id` is running on this thread: in its body, its worker-side callbacks, or a
/// body nested inside them (joined inline). Waiting for it here would wait forever.
pub(crate) fn is_running_here(id: TaskId) -> bool {
    RUNNING.with(|running| running.borrow().iter().any(|ctx| ctx.id() == id))
}

fn address(host: &TaskHost) -> usize {
    std::ptr::from_ref(host) as usize
}

/// How many tasks of `host` this thread is running (nested ones included): a shutdown from
/// here cannot wait for them.
pub(crate) fn running_here(host: &TaskHost) -> usize {
    let host = address(host);
    RUNNING.with(|running| {
        running
            .borrow()
            .iter()
            .filter(|ctx| address(&ctx.cell.core.host) == host)
            .count()
    })
}

/// How many of the tasks running on this thread (nested ones included) `which` picks: a wait
/// from here cannot wait for them.
pub(crate) fn count_running_here(mut which: impl FnMut(&CellRef) -> bool) -> usize {
    RUNNING.with(|running| {
        running
            .borrow()
            .iter()
            .filter(|ctx| which(&ctx.cell))
            .count()
    })
}
