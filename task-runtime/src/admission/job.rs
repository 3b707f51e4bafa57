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
    /// Runs work a running task handed to the pool (a map's items).
    Work(Box<Help>),
}

/// Work for a task, and the task, whose priority it queues with.
pub(crate) struct Help {
    pub(crate) cell: CellRef,
    pub(crate) work: crate::task::admit::Work,
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
            Job::Work(help) => help.cell.core.priority,
        }
    }

    /// A woken body and a leftover go ahead of the never-started tasks; a task's work
    /// queues behind them as a new task would (it takes turns with the others).
    fn resumes(&self) -> bool {
        matches!(self, Job::Poll(_) | Job::Drop(_))
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
            // Not a body either: `run_all` counts the task once, by its body.
            Job::Work(help) => {
                let Help { cell, work } = *help;
                if let Err(panic) = crate::unwind::catch(work) {
                    cell.core
                        .host
                        .report_panic("a helper", cell.core.name().as_str(), &panic);
                }
                false
            }
        }
    }

    fn is_stale(&self) -> bool {
        match self {
            Job::Start(cell) => cell.core.state() != TaskState::Queued,
            // A poll or a task's work finds out itself whether it is still wanted; a drop
            // always is.
            Job::Poll(_) | Job::Drop(_) | Job::Work(_) => false,
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
            Job::Work(help) => drop(help),
        }
    }
}
