//! [`Signal`]: a list of slots called on every emission (Qt's signal/slot, without the
//! meta-object compiler), and the manager's lifecycle signals.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::AppError;
use crate::sync::{lock, Mutex};
use crate::unwind::{self, Panic};
use crate::vocabulary::TaskInfo;

type SlotFn<A> = Arc<dyn Fn(&A) + Send + Sync>;

/// A set of callbacks ("slots") called with a reference to the argument each time the signal
/// is emitted.
///
/// Slots may connect and disconnect from any thread, also from inside a slot. An emission
/// calls the slots connected when it starts, in connection order. A panicking slot does not
/// keep the others from running; for the manager's signals the panic is reported to the
/// error handler.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use task_runtime::Signal;
///
/// let saved: Signal<String> = Signal::new();
/// let count = Arc::new(AtomicU32::new(0));
/// let c = count.clone();
/// let connection = saved.connect(move |path: &String| {
///     assert!(path.ends_with(".txt"));
///     c.fetch_add(1, Ordering::SeqCst);
/// });
/// saved.emit(&"notes.txt".to_string());
/// assert!(saved.disconnect(connection));
/// saved.emit(&"ignored.txt".to_string());
/// assert_eq!(count.load(Ordering::SeqCst), 1);
/// ```
pub struct Signal<A> {
    slots: Mutex<Vec<(u64, SlotFn<A>)>>,
    /// Mirrors `slots.len()` so that "is anybody listening?" costs no lock on hot paths.
    count: AtomicUsize,
}

/// Identifies one slot of one signal; pass it to [`Signal::disconnect`].
///
/// Dropping a `Connection` does not disconnect the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Connection {
    id: u64,
}

impl<A> Signal<A> {
    /// Creates a signal with no slots.
    pub fn new() -> Self {
        Signal {
            slots: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
        }
    }

    /// Connects a slot; it is called on every later emission until disconnected.
    pub fn connect(&self, slot: impl Fn(&A) + Send + Sync + 'static) -> Connection {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut slots = lock(&self.slots);
        slots.push((id, Arc::new(slot)));
        self.count.store(slots.len(), Ordering::Release);
        Connection { id }
    }

    /// Disconnects a slot; returns `false` if it was not connected to this signal.
    /// An emission already under way may still call it once.
    pub fn disconnect(&self, connection: Connection) -> bool {
        let mut slots = lock(&self.slots);
        let before = slots.len();
        slots.retain(|(id, _)| *id != connection.id);
        self.count.store(slots.len(), Ordering::Release);
        slots.len() != before
    }

    /// Whether at least one slot is connected.
    pub fn is_connected(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    /// How many slots are connected.
    pub fn slot_count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Calls every connected slot with `arg`, on the calling thread.
    ///
    /// # Panics
    ///
    /// If a slot panics, the remaining slots still run, then the first panic is resumed.
    pub fn emit(&self, arg: &A) {
        let mut first = None;
        self.emit_with(arg, |panic| {
            first.get_or_insert(panic);
        });
        if let Some(panic) = first {
            std::panic::resume_unwind(Box::new(format!(
                "a signal slot panicked: {}",
                panic.message()
            )));
        }
    }

    /// Calls every slot, handing each panic to `on_panic`.
    pub(crate) fn emit_with(&self, arg: &A, mut on_panic: impl FnMut(Panic)) {
        if !self.is_connected() {
            return;
        }
        // Slots run without the lock held, so they may connect and disconnect freely.
        let slots: Vec<SlotFn<A>> = lock(&self.slots).iter().map(|(_, s)| s.clone()).collect();
        for slot in slots {
            if let Err(panic) = unwind::catch(|| slot(arg)) {
                on_panic(panic);
            }
        }
    }
}

impl<A> Default for Signal<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> fmt::Debug for Signal<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("slots", &self.slot_count())
            .finish()
    }
}

/// The manager's lifecycle signals (Python: `TaskManager.task_started` and friends).
///
/// Emitted through the manager's dispatcher, after the task's own callback for the same
/// event. Every task ends with exactly one of `task_completed`, `task_failed`,
/// `task_cancelled`; `task_started` fires only for tasks whose body started.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use task_runtime::{AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap();
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let l = log.clone();
/// manager.signals().task_completed.connect(move |info| l.lock().unwrap().push(info.name.clone()));
///
/// manager.task(|_| Ok::<_, AppError>(())).name("save").start();
/// assert!(ui.run_until_idle(&manager, Duration::from_secs(10)));
/// assert_eq!(*log.lock().unwrap(), ["save"]);
/// ```
#[derive(Debug, Default)]
pub struct ManagerSignals {
    /// A task's body started.
    pub task_started: Signal<TaskInfo>,
    /// A task completed.
    pub task_completed: Signal<TaskInfo>,
    /// A task was cancelled (while queued or while running).
    pub task_cancelled: Signal<TaskInfo>,
    /// A task failed, with the error (already carrying `task = <name>` context).
    pub task_failed: Signal<(TaskInfo, AppError)>,
}
