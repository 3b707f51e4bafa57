//! [`Halt`]: what a map's task carries to stop its items: the flag every item checks before it
//! starts, and the first failure, which becomes the task's outcome.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::AppError;
use crate::sync::{lock, Mutex};
use crate::task::cell::{CellRef, TaskCore};
use crate::task::delivery::Terminal;
use crate::task::feature::Feature;
use crate::task::run;

/// A map's stop flag and first failure: the task's feature, shared with its helpers.
#[derive(Default)]
pub(super) struct Halt {
    /// Read before every item, written once: on a line of its own, so that the items' reads
    /// never share one with what the helpers write (the map's state, its progress).
    stop: Padded,
    failure: Mutex<Option<AppError>>,
}

#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicBool);

impl Halt {
    /// Whether no item may start any more: the task was asked to stop, failed or ended.
    #[inline]
    pub(super) fn stopped(&self) -> bool {
        self.stop.0.load(Ordering::Relaxed)
    }

    /// No item may start any more.
    pub(super) fn stop(&self) {
        self.stop.0.store(true, Ordering::Relaxed);
    }

    /// An item of the map failed with `error` (its final form, mapped): the first failure
    /// stops the map, whose outcome it becomes unless a stop came first; a later one is
    /// dropped, as the results of items still running are.
    pub(super) fn fail(&self, map: &CellRef, error: AppError) {
        self.stop();
        {
            let mut failure = lock(&self.failure);
            if failure.is_some() || map.core.is_cancelled() {
                tracing::debug!(error = %error, "an item failed after the map stopped");
                return;
            }
            *failure = Some(error);
        }
        run::fail_running(map);
    }
}

impl Feature for Halt {
    fn stop_requested(&self, _task: &TaskCore) {
        self.stop();
    }

    fn decided(&self, _task: &CellRef, _terminal: &Terminal) {
        self.stop();
    }

    fn failure(&self, _task: &TaskCore) -> Option<AppError> {
        lock(&self.failure).clone()
    }
}
