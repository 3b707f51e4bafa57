//! Waiting for a manager to be idle, callbacks included: [`EventLoop::run_until_idle`].
//!
//! It lives with the manager rather than with the event loop: an event loop is a plain queue
//! of jobs, and only the manager knows which of its tasks are undecided or undelivered.

use std::time::Duration;

use super::TaskManager;
use crate::dispatch::EventLoop;
use crate::task::delivery;

impl EventLoop {
    /// Processes events until `manager` has no active task, no terminal callback is still
    /// queued on a dispatcher, and this loop's queue is empty, or `timeout` passes; returns
    /// whether it became idle. Deterministic tests and command-line programs use it to wait
    /// for all work *and* the callbacks delivered through event loops.
    ///
    /// Callbacks that run inline on worker threads ([`Dispatcher::worker_thread`]) are not
    /// waited for: they run right after their task leaves the registry and may still be
    /// running when this returns.
    ///
    /// Called from inside a callback that this loop is running, it does not wait for that
    /// callback (which cannot finish before it returns): it returns `true` once everything
    /// else is done.
    ///
    /// [`Dispatcher::worker_thread`]: crate::Dispatcher::worker_thread
    #[must_use = "run_until_idle returns false when the work did not finish in time"]
    pub fn run_until_idle(&self, manager: &TaskManager, timeout: Duration) -> bool {
        self.run_until(|| is_quiescent(manager) && self.pending() == 0, timeout)
    }
}

/// No task undecided and no terminal callback queued (checked in that order: a task is
/// counted as undelivered before it is decided). A delivery in progress on the calling
/// thread does not count: a callback asking cannot wait for itself.
fn is_quiescent(manager: &TaskManager) -> bool {
    let host = &manager.core().host;
    host.undecided().is_zero() && host.undelivered() <= delivery::delivering_here(host)
}
