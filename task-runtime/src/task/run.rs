//! Running a task on a worker, and cancelling one: the two places an outcome is decided.

use super::cell::{CancelRequest, CellRef};
use crate::context::CurrentTask;
use crate::delivery::Terminal;
use crate::pool::PoolJob;
use crate::{codes, AppError, Outcome, Severity, TaskContext};

impl PoolJob for CellRef {
    fn priority(&self) -> i32 {
        self.core.priority
    }

    fn run(self) {
        run(&self);
    }

    fn is_stale(&self) -> bool {
        self.core.state() != crate::TaskState::Queued
    }

    fn abandon(self, reason: &str) {
        abandon(&self, reason);
    }
}

/// Runs a queued task on the current thread: body, outcome, then delivery. Does nothing if
/// the task is no longer queued (cancelled, or already run by a joining worker).
pub(crate) fn run(cell: &CellRef) {
    let core = &cell.core;
    if !core.try_start() {
        return;
    }
    let _entered = core.enter_span();
    // From here until the outcome is decided the task runs on this thread: `current()` sees
    // it (in `on_started` too), and a shutdown from here does not wait for it.
    let ctx = TaskContext::new(cell.clone());
    let running = CurrentTask::enter(&ctx);
    tracing::info!("task started");
    core.delivery.post_started(cell);
    if core.listeners.display() {
        core.manager.display().started(cell);
    }

    let terminal = cell.slot.run(core, &ctx);
    match &terminal {
        Terminal::Completed(_) => tracing::debug!("task completed"),
        Terminal::Failed(error) => tracing::error!(error = %error, "task failed"),
        Terminal::Cancelled => tracing::info!("task cancelled"),
    }
    drop(running);
    core.manager.unregister(core);
    if core.listeners.display() {
        core.manager.display().finished(cell, terminal.outcome());
    }
    core.delivery.post_terminal(cell, terminal);
}

/// Requests cancellation. A task that was still queued is finished here and now: it leaves
/// the registry and its `on_cancelled` is delivered from this thread's dispatch.
pub(crate) fn cancel(cell: &CellRef) -> CancelRequest {
    let core = &cell.core;
    let request = cell.slot.cancel(core);
    if request == CancelRequest::WasQueued {
        let _entered = core.enter_span();
        tracing::info!("task cancelled before it started");
        core.manager.unregister(core);
        if core.listeners.display() {
            core.manager.display().finished(cell, Outcome::Cancelled);
        }
        core.delivery.post_terminal(cell, Terminal::Cancelled);
    }
    request
}

/// Fails a task that is still queued and that no thread will ever run; delivered from this
/// thread's dispatch like a cancellation of a queued task.
pub(crate) fn abandon(cell: &CellRef, reason: &str) {
    let core = &cell.core;
    if core.state() != crate::TaskState::Queued {
        return;
    }
    let error = AppError::new(
        codes::ERR_THREAD_SPAWN,
        format!("task '{}' could not run: {reason}", core.name),
    )
    .with_severity(Severity::Critical);
    let error = core.manager.task_error(core, error);
    if !cell.slot.abandon(core, &error) {
        return;
    }
    let _entered = core.enter_span();
    tracing::error!(error = %error, "task failed before it started");
    core.manager.unregister(core);
    if core.listeners.display() {
        core.manager
            .display()
            .finished(cell, Outcome::Failed(error.clone()));
    }
    core.delivery.post_terminal(cell, Terminal::Failed(error));
}

/// Called before `join` blocks: on one of the task's own pool threads, run the task here if
/// it is still queued, instead of waiting for a worker that may never come free. (`wait_for`
/// does not: it must return by its deadline, and the task may run far longer.)
pub(crate) fn help_if_worker(cell: &CellRef) {
    if cell.core.state() == crate::TaskState::Queued && cell.core.manager.is_worker_thread() {
        run(cell);
    }
}
