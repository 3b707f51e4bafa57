//! Callbacks that stay on their thread (`TaskBuilder::local()`): they need not be `Send`.
//!
//! A local callback never enters the task. It is kept in a table of the thread that gave it
//! (its *owner*), and the task carries a [`Local`] in its place: a `Send` ticket holding the
//! callback's key. The delivery engine treats the ticket as any other callback, so ordering,
//! coalescing, exclusivity and outcomes are exactly those of other tasks. Called on the owner
//! thread, the ticket runs the callback from the table; called on any other thread, it runs
//! nothing and counts in the `ERR_DELIVERY_LOST` report of that pair of threads (coalesced:
//! one pending report per pair, naming both threads, with the count).
//!
//! Every local callback is dropped on its owner thread:
//! * a ticket dropped there removes its callback at once (outside the table's borrow, since
//!   dropping user values runs user code, which may give callbacks of its own);
//! * a ticket dropped elsewhere (a worker dropping a failed task's `on_complete`) cannot reach
//!   the table: it leaves its key in the owner's *graveyard*, emptied the next time the owner
//!   registers, runs or drops a local callback;
//! * whatever is left when the thread exits goes with its table.
//!
//! No `unsafe`: the table is a `thread_local!`, and a ticket is `Send` because it holds no
//! callback, only a key (a slot of the table and the slot's generation).

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use crate::error::{AppError, Losses};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{current_thread, lock, thread_local, Mutex, Thread, ThreadId};
use crate::task::admit::TaskHost;
use crate::task::name::TaskName;

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
    /// Deliveries of other threads' local callbacks that reached this thread, by the thread
    /// they belong to: one coalesced report per pair of threads, whatever the task.
    // Not `const { .. }`: loom's `thread_local!` takes no const block.
    #[allow(clippy::missing_const_for_thread_local)]
    static LOST_HERE: RefCell<Vec<(ThreadId, Arc<Losses>)>> = RefCell::new(Vec::new());
    /// This thread's id, asked for on every delivery (`thread::current()` clones a handle).
    static HERE: ThreadId = current_thread().id();
}

/// The calling thread's id.
fn here() -> ThreadId {
    HERE.try_with(|id| *id)
        .unwrap_or_else(|_| current_thread().id())
}

/// A local callback with its argument type erased: it takes its argument out of the
/// `Option<A>` it is handed. One box per callback.
type Erased = Box<dyn FnMut(&mut dyn Any)>;

/// Where a callback is kept in its owner's table: a slot, and the slot's generation when the
/// callback was put there, so a ticket whose callback is gone never finds a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    index: usize,
    generation: u64,
}

/// One thread's local callbacks: slots reused last-freed first, so that a thread giving and
/// running callbacks at the rate its tasks finish touches a few slots only. (A `HashMap` by
/// sequential key was measured: hashing and probing a table of every callback still waiting
/// was the largest cost of a local task.)
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
    graveyard: Arc<Graveyard>,
}

/// A slot whose generation is a live key's holds that key's callback, or is empty while the
/// callback is lent out for a call; removing the callback moves the generation on.
#[derive(Default)]
struct Slot {
    generation: u64,
    callback: Option<Erased>,
}

impl Table {
    fn insert(&mut self, callback: Erased) -> Key {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            self.slots.len() - 1
        });
        let slot = &mut self.slots[index];
        slot.callback = Some(callback);
        Key {
            index,
            generation: slot.generation,
        }
    }

    /// The callback of `key`, if it is still here.
    fn slot(&mut self, key: Key) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.index)
            .filter(|slot| slot.generation == key.generation)
    }

    /// Takes the callback of `key` out for good; its slot is free again. (`None` for a lent
    /// callback: it goes when it comes back.)
    fn remove(&mut self, key: Key) -> Option<Erased> {
        let slot = self.slot(key)?;
        slot.generation += 1;
        let callback = slot.callback.take();
        self.free.push(key.index);
        callback
    }

    /// Lends the callback of `key` out for a call; [`give_back`](Self::give_back) returns it.
    fn lend(&mut self, key: Key) -> Option<Erased> {
        self.slot(key)?.callback.take()
    }

    /// A lent callback comes back, unless it was removed meanwhile (then it is handed back, to
    /// be dropped).
    fn give_back(&mut self, key: Key, callback: Erased) -> Option<Erased> {
        match self.slot(key) {
            Some(slot) if slot.callback.is_none() => {
                slot.callback = Some(callback);
                None
            }
            _ => Some(callback),
        }
    }

    /// Takes out what the graveyard says is dead, for the caller to drop once the table is
    /// no longer borrowed.
    fn sweep(&mut self, dead: &mut Vec<Erased>) {
        // A load first: the common case, nothing buried, then writes nothing.
        if !self.graveyard.buried.load(Ordering::Acquire)
            || !self.graveyard.buried.swap(false, Ordering::AcqRel)
        {
            return;
        }
        let keys = std::mem::take(&mut *lock(&self.graveyard.keys));
        dead.extend(keys.into_iter().filter_map(|key| self.remove(key)));
    }
}

/// The keys of this thread's callbacks whose tickets were dropped on other threads.
#[derive(Default)]
struct Graveyard {
    keys: Mutex<Vec<Key>>,
    /// Some key is buried: the owner's next access takes the lock to sweep (and only then).
    buried: AtomicBool,
}

impl Graveyard {
    fn bury(&self, key: Key) {
        lock(&self.keys).push(key);
        self.buried.store(true, Ordering::Release);
    }
}

/// Runs `f` on this thread's table, with the graveyard swept; `None` while the thread is
/// exiting (the table is gone). Whatever `f` and the sweep take out is dropped after the
/// borrow ends.
fn with_table<R>(f: impl FnOnce(&mut Table, &mut Vec<Erased>) -> R) -> Option<R> {
    let mut dead = Vec::new();
    let result = TABLE
        .try_with(|table| {
            let mut table = table.try_borrow_mut().ok()?;
            table.sweep(&mut dead);
            Some(f(&mut table, &mut dead))
        })
        .ok()
        .flatten();
    drop(dead);
    result
}

/// What the local callbacks of one task share: their owner thread, where to report a
/// delivery on another thread, and the task's name for the log.
pub(crate) struct Owner {
    thread: Thread,
    graveyard: Arc<Graveyard>,
    host: Arc<TaskHost>,
    /// Set when the task is started: its name.
    task: OnceLock<TaskName>,
    /// A delivery of this task reached another thread: the task is counted (once) in that
    /// pair of threads' report.
    counted: AtomicBool,
}

impl Owner {
    /// The calling thread, as the owner of the callbacks about to be registered.
    pub(crate) fn here(host: Arc<TaskHost>) -> Arc<Owner> {
        // A thread that is exiting has no table: its callbacks are dropped at once (`register`).
        let graveyard = with_table(|table, _| Arc::clone(&table.graveyard)).unwrap_or_default();
        Arc::new(Owner {
            thread: current_thread(),
            graveyard,
            host,
            task: OnceLock::new(),
            counted: AtomicBool::new(false),
        })
    }

    /// The task's name, once it is known.
    pub(crate) fn set_task(&self, name: &TaskName) {
        let _ = self.task.set(name.clone());
    }

    fn is_current(&self) -> bool {
        here() == self.thread.id()
    }

    /// Keeps `callback` here; returns the ticket that runs it.
    pub(crate) fn register<A: 'static>(
        self: &Arc<Self>,
        mut callback: impl FnMut(A) + 'static,
        repeat: bool,
    ) -> Local<A> {
        debug_assert!(self.is_current(), "registered on the owner thread");
        let erased: Erased = Box::new(move |arg: &mut dyn Any| {
            if let Some(arg) = arg.downcast_mut::<Option<A>>().and_then(Option::take) {
                callback(arg);
            }
        });
        // No key for a thread that is exiting: the callback is dropped at once.
        let key = with_table(|table, _| table.insert(erased));
        Local {
            key,
            owner: Arc::clone(self),
            repeat,
            arg: PhantomData,
        }
    }

    /// Keeps a callback that runs once.
    pub(crate) fn register_once<A: 'static>(
        self: &Arc<Self>,
        callback: impl FnOnce(A) + 'static,
    ) -> Local<A> {
        let mut callback = Some(callback);
        self.register(
            move |arg| {
                if let Some(callback) = callback.take() {
                    callback(arg);
                }
            },
            false,
        )
    }

    /// A delivery reached another thread: the task counts (once) in the one coalesced report
    /// of this pair of threads (see `error::Losses`), kept by the thread it reached.
    fn report_elsewhere(&self) {
        let task = self.task.get().map_or("(not started)", TaskName::as_str);
        tracing::debug!(task, "a delivery of local callbacks reached another thread");
        if self.counted.swap(true, Ordering::AcqRel) {
            return;
        }
        let owner = self.thread.id();
        let losses = LOST_HERE.try_with(|lost| {
            let mut lost = lost.borrow_mut();
            if let Some((_, losses)) = lost.iter().find(|(id, _)| *id == owner) {
                return Arc::clone(losses);
            }
            let (owner, here) = (describe(&self.thread), describe(&current_thread()));
            let losses = Arc::new(Losses::new(move |n| {
                AppError::delivered_elsewhere(&owner, &here, n)
            }));
            lost.push((self.thread.id(), Arc::clone(&losses)));
            losses
        });
        match losses {
            // Outside the borrow: the report runs the error handler, user code.
            Ok(losses) => losses.lose(self.host.error_sink()),
            // This thread is exiting: report this one alone.
            Err(_) => self.host.handle_error(&AppError::delivered_elsewhere(
                &describe(&self.thread),
                &describe(&current_thread()),
                1,
            )),
        }
    }
}

/// `'name'`, or the thread's id when it has no name.
fn describe(thread: &Thread) -> String {
    match thread.name() {
        Some(name) => format!("'{name}'"),
        None => format!("{:?}", thread.id()),
    }
}

/// A callback kept on its owner thread, as the task carries it.
pub(crate) struct Local<A> {
    /// `None` if the owner thread was exiting when the callback was given.
    key: Option<Key>,
    owner: Arc<Owner>,
    /// Called again and again (`on_progress`): it goes back into the table after each call.
    repeat: bool,
    arg: PhantomData<fn(A)>,
}

impl<A: 'static> Local<A> {
    /// Runs the callback, if this is its owner thread.
    pub(crate) fn call(&mut self, arg: A) {
        if !self.owner.is_current() {
            self.owner.report_elsewhere();
            return;
        }
        let Some(key) = self.key else {
            return;
        };
        let repeat = self.repeat;
        let taken = with_table(|table, _| {
            if repeat {
                table.lend(key)
            } else {
                table.remove(key)
            }
        });
        let Some(Some(callback)) = taken else {
            return;
        };
        // A repeating callback goes back into the table after the call, even one that panics;
        // any other is dropped after it, here.
        let mut held = Held {
            key,
            callback: Some(callback),
            repeat,
        };
        let mut arg = Some(arg);
        if let Some(run) = held.callback.as_mut() {
            run(&mut arg);
        }
        debug_assert!(arg.is_none(), "a ticket's argument type is its callback's");
    }
}

/// A callback taken out of the table for its call.
struct Held {
    key: Key,
    callback: Option<Erased>,
    repeat: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(callback) = self.callback.take() else {
            return;
        };
        if self.repeat {
            let key = self.key;
            // While the thread exits there is no table: the callback is dropped here instead,
            // as is one removed while it ran.
            let _ = with_table(move |table, _| table.give_back(key, callback));
        }
    }
}

impl<A> Drop for Local<A> {
    fn drop(&mut self) {
        let Some(key) = self.key else {
            return;
        };
        if here() == self.owner.thread.id() {
            // Dropped by `with_table` once the table is no longer borrowed.
            let _ = with_table(|table, dead| dead.extend(table.remove(key)));
        } else {
            self.owner.graveyard.bury(key);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn erased() -> Erased {
        Box::new(|_: &mut dyn Any| {})
    }

    #[test]
    fn a_key_whose_callback_is_gone_never_finds_the_next_one_in_its_slot() {
        let mut table = Table::default();
        let first = table.insert(erased());
        assert!(table.remove(first).is_some());
        let second = table.insert(erased());
        assert_eq!(second.index, first.index, "the freed slot is reused");
        assert!(table.remove(first).is_none(), "a stale key finds nothing");
        assert!(table.lend(first).is_none());
        assert!(table.remove(second).is_some());
        assert!(table.remove(second).is_none(), "removed once");
    }

    #[test]
    fn a_lent_callback_comes_back_to_its_key_unless_removed_meanwhile() {
        let mut table = Table::default();
        let key = table.insert(erased());
        let lent = table.lend(key).expect("here");
        assert!(table.lend(key).is_none(), "lent once at a time");
        assert!(table.give_back(key, lent).is_none(), "kept again");
        let lent = table.lend(key).expect("back under its key");
        assert!(
            table.remove(key).is_none(),
            "nothing to hand over while lent"
        );
        let other = table.insert(erased());
        assert_eq!(other.index, key.index);
        assert!(
            table.give_back(key, lent).is_some(),
            "a callback removed while lent is handed back to be dropped"
        );
        assert!(
            table.remove(other).is_some(),
            "the slot's new callback stays"
        );
    }
}
