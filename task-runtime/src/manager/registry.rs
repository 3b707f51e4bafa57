//! The registry of active tasks: queued or running, not yet decided.
//!
//! A task enters when it is submitted and leaves the moment its outcome is decided, before
//! its terminal callback runs (guarantee 6). Every task has its own entry, keyed by id, so two
//! tasks of one name never overwrite each other (a bug of the Python system).
//!
//! For `Exclusive::CancelPrevious` the registry also tracks, per name, the tasks started that
//! way whose callbacks are not all delivered yet (they may have left `active` already). A new
//! task of the name marks all of them, and every active task of the name, as superseded: a
//! flag on the task itself, so it can never be "forgotten" while a delivery is still queued.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use crate::sync::{lock, wait_timeout, Condvar, Mutex};
use crate::task::cell::{CellRef, TaskCore};
use crate::{Exclusive, TaskId};

pub(crate) struct Registry {
    inner: Mutex<Inner>,
    /// Notified when the last active task leaves (if somebody waits).
    emptied: Condvar,
}

struct Inner {
    active: HashMap<TaskId, CellRef, BuildHasherDefault<IdHasher>>,
    /// No more admissions: the manager was shut down.
    closed: bool,
    waiters: usize,
    /// `CancelPrevious` tasks not yet settled, by name.
    unsettled_exclusive: HashMap<String, Vec<CellRef>>,
}

/// Why a task was refused at submission.
pub(crate) enum Refusal {
    ShutDown,
    NameActive,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            inner: Mutex::new(Inner {
                active: HashMap::default(),
                closed: false,
                waiters: 0,
                unsettled_exclusive: HashMap::new(),
            }),
            emptied: Condvar::new(),
        }
    }

    /// Registers a new task, applying its exclusivity. On success, returns the active tasks it
    /// supersedes (for the caller to cancel once the lock is released).
    pub(crate) fn admit(&self, cell: &CellRef) -> Result<Vec<CellRef>, Refusal> {
        let core = &cell.core;
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(Refusal::ShutDown);
        }
        let superseded = match core.exclusive {
            None => Vec::new(),
            Some(Exclusive::SkipIfActive) => {
                if inner
                    .active
                    .values()
                    .any(|c| c.core.name.is(core.name.as_str()))
                {
                    return Err(Refusal::NameActive);
                }
                Vec::new()
            }
            Some(Exclusive::CancelPrevious) => {
                let name = core.name.as_str();
                let earlier = inner
                    .unsettled_exclusive
                    .entry(name.to_owned())
                    .or_default();
                for older in earlier.iter() {
                    older.core.mark_superseded();
                }
                earlier.push(cell.clone());
                let active: Vec<CellRef> = inner
                    .active
                    .values()
                    .filter(|c| c.core.name.is(name))
                    .cloned()
                    .collect();
                for older in &active {
                    older.core.mark_superseded();
                }
                active
            }
        };
        inner.active.insert(core.id, cell.clone());
        Ok(superseded)
    }

    pub(crate) fn remove(&self, id: TaskId) {
        let mut inner = lock(&self.inner);
        let removed = inner.active.remove(&id);
        if removed.is_some() && inner.active.is_empty() && inner.waiters > 0 {
            self.emptied.notify_all();
        }
        drop(inner);
        // Dropped after the lock: were it the last reference, user data would drop with it.
        drop(removed);
    }

    /// A `CancelPrevious` task settled: it can no longer be superseded.
    pub(crate) fn forget_exclusive(&self, core: &TaskCore) {
        let mut inner = lock(&self.inner);
        let name = core.name.as_str();
        let mut removed = None;
        if let Some(unsettled) = inner.unsettled_exclusive.get_mut(name) {
            if let Some(at) = unsettled.iter().position(|cell| cell.core.id == core.id) {
                removed = Some(unsettled.swap_remove(at));
            }
            if unsettled.is_empty() {
                inner.unsettled_exclusive.remove(name);
            }
        }
        drop(inner);
        drop(removed);
    }

    pub(crate) fn close(&self) {
        lock(&self.inner).closed = true;
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.inner).active.len()
    }

    pub(crate) fn get(&self, id: TaskId) -> Option<CellRef> {
        lock(&self.inner).active.get(&id).cloned()
    }

    /// The active tasks in submission order (ids grow with submission).
    pub(crate) fn cells(&self) -> Vec<CellRef> {
        let mut cells: Vec<CellRef> = lock(&self.inner).active.values().cloned().collect();
        cells.sort_unstable_by_key(|cell| cell.core.id);
        cells
    }

    /// Waits until at most `allowed` tasks are active or `deadline` passes.
    pub(crate) fn wait_until_at_most(&self, allowed: usize, deadline: Instant) -> bool {
        let mut inner = lock(&self.inner);
        while inner.active.len() > allowed {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            inner.waiters += 1;
            // With `allowed > 0` the condvar only fires at zero, so wake up now and then.
            let slice = if allowed == 0 {
                deadline - now
            } else {
                (deadline - now).min(std::time::Duration::from_millis(5))
            };
            inner = wait_timeout(&self.emptied, inner, slice).0;
            inner.waiters -= 1;
        }
        true
    }
}

/// Task ids are sequential integers: spreading them with one multiplication is all the
/// hashing they need (SipHash would cost more than the map operation itself).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
