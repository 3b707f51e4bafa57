//! [`Admit`]: the manager's admission, as the layers above the core reach it from a task.
//!
//! Builders and scopes submit through it, and so can a task that already runs: a body's
//! `ctx.scope()` and, later, a task's continuations find the admission of their manager
//! through the host the task points at ([`TaskHost`]), weakly and with its type, instead of
//! an opaque owner downcast back to a manager. The manager's core (`crate::admission`)
//! implements it; the core here only names it.
//!
//! This module, `cell` and `feature` are the one knot in this folder, the recursive type's: a
//! cell points at its host, whose admission takes cells.

use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use super::cell::CellRef;
use super::feature::Feature;
use crate::host::Host;
use crate::vocabulary::Exclusive;

/// The host of a task: what it needs from its surroundings, and the admission that took it.
pub(crate) type TaskHost = Host<dyn Admit>;

/// How a task is admitted, besides what it carries: its deadline, its exclusivity (which
/// the registry applies), and what it waits for before it is queued.
#[derive(Default)]
pub(crate) struct Admission {
    pub(crate) timeout: Option<Duration>,
    pub(crate) exclusive: Option<Exclusive>,
    pub(crate) after: Option<Arc<dyn Gate>>,
}

/// What happens to an admitted task instead of being queued to start. A continuation's gate
/// is its antecedent: the task is listed, counted and cancellable from its admission, stays
/// `Queued`, and the gate queues it ([`Admit::queue`]) or decides it once the antecedent has
/// ended. A combinator's gate starts it at once, without a worker (`run::start_waiting`).
pub(crate) trait Gate: Send + Sync {
    /// `task` was admitted (its deadline counts from now) and is the gate's now.
    fn admitted(self: Arc<Self>, task: CellRef);
}

/// Work a running task hands to its manager's pool (a map's items), queued with the
/// task's priority among the other jobs. Dropped unrun if no worker will ever run it (the
/// pool terminated): whatever it owns must then make up for it in its `Drop`.
pub(crate) type Work = Box<dyn FnOnce() + Send>;

/// What a manager offers whoever builds and submits its tasks: the builders, the scopes, and
/// a running task through its host.
pub(crate) trait Admit: Send + Sync {
    /// The host every task of this manager points at.
    fn host(&self) -> &Arc<TaskHost>;

    /// The number in the next default name, `Task-<n>`.
    fn next_task_number(&self) -> u64;

    /// The feature a `CancelPrevious` task named `name` carries: the latest task of the name
    /// (shared by the tasks of the name).
    fn latest_of(&self, name: &str) -> Arc<dyn Feature>;

    /// The deadline feature of a task given `timeout` (shared by the tasks given the same).
    fn timeout(&self, timeout: Duration) -> Arc<dyn Feature>;

    /// Admits and queues a new task, or cancels it at once when it may not run. A timeout
    /// starts counting now.
    fn submit(&self, cell: CellRef, admission: Admission);

    /// Queues a task admitted behind a [`Gate`] whose gate opened; a pool that terminated
    /// meanwhile cancels it (its shutdown cancelled every task it knew).
    fn queue(&self, cell: CellRef);

    /// Drops the queued tasks that were cancelled, so the queue does not keep them.
    fn purge_stale(&self);

    /// Queues the next poll of a polled body that was woken, ahead of the never-started tasks
    /// of its priority.
    fn resume(&self, cell: CellRef);

    /// Wakes `waker` once the host's clock reads `at` (nanoseconds since its epoch): what
    /// `TaskContext::sleep` waits on.
    fn wake_at(&self, at: u64, waker: Waker);

    /// Runs the next queued job on the calling thread (how a manual manager's caller drives
    /// its tasks); whether there was one.
    fn run_next(&self) -> bool;

    /// Has a worker drop `value`, which `cell` left behind (the future of a body cancelled
    /// while it waited): never inside the call that cancelled it.
    fn dispose(&self, cell: CellRef, value: Box<dyn Send>);

    /// Queues `work` for `cell`, a running task, on the pool (see [`Work`]).
    fn help(&self, cell: CellRef, work: Work);

    /// The manager's thread limit now.
    fn max_threads(&self) -> usize;

    /// How long the manager's shutdown waits for its tasks (what waits on a group of tasks
    /// default to).
    fn shutdown_timeout(&self) -> Duration;
}
