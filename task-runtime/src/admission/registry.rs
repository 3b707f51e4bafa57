//! The registry of active tasks: queued or running, not yet decided.
//!
//! A task is active from its submission until its outcome is decided, which happens before
//! its terminal callback runs (guarantee 6). Every task has its own entry, so two tasks of
//! one name never overwrite each other (a bug of the Python system).
//!
//! The registry holds tasks *weakly*: it answers questions about them (counts, listings,
//! names, cancellation by id) but never keeps one alive, so nothing here needs emptying when
//! the manager goes away.
//!
//! # Cheap on the hot path
//!
//! Every task is submitted on one thread and decided on another. Removing the entry from a
//! shared map when the worker decides would move the map's cache lines between cores for
//! every task, and profiles showed exactly that cost. So entries are removed *lazily*: a
//! task leaves the registry by reaching a terminal state (every query skips those), and the
//! submitting side sweeps finished entries out of a shard when it has doubled since the last
//! sweep, which is amortised O(1) per submission. The worker does no registry work at all
//! (the count of undecided tasks that idle waiters watch is the host's). The entries a sweep
//! takes out of tasks nobody holds any more are dropped one per later submission (up to
//! `SWEPT_KEPT` per shard; the rest at once), so the memory of each finished cell is freed on
//! the submitting thread just as it makes a new one, which then reuses it (see [`Shard`]).
//!
//! Shards (sixteen, cache-padded, by task id) spread concurrent submitters; questions about
//! the whole (counts, listings, names) visit every shard and are rare. So are the operations
//! that must be atomic across shards, exclusive admissions and shutdown, serialised on the
//! `control` lock.
//!
//! For `Exclusive::CancelPrevious` the registry hands every task of a name the same
//! [`LatestOfName`] and sets it to each new one as it is admitted: older tasks of the name see
//! they are superseded by themselves, also after they were decided and while a delivery of
//! theirs is still queued. Active tasks of the name that were not started that way are
//! flagged one by one.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use crate::latest::LatestOfName;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{lock, CachePadded as Padded, Mutex};
use crate::task::cell::AnySlot;
use crate::task::cell::{CellRef, TaskCell, TaskCore};
use crate::vocabulary::{Exclusive, TaskId};

const SHARDS: usize = 16;

/// A sweep comes when a table has doubled since the last one, plus this much.
const SWEEP_SLACK: usize = 64;

/// One task, weakly. (No copy of its id beside it: every queued task pays for an entry, and
/// looking a task up by id is rare.)
type Entry = Weak<TaskCell<dyn AnySlot>>;

/// Tasks (in no particular order), finished ones swept out now and then.
#[derive(Default)]
struct Shard {
    tasks: Vec<Entry>,
    /// How many entries the last sweep kept: the next one comes when `tasks` has doubled.
    kept: usize,
    /// Finished tasks nobody holds, swept out, whose memory is given back one per insertion:
    /// freed all at once, a sweep's worth of cells overflows the allocator's per-thread
    /// cache (glibc keeps seven blocks of a size), and the next cells come from its slower
    /// shared bins; freed as cells are made, each new cell reuses the one just freed.
    swept: Vec<Entry>,
}

/// The most swept entries a shard keeps for later; a sweep frees the rest at once, so a
/// burst's memory is not held back.
const SWEPT_KEPT: usize = 128;

/// Tasks taken out of the registry's locks, dropped by the caller once it holds none: the
/// last reference to a task may be among them, and dropping a task may run user code (a
/// dispatcher's closure, say).
type Released = Vec<CellRef>;

impl Shard {
    fn push(&mut self, entry: Entry, released: &mut Released) {
        // One freed per cell made.
        drop(self.swept.pop());
        if self.tasks.len() >= 2 * self.kept + SWEEP_SLACK {
            // Order within a shard does not matter (listings sort by id): swap_remove.
            let mut at = 0;
            while at < self.tasks.len() {
                // A task nobody holds any more is finished: queued and running tasks are held
                // by the pool or a worker.
                let alive = self.tasks[at].upgrade();
                let active = alive.as_ref().is_some_and(|cell| is_active(&cell.core));
                if active {
                    at += 1;
                } else if alive.is_some() {
                    // Finished but still held (a delivery is queued, say): its memory is not
                    // freed here, so the entry goes now, while its line is in this cache.
                    self.tasks.swap_remove(at);
                } else {
                    let finished = self.tasks.swap_remove(at);
                    self.swept.push(finished);
                }
                released.extend(alive);
            }
            self.kept = self.tasks.len();
            self.swept.truncate(SWEPT_KEPT);
        }
        self.tasks.push(entry);
    }

    /// Every task of the shard that is still alive.
    fn alive(&self, into: &mut Released) {
        into.extend(self.tasks.iter().filter_map(Weak::upgrade));
    }
}

fn is_active(core: &TaskCore) -> bool {
    !core.state().is_terminal()
}

pub(crate) struct Registry {
    shards: [Padded<Mutex<Shard>>; SHARDS],
    /// No more admissions: the manager was shut down.
    closed: AtomicBool,
    control: Mutex<Control>,
}

#[derive(Default)]
struct Control {
    /// The "latest of my name" of the `CancelPrevious` names, held weakly by name: the tasks
    /// hold them; entries of names without tasks are pruned as the table grows.
    latest: HashMap<String, Weak<LatestOfName>>,
    /// How many entries `latest` kept at its last pruning.
    kept: usize,
}

/// Why a task was refused at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    ShutDown,
    NameActive,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            shards: std::array::from_fn(|_| Padded(Mutex::new(Shard::default()))),
            closed: AtomicBool::new(false),
            control: Mutex::new(Control::default()),
        }
    }

    fn shard(&self, id: TaskId) -> &Mutex<Shard> {
        &self.shards[id.as_u64() as usize % SHARDS].0
    }

    /// What every `Exclusive::CancelPrevious` task named `name` shares; a task being built
    /// takes it before it is admitted.
    pub(crate) fn latest_of(&self, name: &str) -> Arc<LatestOfName> {
        let mut control = lock(&self.control);
        if let Some(latest) = control.latest.get(name).and_then(Weak::upgrade) {
            return latest;
        }
        if control.latest.len() >= 2 * control.kept + SWEEP_SLACK {
            control.latest.retain(|_, latest| latest.strong_count() > 0);
            control.kept = control.latest.len();
        }
        let latest = Arc::new(LatestOfName::default());
        control
            .latest
            .insert(name.to_owned(), Arc::downgrade(&latest));
        latest
    }

    /// Registers a new task, applying its exclusivity (for `CancelPrevious`, with the latest
    /// of its name). On success, returns the active tasks it supersedes (for the caller to
    /// cancel once the locks are released).
    pub(crate) fn admit(
        &self,
        cell: &CellRef,
        exclusive: Option<(Exclusive, Option<Arc<LatestOfName>>)>,
    ) -> Result<Vec<CellRef>, Refusal> {
        let core = &cell.core;
        let Some((exclusive, latest)) = exclusive else {
            self.insert(cell)?;
            return Ok(Vec::new());
        };
        let mut released = Released::new();
        let control = lock(&self.control);
        let name = core.name().as_str();
        let active = self.matching(|other| other.name().is(name), &mut released);
        let superseded = match exclusive {
            Exclusive::SkipIfActive if !active.is_empty() => {
                drop(control);
                drop((active, released));
                return Err(Refusal::NameActive);
            }
            Exclusive::SkipIfActive => Vec::new(),
            Exclusive::CancelPrevious => {
                // Before the refusal check below: a task refused at shutdown is still the
                // latest of its name, and delivers its `on_cancelled`.
                latest
                    .expect("a CancelPrevious task is built with the latest of its name")
                    .set(core.id);
                for older in &active {
                    older.core.silence();
                }
                active
            }
        };
        let inserted = self.insert(cell);
        drop(control);
        drop(released);
        inserted.map(|()| superseded)
    }

    fn insert(&self, cell: &CellRef) -> Result<(), Refusal> {
        let mut released = Released::new();
        let mut shard = lock(self.shard(cell.core.id));
        // Checked under the shard lock: `close` then visits this shard, so a task is either
        // refused here or seen by the shutdown's `cancel_all`.
        if self.closed.load(Ordering::SeqCst) {
            return Err(Refusal::ShutDown);
        }
        shard.push(Arc::downgrade(cell), &mut released);
        drop(shard);
        // After the lock (and usually on the thread that created them, which is the
        // allocator's cheap path).
        drop(released);
        Ok(())
    }

    pub(crate) fn close(&self) {
        // Under `control` too, so that no exclusive admission is half done.
        let _control = lock(&self.control);
        self.closed.store(true, Ordering::SeqCst);
        // Visiting every shard orders this after any insertion that saw `closed == false`.
        for shard in &self.shards {
            drop(lock(&shard.0));
        }
    }

    pub(crate) fn len(&self) -> usize {
        let mut alive = Released::new();
        let mut active = 0;
        for shard in &self.shards {
            lock(&shard.0).alive(&mut alive);
            active += alive.iter().filter(|cell| is_active(&cell.core)).count();
            alive.clear(); // outside the shard's lock
        }
        active
    }

    /// The task with this id, if it is alive and (or was, and has not been swept yet)
    /// registered. Callers check its state themselves: cancelling a finished task just says
    /// so. (Not reading the state here also keeps the canceller's first access to it a
    /// compare-and-swap, which loom needs to see the race; see `tests/loom.rs`.)
    pub(crate) fn get(&self, id: TaskId) -> Option<CellRef> {
        let mut released = Released::new();
        let shard = lock(self.shard(id));
        let mut found = None;
        for cell in shard.tasks.iter().filter_map(Weak::upgrade) {
            if cell.core.id == id {
                found = Some(cell);
                break;
            }
            released.push(cell);
        }
        drop(shard);
        drop(released);
        found
    }

    /// The active tasks matching `pick`, in submission order (ids grow with submission). The
    /// others it had to look at go to `released`.
    fn matching(
        &self,
        mut pick: impl FnMut(&TaskCore) -> bool,
        released: &mut Released,
    ) -> Vec<CellRef> {
        let mut alive = Released::new();
        for shard in &self.shards {
            lock(&shard.0).alive(&mut alive);
        }
        let (mut cells, rest): (Vec<CellRef>, Vec<CellRef>) = alive
            .into_iter()
            .partition(|cell| is_active(&cell.core) && pick(&cell.core));
        released.extend(rest);
        cells.sort_unstable_by_key(|cell| cell.core.id);
        cells
    }

    /// The active tasks in submission order.
    pub(crate) fn cells(&self) -> Vec<CellRef> {
        self.matching(|_| true, &mut Released::new())
    }

    /// The active tasks named `name`, in submission order.
    pub(crate) fn named(&self, name: &str) -> Vec<CellRef> {
        self.matching(|core| core.name().is(name), &mut Released::new())
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
