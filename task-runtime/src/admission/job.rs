//! A task as the pool's jobs: the pool is generic over its jobs and knows nothing of tasks.

use crate::pool::PoolJob;
use crate::task::cell::CellRef;
use crate::task::run;
use crate::vocabulary::TaskState;

/// What a worker does for a task.
pub(crate) enum Job {
    /// Starts a queued task (and, for a blocking body, runs it to its outcome).
    Start(CellRef),
    /// Polls a polled body again: it was woken while it waited.
    Poll(CellRef),
    /// Drops what a task left behind on a worker: the future of a body cancelled while it
    /// waited, never dropped inside the call that cancelled it (a UI thread, say).
    Drop(Box<Leftover>),
}

/// A task's leftover and the task, whose host hears of a panicking `Drop`.
pub(crate) struct Leftover {
    pub(crate) cell: CellRef,
    pub(crate) value: Box<dyn Send>,
}

impl PoolJob for Job {
    fn priority(&self) -> i32 {
        match self {
            Job::Start(cell) | Job::Poll(cell) => cell.core.priority,
            Job::Drop(leftover) => leftover.cell.core.priority,
        }
    }

    fn resumes(&self) -> bool {
        !matches!(self, Job::Start(_))
    }

    fn execute(self) -> bool {
        match self {
            Job::Start(cell) => run::run(&cell),
            Job::Poll(cell) => run::resume(&cell),
            // Not a body run or polled: a manual manager's `run_all` does not count it.
            Job::Drop(leftover) => {
                let Leftover { cell, value } = *leftover;
                cell.core.host.drop_user_value(value, cell.core.name());
                false
            }
        }
    }

    fn is_stale(&self) -> bool {
        match self {
            Job::Start(cell) => cell.core.state() != TaskState::Queued,
            // A poll finds out itself whether it is still wanted; a drop always is.
            Job::Poll(_) | Job::Drop(_) => false,
        }
    }

    fn abandon(self, reason: &str) {
        match self {
            Job::Start(cell) => run::abandon(&cell, reason),
            // No thread can ever poll it: the task is stopped, which decides it at once
            // (its future is then left to be dropped here, since no worker will).
            Job::Poll(cell) => {
                run::cancel_because(&cell, crate::vocabulary::CancelReason::Shutdown);
            }
            Job::Drop(leftover) => drop(leftover),
        }
    }
}
