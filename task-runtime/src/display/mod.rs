//! Progress displays: what `show_progress(true)` shows.
//!
//! A manager has one [`ProgressDisplay`]. Tasks started with
//! [`show_progress(true)`](crate::TaskBuilder::show_progress) (or the macros' `show_progress`
//! key; `#[async_method]` turns it on by default) report to it: started, progress, finished.
//! Two come with the crate: [`TerminalProgress`] (progress bars on stderr, feature
//! `terminal`) and [`LogProgress`] (`tracing` events). A manager uses `TerminalProgress` when
//! stderr is a terminal and `LogProgress` otherwise, unless
//! [`TaskManagerBuilder::progress_display`](crate::TaskManagerBuilder::progress_display)
//! sets another.
//!
//! Display calls are made by one thread of the manager's own, started with the first shown
//! task and stopped with the manager, so a slow display (a terminal that blocks, a lock)
//! never holds up a worker. Progress is coalesced per task as for `on_progress`: however
//! often a body reports, at most one progress call per task is pending, with the latest
//! value. A display that panics is reported to the error handler
//! ([`codes::ERR_CALLBACK_PANICKED`](crate::codes::ERR_CALLBACK_PANICKED)) and switched off:
//! it gets no more calls.

mod log;
mod pump;
#[cfg(feature = "terminal")]
mod terminal;

use std::sync::Arc;

use crate::clock::TestClock;

pub use self::log::LogProgress;
pub(crate) use pump::{DisplayPump, Shown};
#[cfg(feature = "terminal")]
pub use terminal::TerminalProgress;

use crate::progress::Progress;
use crate::vocabulary::{Outcome, TaskInfo};

/// Shows the progress of the tasks started with `show_progress(true)`
/// (Python: the `show_progress` flag).
///
/// For each such task, calls come in order: `task_started` once the body starts,
/// `task_progress` for reports (coalesced: the latest value, never a backlog), then exactly
/// one `task_finished`. A task cancelled before it started gets `task_finished` only. Calls
/// come from one thread at a time (the manager's display thread), never from a worker.
///
/// # Examples
///
/// A display that counts finished tasks:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use task_runtime::{AppError, Outcome, Progress, ProgressDisplay, TaskInfo, TaskManager};
///
/// #[derive(Default)]
/// struct Counter(Arc<AtomicUsize>);
///
/// impl ProgressDisplay for Counter {
///     fn task_started(&self, task: &TaskInfo) {
///         println!("{} started", task.name);
///     }
///     fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
///         println!("{}: {progress}", task.name);
///     }
///     fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
///         println!("{}: {outcome}", task.name);
///         self.0.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// let finished = Arc::new(AtomicUsize::new(0));
/// let manager = TaskManager::builder()
///     .progress_display(Counter(finished.clone()))
///     .build()
///     .unwrap();
/// manager
///     .task(|ctx| {
///         ctx.report_progress(1, 2, "halfway");
///         Ok::<_, AppError>(())
///     })
///     .name("shown")
///     .show_progress(true)
///     .start();
/// manager.spawn(|_| Ok::<_, AppError>(())); // not shown
///
/// # let deadline = std::time::Instant::now() + Duration::from_secs(10);
/// while finished.load(Ordering::SeqCst) == 0 {
///     # assert!(std::time::Instant::now() < deadline);
///     std::thread::sleep(Duration::from_millis(1));
/// }
/// assert_eq!(finished.load(Ordering::SeqCst), 1);
/// ```
pub trait ProgressDisplay: Send + Sync + 'static {
    /// The task's body started.
    fn task_started(&self, task: &TaskInfo);
    /// The task reported progress (the latest value since the previous call).
    fn task_progress(&self, task: &TaskInfo, progress: &Progress);
    /// The task ended; its outcome.
    fn task_finished(&self, task: &TaskInfo, outcome: &Outcome);
    /// The task has published `count` items so far (tasks made with
    /// [`task_with_items`](crate::TaskManager::task_with_items)); throttled like progress.
    /// Does nothing unless the display shows counts ([`TerminalProgress`] does).
    fn task_items(&self, task: &TaskInfo, count: u64) {
        let _ = (task, count);
    }
    /// Somebody waits until what the display was told is shown (a scope's
    /// [`wait`](crate::ScopeHandle::wait)): draw it now, everything before this call
    /// included. The default does nothing, for displays that show each call at once.
    /// [`TerminalProgress`] draws its bars and prints every bar that reached its total as a
    /// line of its own, so that the program's next output starts on a line of its own.
    fn flush(&self) {}
}

/// The display of a manager built without one: bars when stderr is a terminal, `tracing`
/// events otherwise; on a test clock always the events, counted on that clock (a test then
/// behaves the same run from a terminal as in CI, and indicatif's redraws and elapsed times
/// follow the wall clock).
pub(crate) fn default_display(clock: Option<&TestClock>) -> Arc<dyn ProgressDisplay> {
    if let Some(clock) = clock {
        return Arc::new(LogProgress::new().with_clock(clock.clone()));
    }
    #[cfg(feature = "terminal")]
    {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            return Arc::new(TerminalProgress::new());
        }
    }
    Arc::new(LogProgress::new())
}

impl<D: ProgressDisplay + ?Sized> ProgressDisplay for Arc<D> {
    fn task_started(&self, task: &TaskInfo) {
        (**self).task_started(task);
    }
    fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
        (**self).task_progress(task, progress);
    }
    fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
        (**self).task_finished(task, outcome);
    }
    fn task_items(&self, task: &TaskInfo, count: u64) {
        (**self).task_items(task, count);
    }
    fn flush(&self) {
        (**self).flush();
    }
}
