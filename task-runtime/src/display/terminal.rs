//! [`TerminalProgress`]: one progress bar per task on stderr, drawn with indicatif.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ProgressDisplay;
use crate::progress::Progress;
use crate::sync::lock;
use crate::vocabulary::{Outcome, TaskId, TaskInfo};

const BAR: &str =
    "{spinner:.green} {prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed})";
/// For a `total` of 0 ("unknown"): no bar, no count.
const SPINNER: &str = "{spinner:.green} {prefix:.bold} {msg} ({elapsed})";

/// Progress bars on stderr, one per running task, in an indicatif `MultiProgress`: the
/// task's name, a bar, `current/total`, the message and the elapsed time; a spinner instead
/// of the bar while `total` is 0. When a task ends its bar gives way to a line above the
/// others: `<name>: done`, `<name>: failed: <user message>` or `<name>: cancelled`, with the
/// time it took.
///
/// The default display of a manager whose stderr is a terminal (feature `terminal`, on by
/// default). Nothing is drawn when stderr is not a terminal. Redraws and elapsed times
/// follow the wall clock, never a [`TestClock`](crate::TestClock): a test that checks what
/// is shown gives the manager a [`LogProgress`](crate::LogProgress) on its clock, or a
/// display of its own, which no timer throttles.
///
/// ```
/// use task_runtime::{TaskManager, TerminalProgress};
///
/// let manager = TaskManager::builder()
///     .progress_display(TerminalProgress::new())
///     .build()
///     .unwrap();
/// ```
pub struct TerminalProgress {
    bars: MultiProgress,
    by_task: Mutex<HashMap<TaskId, ProgressBar>>,
}

impl TerminalProgress {
    /// Draws on stderr (at most 20 times a second).
    pub fn new() -> Self {
        Self::with_draw_target(ProgressDrawTarget::stderr())
    }

    /// Draws on `target`: another stream, a hidden target, or an in-memory terminal in tests
    /// (indicatif's `InMemoryTerm`). The indicatif version is the one re-exported as
    /// [`task_runtime::indicatif`](crate::indicatif).
    pub fn with_draw_target(target: ProgressDrawTarget) -> Self {
        TerminalProgress {
            bars: MultiProgress::with_draw_target(target),
            by_task: Mutex::new(HashMap::new()),
        }
    }

    /// The `MultiProgress` the task bars are drawn in: add bars or status lines of your own
    /// next to them (keep the display in an `Arc` and hand the manager a clone; `Arc`s of a
    /// display are displays).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use task_runtime::indicatif::ProgressBar;
    /// use task_runtime::{TaskManager, TerminalProgress};
    ///
    /// let display = Arc::new(TerminalProgress::new());
    /// let manager = TaskManager::builder()
    ///     .progress_display(display.clone())
    ///     .build()
    ///     .unwrap();
    /// let status = display.multi().add(ProgressBar::new_spinner());
    /// status.set_message("ready");
    /// ```
    pub fn multi(&self) -> &MultiProgress {
        &self.bars
    }

    fn by_task(&self) -> MutexGuard<'_, HashMap<TaskId, ProgressBar>> {
        lock(&self.by_task)
    }

    fn style(template: &str) -> ProgressStyle {
        // The templates are constants: they parse, which the tests check.
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    fn new_bar(&self, task: &TaskInfo) -> ProgressBar {
        let bar = self
            .bars
            .add(ProgressBar::new(0).with_style(Self::style(SPINNER)));
        bar.set_prefix(task.name.clone());
        bar
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TerminalProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalProgress")
            .field("bars", &self.by_task().len())
            .finish()
    }
}

impl ProgressDisplay for TerminalProgress {
    fn task_started(&self, task: &TaskInfo) {
        let bar = self.new_bar(task);
        bar.tick();
        self.by_task().insert(task.id, bar);
    }

    fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
        let bar = self.by_task().get(&task.id).cloned();
        let Some(bar) = bar else { return };
        let was_spinner = bar.length() == Some(0);
        let is_spinner = progress.total == 0;
        if was_spinner != is_spinner {
            bar.set_style(Self::style(if is_spinner { SPINNER } else { BAR }));
        }
        bar.set_length(progress.total);
        bar.set_position(progress.current);
        bar.set_message(progress.message.clone());
        if is_spinner {
            bar.tick();
        }
    }

    /// Beside the task's name: "search (42 items)".
    fn task_items(&self, task: &TaskInfo, count: u64) {
        let bar = self.by_task().get(&task.id).cloned();
        if let Some(bar) = bar {
            let unit = if count == 1 { "item" } else { "items" };
            bar.set_prefix(format!("{} ({count} {unit})", task.name));
        }
    }

    fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
        // A task cancelled before it started has no bar yet: its line is still printed.
        let bar = self.by_task().remove(&task.id);
        let elapsed = bar.as_ref().map(ProgressBar::elapsed);
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.bars.remove(&bar);
        }
        let line = match elapsed {
            Some(elapsed) => format!("{}: {outcome} ({:.1?})", task.name, elapsed),
            None => format!("{}: {outcome}", task.name),
        };
        // Fails only when the terminal is gone; a display has nobody to tell.
        let _ = self.bars.println(line);
    }
}
