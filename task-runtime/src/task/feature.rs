//! [`Feature`]: the one seam between the task core and what a task may carry besides its body
//! and callbacks: a scope, items, its own line in the progress display, the latest of its
//! name, a deadline. The core calls each of a task's features at a few moments of the task's
//! life (admitted, started, progressed, asked to stop, decided, delivering) and knows nothing
//! else of them; a feature is a type of its own place that implements the hooks it needs.
//!
//! A task without features pays one `None` check at each moment. A feature that must find its
//! own per-task part again (a scope finding the node a running task belongs to) asks the task
//! for it by type ([`TaskCore::feature`](super::cell::TaskCore::feature)): a feature looks up
//! its own data, never its owner.

use std::any::Any;
use std::sync::Arc;

use super::cell::{CellRef, TaskCore};
use super::delivery::mailbox::Terminal;
use crate::error::AppError;
use crate::host::Stamp;
use crate::progress::Progress;

/// Something a task carries that hears about its life. Every hook is optional.
///
/// Hooks run on the thread where the moment happens (a worker, a cancelling thread, the
/// dispatcher's thread for deliveries) and must not block.
pub(crate) trait Feature: AsAny + Send + Sync {
    /// The task is being admitted (before the registry lists it): `false` refuses it (it is
    /// cancelled at once, and never runs).
    fn admit(&self, task: &CellRef) -> bool {
        let _ = task;
        true
    }

    /// Whether a cancel round of this feature's (a scope's) that began after a task stamped
    /// `stamp` was queued keeps it from starting (see `host::rounds`).
    fn stops(&self, stamp: Stamp) -> bool {
        let _ = stamp;
        false
    }

    /// The body starts, on this thread.
    fn started(&self, task: &CellRef) {
        let _ = task;
    }

    /// The body reported `progress` (called with the task's mailbox locked: keep it short).
    fn progressed(&self, task: &TaskCore, progress: &Progress) {
        let _ = (task, progress);
    }

    /// The body published items; `count` so far.
    fn published(&self, task: &TaskCore, count: u64) {
        let _ = (task, count);
    }

    /// The running task was asked to stop (cancelled, timed out): its body still runs.
    fn stop_requested(&self, task: &TaskCore) {
        let _ = task;
    }

    /// The task's outcome was decided and stored, before anything of it is delivered.
    fn decided(&self, task: &CellRef, terminal: &Terminal) {
        let _ = (task, terminal);
    }

    /// Whether none of the task's callbacks that have not started may start any more (its
    /// scope was closed, a newer task of its name replaced it).
    fn silences(&self, task: &TaskCore) -> bool {
        let _ = task;
        false
    }

    /// Delivers what this feature has for the task's callbacks now (a batch of items), on the
    /// dispatcher's thread; `silenced`: drop it unseen.
    fn deliver(&self, task: &TaskCore, silenced: bool) {
        let _ = (task, silenced);
    }

    /// Nothing will be delivered for the task any more (its terminal event was delivered or
    /// lost).
    fn closed(&self, task: &TaskCore) {
        let _ = task;
    }

    /// Whether `error`, this task's failure, is another task's passed on as it is (a
    /// continuation's antecedent's, a combinator's input's): reported where it happened, it
    /// reaches this task's `on_error` but not the error handler again.
    fn passed_on(&self, error: &AppError) -> bool {
        let _ = error;
        false
    }

    /// The task this one waits for before it may start (a continuation's antecedent, while
    /// its gate is closed): a `join` helps that one first, and never starts this one early.
    fn waits_for(&self) -> Option<CellRef> {
        None
    }

    /// The failure of the task's own work that stopped it ([`Stop::Failed`](super::cell::Stop)),
    /// if this feature recorded it (a map's first failed item).
    fn failure(&self, task: &TaskCore) -> Option<AppError> {
        let _ = task;
        None
    }

    /// The error of a deadline's stop, if this feature is the task's deadline.
    fn timeout_error(&self, task: &TaskCore) -> Option<AppError> {
        let _ = task;
        None
    }
}

/// A feature as `Any`, for [`TaskCore::feature`](super::cell::TaskCore::feature) (every
/// feature has it, by the blanket impl).
pub(crate) trait AsAny {
    fn as_any(&self) -> &dyn Any;
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<T: Any + Send + Sync> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// How many features a task carries at most: one of each kind there is (a scope, items, a
/// display line, the latest of its name, a deadline), and room for one more kind.
const MOST: usize = 6;

/// A task's features, inline: a task with features pays for them in the one box of its rare
/// parts, with no allocation of their own.
#[derive(Default)]
pub(crate) struct Features {
    slots: [Option<Arc<dyn Feature>>; MOST],
}

impl Features {
    /// No feature at all.
    pub(crate) const NONE: Features = Features {
        slots: [const { None }; MOST],
    };

    /// Adds `feature`. At most one of each kind: a new kind raises `MOST`.
    pub(crate) fn push(&mut self, feature: Arc<dyn Feature>) {
        let free = self.slots.iter_mut().find(|slot| slot.is_none());
        *free.expect("a task carries at most one feature of each kind") = Some(feature);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots[0].is_none()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Feature>> {
        self.slots.iter().map_while(Option::as_ref)
    }
}

impl<'a> IntoIterator for &'a Features {
    type Item = &'a Arc<dyn Feature>;
    type IntoIter = std::iter::MapWhile<
        std::slice::Iter<'a, Option<Arc<dyn Feature>>>,
        fn(&'a Option<Arc<dyn Feature>>) -> Option<&'a Arc<dyn Feature>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.slots.iter().map_while(Option::as_ref)
    }
}
