//! Cancel rounds: how a cancellation of many tasks at once (`cancel_all`, a scope's `cancel`
//! or drop) stops every task that was queued when it began, although it reaches them one by
//! one.
//!
//! Cancelling 100,000 queued tasks is a walk, and a walk takes time. Were it the only
//! mechanism, a worker freed meanwhile (a running task the walk cancelled first returns at
//! once) would start a queued task the walk had not reached yet: its body would run after the
//! call began, and the call would miscount (it counts only what it cancelled, and a task that
//! ran to completion was not). So the walk is preceded by a *round*:
//!
//! 1. every task is *stamped*, at submission, with the number of rounds begun so far (read
//!    after it was listed in its scope and in the registry);
//! 2. a round [`begin`](Rounds::begin)s (its number is one more than any stamp taken so far)
//!    and at once [`set`](Mark::set)s its mark (the manager's, for `cancel_all`; the scope's,
//!    for a scope): that is the call's moment;
//! 3. a worker that starts a task checks the marks after its queued -> running step: a mark
//!    above the task's stamp means a round began after the task was queued, so the worker
//!    steps back to queued and leaves the task to that round; while a round may still be
//!    taking its snapshot, it keeps the task alive in the host's [`Held`] list;
//! 4. the round takes its snapshot of the tasks (strong references), cancels each, counting
//!    what it cancelled, and then lets [`Held`] go of the tasks that are decided.
//!
//! A task that started before the mark was running when the call began: the walk asks it to
//! stop, and counts it. A task queued before the mark never starts.
//!
//! Why every task a mark stops is in that round's snapshot: the snapshot takes the lock of
//! each registry shard (or scope) after the round began. A task listed after that lock was
//! taken is stamped after the round began, so with a stamp no mark of this round stops; a task
//! listed before is in the snapshot, alive (held by the queue, a worker, or [`Held`]).
//!
//! Why no task starts past a mark: the worker's step to running, its read of the marks and the
//! setting of a mark are `SeqCst`. A worker that misses the mark stepped to running before
//! the mark was set; the walk, which comes after the mark, then finds the task running (its
//! compare-and-swap reads the latest state) and asks it to stop. Either way each task of the
//! snapshot is decided exactly once, by one of the transitions of `task::cell`, and counted by
//! the call only if the call's own request made it.
//!
//! The rounds and marks of a manager count only its own tasks: a scope belongs to one manager,
//! and a task started in a scope runs on that scope's manager.

use std::any::Any;

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{lock, Mutex};

/// The rounds begun, counted: tasks are stamped with the count.
#[derive(Debug, Default)]
pub(crate) struct Rounds {
    begun: AtomicU64,
    /// Rounds between their mark and the end of their snapshot: only then must a worker keep
    /// a task it leaves to a round alive ([`Held`]); after it, the snapshot holds the task.
    snapshotting: AtomicU64,
}

/// A round's number: above the stamp of every task queued before it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Round(u64);

/// A task's stamp: the rounds begun before it was listed. A task not stamped yet has
/// [`Stamp::NONE`], which no mark stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    pub(crate) const NONE: Stamp = Stamp(u64::MAX);

    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    pub(crate) fn from_bits(bits: u64) -> Stamp {
        Stamp(bits)
    }
}

impl Rounds {
    /// The stamp of a task listed (in its scope and the registry) just now.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp(self.begun.load(Ordering::Acquire))
    }

    /// A new round, before its mark and its snapshot: every task stamped before now has a
    /// lower stamp. Call [`snapshot_taken`](Self::snapshot_taken) once the snapshot is taken.
    pub(crate) fn begin(&self) -> Round {
        // Counted before the mark is set: a worker that sees the mark sees the count.
        self.snapshotting.fetch_add(1, Ordering::SeqCst);
        Round(self.begun.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// A round's snapshot is taken (its strong references keep its tasks alive).
    pub(crate) fn snapshot_taken(&self) {
        // Release: a worker that reads the lower count sees the snapshot's references.
        self.snapshotting.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether a round may still be taking its snapshot: a task a mark stopped must then be
    /// kept alive for it. (Read after the mark that stopped the task: a count of 0 then means
    /// that round's snapshot holds the task.)
    pub(crate) fn snapshotting(&self) -> bool {
        self.snapshotting.load(Ordering::SeqCst) > 0
    }

    /// Whether no round began since a task stamped `stamp` was queued: then no mark can stop
    /// it (the common case, one load, before looking at any mark).
    pub(crate) fn none_since(&self, stamp: Stamp) -> bool {
        self.begun.load(Ordering::SeqCst) <= stamp.0
    }
}

/// Tasks that workers left to a round (stepped back to queued because a mark stopped them),
/// kept alive until a round decides them: the round may take its snapshot, which reaches its
/// tasks through weak references, only after the worker let go. (Type-erased: the host knows
/// no task; only rounds put anything here, so the box per task is off the common path.)
#[derive(Default)]
pub(crate) struct Held {
    tasks: Mutex<Vec<Box<dyn Any + Send>>>,
}

impl Held {
    /// Keeps `task` alive until [`release`](Self::release) finds it decided.
    pub(crate) fn keep(&self, task: Box<dyn Any + Send>) {
        lock(&self.tasks).push(task);
    }

    /// After a round's walk: lets go of the tasks `decided` says are decided (dropped outside
    /// the lock: one may be the last reference to its task).
    pub(crate) fn release(&self, decided: impl Fn(&(dyn Any + Send)) -> bool) {
        let released: Vec<_> = {
            let mut tasks = lock(&self.tasks);
            if tasks.is_empty() {
                return;
            }
            let (released, kept) = std::mem::take(&mut *tasks)
                .into_iter()
                .partition(|task| decided(&**task));
            *tasks = kept;
            released
        };
        drop(released);
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("tasks", &lock(&self.tasks).len())
            .finish()
    }
}

/// The latest round that cancelled "everything of this": the manager's tasks, or a scope's.
#[derive(Debug, Default)]
pub(crate) struct Mark {
    round: AtomicU64,
}

impl Mark {
    /// `round` began: from now on no task stamped before it starts.
    pub(crate) fn set(&self, round: Round) {
        self.round.fetch_max(round.0, Ordering::SeqCst);
    }

    /// Whether a round that began after `stamp` was taken has set this mark.
    pub(crate) fn stops(&self, stamp: Stamp) -> bool {
        self.round.load(Ordering::SeqCst) > stamp.0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_mark_stops_the_tasks_stamped_before_its_round_began() {
        let rounds = Rounds::default();
        let mark = Mark::default();
        let before = rounds.stamp();
        let round = rounds.begin();
        let after = rounds.stamp();
        assert!(!mark.stops(before), "no round has set it yet");
        mark.set(round);
        assert!(mark.stops(before));
        assert!(!mark.stops(after), "stamped after the round began");
        assert!(!mark.stops(Stamp::NONE), "a task not stamped yet");
        // An older round finishing later does not lower the mark.
        let older = rounds.begin();
        let newer = rounds.begin();
        mark.set(newer);
        mark.set(older);
        assert!(mark.stops(Stamp(newer.0 - 1)));
    }
}
