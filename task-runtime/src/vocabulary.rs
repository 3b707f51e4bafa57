//! The words every layer shares: which task ([`TaskId`], [`TaskInfo`]), where it is in its
//! life ([`TaskState`]), how it ended ([`Outcome`]) and how it treats others of its name
//! ([`Exclusive`]).
//!
//! Plain values only: nothing here knows how a task runs, so the mechanisms below the task
//! (the display, the signals) and the task and manager above them can all speak of tasks
//! without reaching into one another.

use std::fmt;

use crate::error::AppError;

#[cfg(not(loom))]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;

/// Identifies a task; unique within the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(u64);

#[cfg(not(loom))]
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

// Ids pick registry shards, so a loom model must see the same ids in every execution.
#[cfg(loom)]
loom::lazy_static! {
    static ref NEXT_ID: loom::sync::atomic::AtomicU64 = loom::sync::atomic::AtomicU64::new(1);
}

impl TaskId {
    /// A new id, never handed out before. Tasks and shown scopes draw from the same counter.
    pub(crate) fn next() -> Self {
        TaskId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// A fixed id, for unit tests that need no fresh one.
    #[cfg(test)]
    pub(crate) fn for_tests(id: u64) -> Self {
        TaskId(id)
    }

    /// The id as a number (ids grow in submission order).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which task a signal or a progress display call is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
}

/// Why a task was asked to stop: [`TaskContext::cancel_reason`](crate::TaskContext::cancel_reason).
///
/// ```
/// use std::sync::mpsc;
/// use task_runtime::{AppError, CancelReason, TaskManager};
///
/// let manager = TaskManager::new(1);
/// let panel = manager.scope(); // owned by a window
/// let (started, ready) = mpsc::channel();
/// let (why, reason) = mpsc::channel();
/// panel.spawn(move |ctx| {
///     started.send(()).unwrap();
///     while ctx.cancel_reason().is_none() {
///         std::thread::yield_now(); // ... work ...
///     }
///     why.send(ctx.cancel_reason()).unwrap();
///     Ok::<_, AppError>(())
/// });
/// ready.recv().unwrap();
/// drop(panel); // the window closed
/// assert_eq!(reason.recv().unwrap(), Some(CancelReason::ScopeClosed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelReason {
    /// `cancel()` on the task, `cancel`/`cancel_task`/`cancel_all` on the manager, a scope's
    /// `cancel()`, or a dropped [`CancelOnDrop`](crate::CancelOnDrop).
    Requested,
    /// Its scope (or an ancestor, or the scope of the body that started it) was dropped.
    ScopeClosed,
    /// Its deadline passed (`timeout`): its outcome is a timeout.
    Deadline,
    /// A newer task of its name replaced it (`Exclusive::CancelPrevious`), or one of its
    /// name was active when it started (`Exclusive::SkipIfActive`).
    Superseded,
    /// Its manager shut down (or was dropped).
    Shutdown,
    /// Part of its own work failed, an item of a [`map`](crate::TaskManager::map) or
    /// [`for_each`](crate::TaskManager::for_each): its outcome is that failure, and the
    /// items still running see the task cancelled.
    Failed,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting for a worker thread.
    Queued,
    /// The body is running (cancellation may have been requested; see
    /// [`Task::is_cancelled`](crate::Task::is_cancelled)).
    Running,
    /// The body returned a value.
    Completed,
    /// The body returned an error or panicked.
    Failed,
    /// The task was cancelled before or while it ran.
    Cancelled,
}

impl TaskState {
    /// Whether the outcome is decided (completed, failed or cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Cancelled
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Completed => "completed",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        })
    }
}

/// How a task ended, as a [`ProgressDisplay`](crate::ProgressDisplay) sees it.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The body returned a value.
    Completed,
    /// The body returned an error or panicked.
    Failed(AppError),
    /// The task was cancelled before or while it ran.
    Cancelled,
}

impl Outcome {
    /// The terminal state this outcome is.
    pub(crate) fn state(&self) -> TaskState {
        match self {
            Outcome::Completed => TaskState::Completed,
            Outcome::Failed(_) => TaskState::Failed,
            Outcome::Cancelled => TaskState::Cancelled,
        }
    }
}

/// `done`, `failed: <the error's user message>` or `cancelled`: what a display shows.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed => f.write_str("done"),
            Outcome::Failed(error) => write!(f, "failed: {}", error.user_message()),
            Outcome::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What to do when a task of the same name is already active. Keyed by task name.
///
/// ```
/// use task_runtime::{AppError, Exclusive, TaskManager};
///
/// let manager = TaskManager::new(2);
/// // A search box: every keystroke starts a search; only the latest one reports back.
/// for query in ["r", "ru", "rus", "rust"] {
///     manager
///         .task(move |_ctx| Ok::<_, AppError>(format!("results for {query}")))
///         .name("search")
///         .exclusive(Exclusive::CancelPrevious)
///         .on_complete(|results| println!("{results}"))
///         .start();
/// }
/// # assert!(manager.wait_for_all(std::time::Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exclusive {
    /// "Latest wins": earlier tasks of the name are cancelled if still active, and none of
    /// their callbacks that have not run yet will run (even if their body already finished).
    /// Their outcome stays observable through their handles and the manager's signals.
    CancelPrevious,
    /// This task is cancelled at once (it never runs) if a task of the name is active.
    SkipIfActive,
}
