//! [`TerminalProgress`]: one progress bar per task on stderr, drawn with indicatif.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
/// time it took and, after a task that was done or cancelled, its last message (a shown
/// scope's counts: `hash: done (2.0s) · 512 of 1024 units, 18 completed, 0 failed, 2
/// cancelled`).
///
/// A flush ([`ProgressDisplay::flush`], which a shown scope's
/// [`wait`](crate::ScopeHandle::wait) asks for before it returns) draws every bar as it stands
/// and prints each bar that reached its total as a line of its own (`<name>: 20/20 · <message>
/// (<time>)`), so the program's next output starts on a fresh line; a bar printed that way
/// comes back if its task reports again. Dropping the display leaves each bar still shown
/// drawn as it last stood. While bars are shown, write to the terminal through
/// [`multi`](Self::multi)`().println(..)` or `suspend(..)`, as with any indicatif bars.
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
    by_task: Mutex<HashMap<TaskId, Shown>>,
}

/// A task as the terminal shows it.
struct Shown {
    /// Its bar, or `None` while it is printed as a line (a flush printed it at its total).
    bar: Option<ProgressBar>,
    /// What the line printed by a flush showed: the same progress again draws no new bar.
    printed: Option<Progress>,
    /// When it started, for the elapsed time of a bar drawn again.
    since: Instant,
}

impl Shown {
    /// Prints the bar as a line of its own if it reached its total; draws it otherwise.
    fn settle(&mut self, bars: &MultiProgress) {
        let Some(bar) = &self.bar else { return };
        let (position, length) = (bar.position(), bar.length().unwrap_or(0));
        if length == 0 || position < length {
            bar.force_draw();
            return;
        }
        let line = format!(
            "{}: {position}/{length}{} ({:.1?})",
            bar.prefix(),
            detail(bar),
            self.since.elapsed()
        );
        self.printed = Some(Progress::new(position, length, bar.message()));
        bar.finish_and_clear();
        bars.remove(bar);
        self.bar = None;
        let _ = bars.println(line);
    }
}

/// ` · <message>`, or nothing without one.
fn detail(bar: &ProgressBar) -> String {
    let message = bar.message();
    if message.is_empty() {
        String::new()
    } else {
        format!(" · {message}")
    }
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

    fn by_task(&self) -> MutexGuard<'_, HashMap<TaskId, Shown>> {
        lock(&self.by_task)
    }

    /// The task's bar, drawn again if a flush had printed it as a line (unless `progress` is
    /// what that line shows).
    fn bar(&self, task: &TaskInfo, progress: Option<&Progress>) -> Option<ProgressBar> {
        let mut by_task = self.by_task();
        let shown = by_task.get_mut(&task.id)?;
        if shown.bar.is_none() && progress.is_some() && progress == shown.printed.as_ref() {
            return None;
        }
        shown.printed = None;
        let since = shown.since;
        Some(
            shown
                .bar
                .get_or_insert_with(|| self.new_bar(task).with_elapsed(since.elapsed()))
                .clone(),
        )
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
        let shown = Shown {
            bar: Some(bar),
            printed: None,
            since: Instant::now(),
        };
        self.by_task().insert(task.id, shown);
    }

    fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
        let Some(bar) = self.bar(task, Some(progress)) else {
            return;
        };
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
        if let Some(bar) = self.bar(task, None) {
            let unit = if count == 1 { "item" } else { "items" };
            bar.set_prefix(format!("{} ({count} {unit})", task.name));
        }
    }

    fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
        // A task cancelled before it started has no bar: its line is still printed.
        let Some(shown) = self.by_task().remove(&task.id) else {
            let _ = self.bars.println(format!("{}: {outcome}", task.name));
            return;
        };
        let elapsed: Duration = shown.since.elapsed();
        let detail = match (&shown.bar, outcome) {
            (Some(bar), Outcome::Completed | Outcome::Cancelled) => detail(bar),
            _ => String::new(),
        };
        match shown.bar {
            Some(bar) => {
                bar.finish_and_clear();
                self.bars.remove(&bar);
            }
            // A flush printed its line at its total, and nothing came since: that line says
            // it all, unless it did not end well.
            None if matches!(outcome, Outcome::Completed) => return,
            None => {}
        }
        // Fails only when the terminal is gone; a display has nobody to tell.
        let _ = self
            .bars
            .println(format!("{}: {outcome} ({elapsed:.1?}){detail}", task.name));
    }

    fn flush(&self) {
        let mut by_task = self.by_task();
        let mut shown: Vec<_> = by_task.iter_mut().collect();
        // In the order they started, as the bars are drawn.
        shown.sort_by_key(|(_, shown)| shown.since);
        for (_, shown) in shown {
            shown.settle(&self.bars);
        }
    }
}

impl Drop for TerminalProgress {
    /// Leaves every bar still shown drawn as it stands (indicatif would otherwise keep
    /// whatever it drew last, up to a twentieth of a second old).
    fn drop(&mut self) {
        for shown in self.by_task().values() {
            if let Some(bar) = &shown.bar {
                bar.abandon();
            }
        }
    }
}
