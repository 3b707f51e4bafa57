//! A task as the pool's job: the pool is generic over its jobs and knows nothing of tasks.

use crate::pool::PoolJob;
use crate::task::cell::CellRef;
use crate::task::run;
use crate::vocabulary::TaskState;

impl PoolJob for CellRef {
    fn priority(&self) -> i32 {
        self.core.priority
    }

    fn execute(self) -> bool {
        run::run(&self)
    }

    fn is_stale(&self) -> bool {
        self.core.state() != TaskState::Queued
    }

    fn abandon(self, reason: &str) {
        run::abandon(&self, reason);
    }
}
