//! Admission: what one manager owns (the host its tasks point at, the pool, the registry, the
//! deadlines) as [`ManagerCore`], and the operations on many tasks: submitting, cancelling,
//! and (`shutdown.rs`) shutting down. The manager's public types are a facade over it.

mod job;

pub(crate) use job::Job;
mod registry;
mod shutdown;
mod snapshot;

pub use snapshot::TaskSnapshot;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::deadline::Deadlines;
use crate::latest::LatestOfName;
use crate::pool::Pool;
use crate::sync::atomic::Ordering;
use crate::sync::CachePadded;
use crate::task::admit::{Admission, Admit, TaskHost};
use crate::task::cell::{CancelRequest, CellRef, Silence};
use crate::task::feature::Feature;
use crate::task::run;
use crate::vocabulary::{CancelReason, TaskId};
use registry::{Refusal, Registry};

pub(crate) struct ManagerCore {
    pub(crate) host: Arc<TaskHost>,
    pub(crate) pool: Pool<Job>,
    pub(crate) registry: Registry,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) deadlines: Deadlines,
    /// Written by every submission: padded, so workers reading the fields around it do not
    /// lose their cached copies each time.
    next_number: CachePadded<AtomicU64>,
}

impl ManagerCore {
    /// A manager's core, which its host's tasks reach as their admission (see
    /// [`Host::admission`](crate::host::Host::admission)).
    pub(crate) fn new(
        host: Arc<TaskHost>,
        pool: Pool<Job>,
        shutdown_timeout: Duration,
    ) -> Arc<Self> {
        let core = Arc::new(ManagerCore {
            deadlines: Deadlines::new(Arc::clone(&host)),
            host,
            pool,
            registry: Registry::new(),
            shutdown_timeout,
            next_number: CachePadded(AtomicU64::new(0)),
        });
        let admission: Weak<ManagerCore> = Arc::downgrade(&core);
        core.host.set_admission(admission);
        core
    }

    /// Admits and queues a new task, or cancels it at once when it may not run. A `timeout`
    /// starts counting now; a zero one times the task out before any worker can start it.
    fn admit(&self, cell: CellRef, admission: Admission) {
        let Admission {
            timeout,
            exclusive,
            after,
        } = admission;
        let exclusive = exclusive.map(|exclusive| (exclusive, cell.core.feature::<LatestOfName>()));
        self.host.submitted(cell.core.dispatcher());
        // Every feature hears of it (a closed scope refuses it: its owner is gone, so it never
        // runs, and runs no callback).
        let refused = cell
            .core
            .features()
            .iter()
            .any(|feature| !feature.admit(&cell));
        if refused {
            run::cancel_because(&cell, CancelReason::ScopeClosed);
            return;
        }
        match self.registry.admit(&cell, exclusive) {
            Ok(superseded) => {
                // Not the tasks this one waits for: a continuation named like its antecedent
                // supersedes it without cancelling its own chain.
                let chain = if superseded.is_empty() {
                    Vec::new()
                } else {
                    waited_for(&cell)
                };
                for old in superseded
                    .iter()
                    .filter(|old| !chain.contains(&old.core.id))
                {
                    run::cancel_because(old, CancelReason::Superseded);
                }
                if !superseded.is_empty() {
                    self.pool.purge_stale();
                }
                if timeout == Some(Duration::ZERO) {
                    run::time_out(&cell);
                    return;
                }
                let deadline = timeout.map(|timeout| (cell.clone(), timeout));
                // Listed in its scope and in the registry: a cancel round beginning from now on
                // has it in its snapshot, so it may stop it from starting.
                cell.core.stamp(self.host.rounds().stamp());
                if let Some(gate) = after {
                    // Listed and counted now; queued when its gate opens.
                    if let Some((cell, timeout)) = deadline {
                        self.deadlines.add(&cell, timeout);
                    }
                    gate.admitted(cell);
                } else if self.enqueue(&cell) {
                    if let Some((cell, timeout)) = deadline {
                        self.deadlines.add(&cell, timeout);
                    }
                }
            }
            Err(refusal) => {
                let _entered = cell.core.enter_span();
                let reason = match refusal {
                    Refusal::ShutDown => {
                        tracing::warn!(
                            "task '{}' started after the manager was shut down; cancelled",
                            cell.core.name()
                        );
                        CancelReason::Shutdown
                    }
                    Refusal::NameActive => {
                        tracing::debug!(
                            "task '{}' skipped: a task of this name is active",
                            cell.core.name()
                        );
                        CancelReason::Superseded
                    }
                };
                run::cancel_because(&cell, reason);
            }
        }
    }

    /// Queues an admitted task to start; whether it was (a pool that terminated cancels it).
    fn enqueue(&self, cell: &CellRef) -> bool {
        let Err(job) = self.pool.submit(Job::Start(cell.clone())) else {
            return true;
        };
        drop(job);
        // Only once the last handle is gone: a builder outlived its manager.
        let _entered = cell.core.enter_span();
        tracing::warn!("task started after its manager was dropped; cancelled");
        run::cancel_because(cell, CancelReason::Shutdown);
        false
    }

    /// Cancels the active task with this id; whether it was active.
    pub(crate) fn cancel(&self, id: TaskId) -> bool {
        let Some(cell) = self.registry.get(id) else {
            return false;
        };
        let request = run::cancel(&cell);
        self.pool.purge_stale();
        request != CancelRequest::Finished
    }

    /// Cancels every active task named `name`; whether there was one.
    pub(crate) fn cancel_named(&self, name: &str) -> bool {
        let matching = self.registry.named(name);
        for cell in &matching {
            run::cancel(cell);
        }
        self.pool.purge_stale();
        !matching.is_empty()
    }

    /// Cancels every active task; returns how many this call cancelled. One cancel round (see
    /// `host::rounds`): no task queued when it began ever starts, however long the walk.
    pub(crate) fn cancel_all(&self) -> usize {
        self.cancel_all_because(CancelReason::Requested)
    }

    /// [`cancel_all`](Self::cancel_all) for `reason`.
    pub(crate) fn cancel_all_because(&self, reason: CancelReason) -> usize {
        let cancelled = run::cancel_round(
            &self.host,
            self.host.all_cancelled(),
            || self.registry.cells(),
            Silence::No,
            reason,
        );
        self.pool.purge_stale();
        cancelled
    }
}

/// The tasks `cell` waits for before it may start, transitively (a chain of continuations).
fn waited_for(cell: &CellRef) -> Vec<TaskId> {
    let mut chain = Vec::new();
    let mut next = cell.core.features().iter().find_map(|f| f.waits_for());
    while let Some(antecedent) = next {
        chain.push(antecedent.core.id);
        next = antecedent
            .core
            .features()
            .iter()
            .find_map(|f| f.waits_for());
    }
    chain
}

impl Admit for ManagerCore {
    fn host(&self) -> &Arc<TaskHost> {
        &self.host
    }

    fn next_task_number(&self) -> u64 {
        self.next_number.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn latest_of(&self, name: &str) -> Arc<dyn Feature> {
        self.registry.latest_of(name)
    }

    fn timeout(&self, timeout: Duration) -> Arc<dyn Feature> {
        self.deadlines.timeout(timeout)
    }

    fn submit(&self, cell: CellRef, admission: Admission) {
        self.admit(cell, admission);
    }

    fn queue(&self, cell: CellRef) {
        cell.core.queued_now();
        self.enqueue(&cell);
    }

    fn purge_stale(&self) {
        self.pool.purge_stale();
    }

    fn resume(&self, cell: CellRef) {
        if let Err(job) = self.pool.submit(Job::Poll(cell)) {
            // The pool terminated: its shutdown cancelled every task, so this one is decided
            // (or is about to be, by the call that cancels it).
            drop(job);
        }
    }

    fn wake_at(&self, at: u64, waker: std::task::Waker) {
        self.deadlines.wake_at(at, waker);
    }

    fn run_next(&self) -> bool {
        self.pool.run_next()
    }

    fn dispose(&self, cell: CellRef, value: Box<dyn Send>) {
        let leftover = Box::new(job::Leftover { cell, value });
        if let Err(Job::Drop(leftover)) = self.pool.submit(Job::Drop(leftover)) {
            // No worker will come: dropped here, after all.
            let job::Leftover { cell, value } = *leftover;
            cell.core.host.drop_user_value(value, cell.core.name());
        }
    }

    fn help(&self, cell: CellRef, work: crate::task::admit::Work) {
        if let Err(job) = self
            .pool
            .submit(Job::Work(Box::new(job::Help { cell, work })))
        {
            // The pool terminated: the work is dropped unrun, which its owner makes up for.
            drop(job);
        }
    }

    fn max_threads(&self) -> usize {
        self.pool.max_threads()
    }

    fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }
}
