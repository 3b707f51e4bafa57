//! [`TaskSnapshot`]: what the manager's listings say of one active task.

use std::time::Instant;

use crate::progress::Progress;
use crate::task::cell::CellRef;
use crate::vocabulary::{TaskId, TaskState};

/// A snapshot of one active task, from [`TaskManager::tasks`](crate::TaskManager::tasks).
#[derive(Debug, Clone)]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// Queued or running (snapshots only list active tasks).
    pub state: TaskState,
    /// The latest progress reported, if any.
    pub progress: Option<Progress>,
    /// When the task was submitted.
    pub queued_at: Instant,
    /// When its body started, if it did.
    pub started_at: Option<Instant>,
}

impl TaskSnapshot {
    pub(crate) fn of(cell: &CellRef) -> Self {
        let core = &cell.core;
        TaskSnapshot {
            id: core.id,
            name: core.name().as_str().to_owned(),
            state: core.state(),
            progress: core.mailbox().latest_progress(),
            queued_at: core.queued_at(),
            started_at: core.started_at(),
        }
    }
}
