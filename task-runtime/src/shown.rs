//! [`ShownTask`]: a task started with `show_progress(true)`, as a feature: its life goes to the
//! manager's progress display (started, progress and items, its end), through the display
//! thread ([`DisplayPump`](crate::display::DisplayPump)).

use std::sync::Arc;

use crate::display::Shown;
use crate::progress::Progress;
use crate::task::cell::{CellRef, TaskCore};
use crate::task::delivery::Terminal;
use crate::task::feature::Feature;
use crate::vocabulary::TaskInfo;

/// What the progress display keeps of one shown task.
pub(crate) struct ShownTask(Arc<Shown>);

impl ShownTask {
    pub(crate) fn new(info: TaskInfo) -> Self {
        ShownTask(Shown::new(info))
    }
}

impl Feature for ShownTask {
    fn started(&self, task: &CellRef) {
        task.core.host.display().started(&self.0);
    }

    fn progressed(&self, task: &TaskCore, progress: &Progress) {
        task.host.display().progress(&self.0, progress);
    }

    fn published(&self, task: &TaskCore, count: u64) {
        task.host.display().items(&self.0, count);
    }

    /// Its pending progress is not shown once it was asked to stop.
    fn stop_requested(&self, task: &TaskCore) {
        task.host.display().cancelled(&self.0);
    }

    fn decided(&self, task: &CellRef, terminal: &Terminal) {
        task.core
            .host
            .display()
            .finished(&self.0, terminal.outcome());
    }
}
