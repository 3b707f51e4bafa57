//! The registry of active tasks: queued or running, not yet decided.
//!
//! A task is active from its submission until its outcome is decided, which happens before
//! its terminal callback runs (guarantee 6). Every task has its own entry, so two tasks of
//! one name never overwrite each other (a bug of the Python system).
//!
//! # Cheap on the hot path
//!
//! Every task is submitted on one thread and decided on another. Removing the entry from a
//! shared map when the worker decides would move the map's cache lines between cores for
//! every task, and profiles showed exactly that cost. So entries are removed *lazily*: a
//! task leaves the registry by reaching a terminal state (every query skips those), and the
//! submitting side sweeps finished entries out of a shard when it has doubled since the last
//! sweep, which is amortised O(1) per submission. The worker's only registry work is one
//! counter of undecided tasks, and reading whether somebody waits for it to drop.
//!
//! Waiting for idleness reads that counter, never the shards, and an *idle epoch* bumped each
//! time the counter reaches zero: a waiter returns `true` once it saw the epoch move, even if
//! new work arrived before it woke up ("idle before the deadline" is an event, not a state).
//!
//! Shards (sixteen, cache-padded, by task id) spread concurrent submitters; questions about
//! the whole (counts, listings, names) visit every shard and are rare. So are the operations
//! that must be atomic across shards, exclusive admissions and shutdown, serialised on the
//! `control` lock.
//!
//! For `Exclusive::CancelPrevious` the registry also tracks, per name, the tasks started that
//! way whose callbacks are not all delivered yet. A new task of the name marks all of them,
//! and every active task of the name, as superseded: a flag on the task itself, so it can
//! never be "forgotten" while a delivery is still queued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{lock, time_left, wait_timeout, CachePadded as Padded, Condvar, Mutex};
use crate::task::cell::{CellRef, TaskCore};
use crate::{Exclusive, TaskId};

const SHARDS: usize = 16;

/// Tasks (in no particular order), finished ones swept out now and then.
#[derive(Default)]
struct Shard {
    tasks: Vec<CellRef>,
    /// How many entries the last sweep kept: the next one comes when `tasks` has doubled.
    kept: usize,
}

impl Shard {
    fn push(&mut self, cell: CellRef, swept: &mut Vec<CellRef>) {
        if self.tasks.len() >= 2 * self.kept + 64 {
            // One allocation per sweep rather than a chain of reallocations, sized for the
            // usual case (most entries finished).
            swept.reserve(self.tasks.len() / 2);
            // Order within a shard does not matter (listings sort by id): swap_remove.
            let mut at = 0;
            while at < self.tasks.len() {
                if is_active(&self.tasks[at].core) {
                    at += 1;
                } else {
                    swept.push(self.tasks.swap_remove(at));
                }
            }
            self.kept = self.tasks.len();
        }
        self.tasks.push(cell);
    }

    fn active(&self) -> impl Iterator<Item = &CellRef> {
        self.tasks.iter().filter(|cell| is_active(&cell.core))
    }
}

fn is_active(core: &TaskCore) -> bool {
    !core.state().is_terminal()
}

pub(crate) struct Registry {
    shards: [Padded<Mutex<Shard>>; SHARDS],
    /// No more admissions: the manager was shut down.
    closed: AtomicBool,
    /// Tasks submitted and not yet decided (refused ones too, until their cancellation).
    undecided: Padded<AtomicUsize>,
    /// Bumped whenever `undecided` drops to zero.
    idle_epoch: AtomicU64,
    /// One more than the most tasks any thread in `wait_until_at_most` allows, 0 when nobody
    /// waits: a decided task notifies only when the count drops below it.
    notify_below: AtomicUsize,
    control: Mutex<Control>,
    /// Notified (under `control`) when tasks are decided while somebody waits.
    left: Condvar,
}

#[derive(Default)]
struct Control {
    /// `CancelPrevious` tasks not yet settled, by name.
    unsettled_exclusive: HashMap<String, Vec<CellRef>>,
    /// How many tasks each thread in `wait_until_at_most` allows (`notify_below` is derived).
    allowances: Vec<usize>,
}

impl Control {
    fn notify_below(&self) -> usize {
        self.allowances.iter().max().map_or(0, |most| most + 1)
    }
}

/// Why a task was refused at submission.
pub(crate) enum Refusal {
    ShutDown,
    NameActive,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            shards: std::array::from_fn(|_| Padded(Mutex::new(Shard::default()))),
            closed: AtomicBool::new(false),
            undecided: Padded(AtomicUsize::new(0)),
            idle_epoch: AtomicU64::new(0),
            notify_below: AtomicUsize::new(0),
            control: Mutex::new(Control::default()),
            left: Condvar::new(),
        }
    }

    fn shard(&self, id: TaskId) -> &Mutex<Shard> {
        &self.shards[id.as_u64() as usize % SHARDS].0
    }

    /// Registers a new task, applying its exclusivity. On success, returns the active tasks it
    /// supersedes (for the caller to cancel once the locks are released).
    pub(crate) fn admit(&self, cell: &CellRef) -> Result<Vec<CellRef>, Refusal> {
        let core = &cell.core;
        match core.exclusive {
            None => {
                self.insert(cell)?;
                Ok(Vec::new())
            }
            Some(exclusive) => {
                let mut control = lock(&self.control);
                let name = core.name.as_str();
                let active = self.matching(|other| other.name.is(name));
                let superseded = match exclusive {
                    Exclusive::SkipIfActive if !active.is_empty() => {
                        return Err(Refusal::NameActive)
                    }
                    Exclusive::SkipIfActive => Vec::new(),
                    Exclusive::CancelPrevious => {
                        let earlier = control
                            .unsettled_exclusive
                            .entry(name.to_owned())
                            .or_default();
                        for older in earlier.iter().chain(&active) {
                            older.core.mark_superseded();
                        }
                        earlier.push(cell.clone());
                        active
                    }
                };
                self.insert(cell)?;
                Ok(superseded)
            }
        }
    }

    fn insert(&self, cell: &CellRef) -> Result<(), Refusal> {
        let mut swept = Vec::new();
        let mut shard = lock(self.shard(cell.core.id));
        // Checked under the shard lock: `close` then visits this shard, so a task is either
        // refused here or seen by the shutdown's `cancel_all`.
        if self.closed.load(Ordering::SeqCst) {
            return Err(Refusal::ShutDown);
        }
        shard.push(cell.clone(), &mut swept);
        drop(shard);
        // Finished tasks are dropped after the lock (and usually on the thread that created
        // them, which is the allocator's cheap path).
        drop(swept);
        Ok(())
    }

    /// A task was submitted: it counts as undecided until [`left`](Self::left). Called
    /// before admission, so that every task, refused ones included, leaves exactly once.
    pub(crate) fn entered(&self) {
        self.undecided.0.fetch_add(1, Ordering::AcqRel);
    }

    /// A task was decided. Wakes `wait_until_at_most` if somebody waits for the count just
    /// reached; otherwise costs one counter and one read of a line nobody writes.
    pub(crate) fn left(&self) {
        let before = self.undecided.0.fetch_sub(1, Ordering::AcqRel);
        if before == 1 {
            self.idle_epoch.fetch_add(1, Ordering::AcqRel);
        }
        // Pairs with the waiter's fence in `wait_until_at_most`: either it sees the count (and
        // epoch) just written, or this sees it waiting.
        fence(Ordering::SeqCst);
        if before <= self.notify_below.load(Ordering::Relaxed) {
            let _control = lock(&self.control);
            self.left.notify_all();
        }
    }

    /// Whether no task is undecided.
    pub(crate) fn is_idle(&self) -> bool {
        self.undecided.0.load(Ordering::Acquire) == 0
    }

    /// A `CancelPrevious` task settled: it can no longer be superseded.
    pub(crate) fn forget_exclusive(&self, core: &TaskCore) {
        let mut control = lock(&self.control);
        let name = core.name.as_str();
        let mut removed = None;
        if let Some(unsettled) = control.unsettled_exclusive.get_mut(name) {
            if let Some(at) = unsettled.iter().position(|cell| cell.core.id == core.id) {
                removed = Some(unsettled.swap_remove(at));
            }
            if unsettled.is_empty() {
                control.unsettled_exclusive.remove(name);
            }
        }
        drop(control);
        drop(removed);
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

    /// Empties the registry for good, returning what it held for the caller to drop outside
    /// the locks. Called when the manager goes away: entries of finished tasks wait here for
    /// the next sweep, and each holds the manager's core, which holds the registry; left in
    /// place, the core and those tasks would keep each other alive.
    pub(crate) fn drain(&self) -> Vec<CellRef> {
        let mut drained = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(&shard.0);
            drained.append(&mut shard.tasks);
            shard.kept = 0;
        }
        drained
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(&shard.0).active().count())
            .sum()
    }

    /// The task with this id, if it is (or was, and has not been swept yet) registered.
    /// Callers check its state themselves: cancelling a finished task just says so. (Not
    /// reading the state here also keeps the canceller's first access to it a
    /// compare-and-swap, which loom needs to see the race; see `tests/loom.rs`.)
    pub(crate) fn get(&self, id: TaskId) -> Option<CellRef> {
        lock(self.shard(id))
            .tasks
            .iter()
            .find(|cell| cell.core.id == id)
            .cloned()
    }

    /// The active tasks matching `pick`, in submission order (ids grow with submission).
    fn matching(&self, mut pick: impl FnMut(&TaskCore) -> bool) -> Vec<CellRef> {
        let mut cells: Vec<CellRef> = self
            .shards
            .iter()
            .flat_map(|shard| {
                lock(&shard.0)
                    .active()
                    .filter(|cell| pick(&cell.core))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        cells.sort_unstable_by_key(|cell| cell.core.id);
        cells
    }

    /// The active tasks in submission order.
    pub(crate) fn cells(&self) -> Vec<CellRef> {
        self.matching(|_| true)
    }

    /// The active tasks named `name`, in submission order.
    pub(crate) fn named(&self, name: &str) -> Vec<CellRef> {
        self.matching(|core| core.name.is(name))
    }

    /// Waits until at most `allowed` tasks are undecided or `deadline` passes (`None`: no
    /// deadline). With `allowed == 0`, also returns `true` if the registry was idle at any
    /// moment since the call began, even if new tasks came since.
    pub(crate) fn wait_until_at_most(&self, allowed: usize, deadline: Option<Instant>) -> bool {
        let mut control = lock(&self.control);
        control.allowances.push(allowed);
        self.notify_below
            .store(control.notify_below(), Ordering::Relaxed);
        fence(Ordering::SeqCst); // pairs with the fence in `left`
        let epoch = self.idle_epoch.load(Ordering::Acquire);
        let result = loop {
            if self.undecided.0.load(Ordering::Acquire) <= allowed
                || (allowed == 0 && self.idle_epoch.load(Ordering::Acquire) != epoch)
            {
                break true;
            }
            // Decided tasks notify while we wait; the slice only bounds a wake-up we could
            // not see coming (none is expected).
            let slice = match time_left(deadline) {
                Some(left) if left.is_zero() => break false,
                Some(left) => left.min(Duration::from_millis(50)),
                None => Duration::from_millis(50),
            };
            control = wait_timeout(&self.left, control, slice).0;
        };
        if let Some(at) = control.allowances.iter().position(|a| *a == allowed) {
            control.allowances.swap_remove(at);
        }
        self.notify_below
            .store(control.notify_below(), Ordering::Relaxed);
        drop(control);
        result
    }
}
