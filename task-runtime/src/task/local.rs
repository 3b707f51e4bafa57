//! Callbacks that stay on their thread (`TaskBuilder::local()`): they need not be `Send`.
//!
//! A local callback never enters the task. It is kept in a table of the thread that gave it
//! (its *owner*), and the task carries a [`Local`] in its place: a `Send` ticket holding the
//! callback's key. The delivery engine treats the ticket as any other callback, so ordering,
//! coalescing, exclusivity and outcomes are exactly those of other tasks. Called on the owner
//! thread, the ticket runs the callback from the table; called on any other thread, it runs
//! nothing and reports `ERR_DELIVERY_LOST`, naming both threads (once per task).
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
//! callback, only a number.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use crate::host::Host;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{current_thread, lock, thread_local, Mutex, ThreadId};

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// One thread's local callbacks, by key.
#[derive(Default)]
struct Table {
    next_key: u64,
    /// Each a `Box<dyn FnMut(A)>` for the argument type `A` of its ticket.
    callbacks: HashMap<u64, Box<dyn Any>>,
    graveyard: Arc<Graveyard>,
}

/// The keys of this thread's callbacks whose tickets were dropped on other threads.
#[derive(Default)]
struct Graveyard {
    keys: Mutex<Vec<u64>>,
    /// Some key is buried: the owner's next access takes the lock to sweep (and only then).
    buried: AtomicBool,
}

impl Graveyard {
    fn bury(&self, key: u64) {
        lock(&self.keys).push(key);
        self.buried.store(true, Ordering::Release);
    }
}

impl Table {
    /// Takes out what the graveyard says is dead, for the caller to drop once the table is
    /// no longer borrowed.
    fn sweep(&mut self, dead: &mut Vec<Box<dyn Any>>) {
        if !self.graveyard.buried.swap(false, Ordering::AcqRel) {
            return;
        }
        let keys = std::mem::take(&mut *lock(&self.graveyard.keys));
        dead.extend(keys.iter().filter_map(|key| self.callbacks.remove(key)));
    }
}

/// Runs `f` on this thread's table, with the graveyard swept; `None` while the thread is
/// exiting (the table is gone). Whatever `f` and the sweep take out is dropped after the
/// borrow ends.
fn with_table<R>(f: impl FnOnce(&mut Table, &mut Vec<Box<dyn Any>>) -> R) -> Option<R> {
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
/// delivery on another thread, and the task's name for that report.
pub(crate) struct Owner {
    thread: ThreadId,
    thread_name: Option<String>,
    graveyard: Arc<Graveyard>,
    host: Arc<Host>,
    /// Set when the task starts: its name.
    task: OnceLock<String>,
    reported: AtomicBool,
}

impl Owner {
    /// The calling thread, as the owner of the callbacks about to be registered.
    pub(crate) fn here(host: Arc<Host>) -> Arc<Owner> {
        // A thread that is exiting has no table: its callbacks are dropped at once (`register`).
        let graveyard = with_table(|table, _| Arc::clone(&table.graveyard)).unwrap_or_default();
        let thread = current_thread();
        Arc::new(Owner {
            thread: thread.id(),
            thread_name: thread.name().map(str::to_owned),
            graveyard,
            host,
            task: OnceLock::new(),
            reported: AtomicBool::new(false),
        })
    }

    /// The task's name, once it is known.
    pub(crate) fn set_task(&self, name: &str) {
        let _ = self.task.set(name.to_owned());
    }

    fn is_current(&self) -> bool {
        current_thread().id() == self.thread
    }

    /// Keeps `callback` here; returns the ticket that runs it.
    pub(crate) fn register<A: 'static>(
        self: &Arc<Self>,
        callback: impl FnMut(A) + 'static,
        repeat: bool,
    ) -> Local<A> {
        debug_assert!(self.is_current(), "registered on the owner thread");
        let boxed: Box<dyn FnMut(A)> = Box::new(callback);
        // Keys start at 1; 0, for a thread that is exiting, names nothing.
        let key = with_table(|table, _| {
            table.next_key += 1;
            table.callbacks.insert(table.next_key, Box::new(boxed));
            table.next_key
        })
        .unwrap_or(0);
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

    /// A delivery reached another thread: say so, once per task.
    fn report_elsewhere(&self) {
        if self.reported.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = self.task.get().map_or("(not started)", String::as_str);
        let error = crate::error::AppError::delivered_elsewhere(
            task,
            &describe(self.thread, self.thread_name.clone()),
            &describe(
                current_thread().id(),
                current_thread().name().map(str::to_owned),
            ),
        );
        self.host.handle_error(&error);
    }
}

/// `'name'`, or the thread's id when it has no name.
fn describe(thread: ThreadId, name: Option<String>) -> String {
    match name {
        Some(name) => format!("'{name}'"),
        None => format!("{thread:?}"),
    }
}

/// A callback kept on its owner thread, as the task carries it.
pub(crate) struct Local<A> {
    key: u64,
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
        let key = self.key;
        let Some(Some(callback)) = with_table(|table, _| table.callbacks.remove(&key)) else {
            return;
        };
        // A repeating callback goes back into the table after the call, even one that panics;
        // any other is dropped after it, here.
        let mut held = Held {
            key,
            callback: Some(callback),
            repeat: self.repeat,
        };
        let run = held
            .callback
            .as_mut()
            .and_then(|callback| callback.downcast_mut::<Box<dyn FnMut(A)>>())
            .expect("a ticket's argument type is its callback's");
        run(arg);
    }
}

/// A callback taken out of the table for its call.
struct Held {
    key: u64,
    callback: Option<Box<dyn Any>>,
    repeat: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(callback) = self.callback.take() else {
            return;
        };
        if self.repeat {
            let key = self.key;
            // While the thread exits there is no table: the callback is dropped here instead.
            let _ = with_table(move |table, _| table.callbacks.insert(key, callback));
        }
    }
}

impl<A> Drop for Local<A> {
    fn drop(&mut self) {
        let key = self.key;
        if current_thread().id() == self.owner.thread {
            // Dropped by `with_table` once the table is no longer borrowed.
            let _ = with_table(|table, dead| dead.extend(table.callbacks.remove(&key)));
        } else {
            self.owner.graveyard.bury(key);
        }
    }
}
