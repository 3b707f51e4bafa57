//! [`LogProgress`]: progress as `tracing` events.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ProgressDisplay;
use crate::clock::TestClock;
use crate::progress::Progress;
use crate::sync::lock;
use crate::vocabulary::{Outcome, TaskId, TaskInfo};

/// Shows progress as `tracing` events (target `task_runtime::progress`): one when a task
/// starts, at most one progress event per task per interval (a second by default), and one
/// when it finishes (`warn` for a failure, `info` otherwise).
///
/// The default display of a manager whose stderr is not a terminal: services, CI logs,
/// anything with a `tracing` subscriber.
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{LogProgress, TaskManager};
///
/// let manager = TaskManager::builder()
///     .progress_display(LogProgress::with_interval(Duration::from_secs(5)))
///     .build()
///     .unwrap();
/// ```
#[derive(Debug)]
pub struct LogProgress {
    interval: Duration,
    /// A test's clock, if one was given: the interval is counted on it.
    clock: Option<TestClock>,
    /// When each running task last logged progress.
    last_logged: Mutex<HashMap<TaskId, Instant>>,
}

impl LogProgress {
    /// At most one progress event per task per second.
    pub fn new() -> Self {
        Self::with_interval(Duration::from_secs(1))
    }

    /// At most one progress event per task per `interval`.
    pub fn with_interval(interval: Duration) -> Self {
        LogProgress {
            interval,
            clock: None,
            last_logged: Mutex::new(HashMap::new()),
        }
    }

    /// Counts the interval on `clock` (a test's) instead of the system's: one progress event
    /// per task per `interval` the test advances the clock. A manager built with
    /// [`TaskManagerBuilder::clock`](crate::TaskManagerBuilder::clock) and no display of
    /// its own gives its default `LogProgress` the clock itself.
    ///
    /// ```
    /// use task_runtime::{LogProgress, TaskManager, TestClock};
    ///
    /// let clock = TestClock::new();
    /// let manager = TaskManager::builder()
    ///     .clock(clock.clone())
    ///     .progress_display(LogProgress::new().with_clock(clock))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn with_clock(mut self, clock: TestClock) -> Self {
        self.clock = Some(clock);
        self
    }

    fn now(&self) -> Instant {
        self.clock
            .as_ref()
            .map_or_else(Instant::now, TestClock::now)
    }

    fn last_logged(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, Instant>> {
        lock(&self.last_logged)
    }
}

impl Default for LogProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressDisplay for LogProgress {
    fn task_started(&self, task: &TaskInfo) {
        tracing::info!(
            target: "task_runtime::progress",
            task = %task.name,
            id = task.id.as_u64(),
            "{}: started",
            task.name
        );
    }

    fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
        let now = self.now();
        let due = match self.last_logged().entry(task.id) {
            std::collections::hash_map::Entry::Occupied(mut last) => {
                let due = now.duration_since(*last.get()) >= self.interval;
                if due {
                    last.insert(now);
                }
                due
            }
            std::collections::hash_map::Entry::Vacant(first) => {
                first.insert(now);
                true
            }
        };
        if due {
            tracing::info!(
                target: "task_runtime::progress",
                task = %task.name,
                id = task.id.as_u64(),
                current = progress.current,
                total = progress.total,
                "{}: {progress}",
                task.name
            );
        }
    }

    fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
        self.last_logged().remove(&task.id);
        match outcome {
            Outcome::Failed(error) => tracing::warn!(
                target: "task_runtime::progress",
                task = %task.name,
                id = task.id.as_u64(),
                code = error.code(),
                "{}: {outcome}",
                task.name
            ),
            Outcome::Completed | Outcome::Cancelled => tracing::info!(
                target: "task_runtime::progress",
                task = %task.name,
                id = task.id.as_u64(),
                "{}: {outcome}",
                task.name
            ),
        }
    }
}
