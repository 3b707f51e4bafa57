//! Shutting a manager down: refuse new tasks, cancel the active ones, wait for their bodies;
//! and, when its last handle is gone, let its threads exit.

use std::time::Instant;

use super::ManagerCore;
use crate::task::context;

impl ManagerCore {
    /// Refuses new tasks, cancels the active ones, and waits for their bodies to return.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        self.registry.close();
        self.cancel_all_because(crate::vocabulary::CancelReason::Shutdown);
        // A task of this manager shutting it down from its body or its worker-side callbacks
        // cannot wait for itself (nor for the tasks it runs nested, joined inline).
        let own = context::running_here(&self.host);
        self.host.undecided().wait_until_at_most(own, deadline)
    }

    /// Every pending deadline passes now (loom models play the timer with this).
    #[cfg(loom)]
    pub(crate) fn expire_deadlines(&self) {
        self.deadlines.expire_all();
    }

    /// The last handle is gone: shut down, let the workers exit, stop the display.
    pub(crate) fn close(&self) {
        let deadline = crate::sync::deadline_after(self.shutdown_timeout);
        self.shutdown(deadline);
        self.pool.terminate(deadline);
        self.deadlines.close();
        // After the workers: the cancellations above still show.
        self.host.display().stop(deadline);
    }
}
