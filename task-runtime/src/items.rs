//! Items: typed partial results a body publishes while it runs ([`Publisher`]), delivered in
//! batches to `on_items` or taken by the handle.
//!
//! A task with items has one [`Items<P>`]: a buffer of the items published and not yet
//! delivered or taken, under a lock of its own, never held while a callback runs. Publishing
//! pushes onto the buffer (no allocation beyond the buffer's amortised growth) and, when the
//! buffer was empty and `on_items` listens, tells the task's mailbox that items are due: one
//! delivery is then pending, and it takes every item published until it runs. The drain
//! delivers items after progress and before the terminal event, and flushes what is left
//! right before the terminal one, so every item published before the body returned arrives
//! before the terminal callback.
//!
//! An item published once cancellation was requested, or after the outcome was decided, is
//! dropped at once; those before stay and are delivered, unless the task is silenced (it was
//! superseded, or its scope closed): the drain then drops them unseen. `max_pending_items`
//! makes `publish` wait while that many are in the buffer; taking them out (a delivery,
//! `take_items`), cancellation, and the end of deliveries wake it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Poll, Waker};

use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{lock, wait, Condvar, Mutex, MutexGuard};
use crate::task::cell::{CellRef, TaskCore};
use crate::task::delivery;
use crate::task::feature::Feature;
use crate::task::Task;

/// Hands a body's partial results to the UI as they come: given to the body of a task made
/// with [`TaskManager::task_with_items`](crate::TaskManager::task_with_items).
///
/// Items published before cancellation was requested are delivered (a cancelled search still
/// shows what it found); those published after it are dropped. `Send + Sync`: helper threads
/// the body starts may publish through a clone of it (`Publisher` is `Clone`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap();
/// let found = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let shown = found.clone();
/// let search = manager
///     .task_with_items(|ctx, results| {
///         for n in 1..=1000u32 {
///             ctx.check_cancelled()?;
///             if n % 100 == 0 {
///                 results.publish(n); // reaches the UI in batches, in order
///             }
///         }
///         Ok::<_, AppError>(())
///     })
///     .local()
///     .on_items(move |batch| shown.borrow_mut().extend(batch))
///     .start();
/// assert!(ui.run_until_idle(&manager, Duration::from_secs(10)));
/// assert!(search.join().is_ok());
/// assert_eq!(*found.borrow(), [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
/// ```
pub struct Publisher<P> {
    items: Arc<Items<P>>,
    cell: CellRef,
}

/// The shared part of a task's items.
pub(crate) struct Items<P> {
    buffer: Mutex<Buffer<P>>,
    /// `publish` waits here for room under `max_pending_items`.
    room: Condvar,
    /// `on_items`, taken out by the delivery that calls it (one at a time, by the drain).
    on_items: Mutex<Option<OnItems<P>>>,
    /// Set by the builder before the task starts (its submission publishes them to the body),
    /// fixed from then on.
    limit: AtomicUsize,
    listening: AtomicBool,
}

pub(crate) type OnItems<P> = Box<dyn FnMut(Vec<P>) + Send>;

struct Buffer<P> {
    pending: Vec<P>,
    /// Items published so far (for the progress display's count).
    published: u64,
    /// No delivery will ever come (the mailbox was closed or lost): publish drops items.
    closed: bool,
    /// Publishers waiting for room: only then is `room` notified (a notify is a system call
    /// even when nobody waits, and deliveries come with every batch).
    waiting: usize,
    /// `publish_async` futures waiting for room, woken where `room` is notified.
    room_wakers: Vec<Waker>,
}

impl<P> Buffer<P> {
    /// Room was made (or waiting for it ended): whether a blocked publisher must be notified,
    /// and the wakers of the async ones, to wake once the lock is released.
    fn made_room(&mut self) -> (bool, Vec<Waker>) {
        (self.waiting > 0, std::mem::take(&mut self.room_wakers))
    }
}

impl<P: Send + 'static> Items<P> {
    /// Items for a task not yet started: nobody listens, no bound.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Items {
            buffer: Mutex::new(Buffer {
                pending: Vec::new(),
                published: 0,
                closed: false,
                waiting: 0,
                room_wakers: Vec::new(),
            }),
            room: Condvar::new(),
            on_items: Mutex::new(None),
            limit: AtomicUsize::new(usize::MAX),
            listening: AtomicBool::new(false),
        })
    }

    /// `on_items`: before the task starts.
    pub(crate) fn listen(&self, on_items: OnItems<P>) {
        *lock(&self.on_items) = Some(on_items);
        self.listening.store(true, Ordering::Relaxed);
    }

    /// `max_pending_items`: before the task starts.
    pub(crate) fn limit(&self, n: usize) {
        self.limit.store(n.max(1), Ordering::Relaxed);
    }

    /// Whether anyone wants the items: `on_items` or `max_pending_items` was set (a map
    /// publishes its results only then, and buffers nothing otherwise).
    pub(crate) fn wanted(&self) -> bool {
        self.listening.load(Ordering::Relaxed) || self.limit.load(Ordering::Relaxed) != usize::MAX
    }

    /// The items not yet delivered or taken.
    pub(crate) fn take(&self) -> Vec<P> {
        let (taken, room) = {
            let mut buffer = lock(&self.buffer);
            let taken = std::mem::take(&mut buffer.pending);
            let room = if taken.is_empty() {
                (false, Vec::new())
            } else {
                buffer.made_room()
            };
            (taken, room)
        };
        self.wake(room);
        taken
    }

    /// Notifies blocked publishers and wakes async ones (see [`Buffer::made_room`]).
    fn wake(&self, (waiting, wakers): (bool, Vec<Waker>)) {
        if waiting {
            self.room.notify_all();
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// The publisher a running body gets.
    pub(crate) fn publisher(self: &Arc<Self>, cell: &CellRef) -> Publisher<P> {
        Publisher {
            items: Arc::clone(self),
            cell: cell.clone(),
        }
    }
}

/// What a handle of a task with items adds.
impl<T: Send + 'static, P: Send + 'static> Task<T, P> {
    /// The items published and not yet delivered to `on_items` nor taken, in publish order:
    /// for a frame loop without callbacks, which takes them once per frame. Taking them makes
    /// room for a body blocked by [`max_pending_items`](crate::TaskBuilder::max_pending_items).
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let mut scan = manager
    ///     .task_with_items(|_, found| {
    ///         found.publish_all(["a.txt", "b.txt"]);
    ///         Ok::<_, AppError>(2)
    ///     })
    ///     .start();
    /// let mut listed = Vec::new();
    /// loop {
    ///     listed.extend(scan.take_items()); // once per frame
    ///     if let Some(count) = scan.try_take() {
    ///         listed.extend(scan.take_items()); // what came last
    ///         assert_eq!(count.unwrap(), listed.len());
    ///         break;
    ///     }
    ///     # assert!(scan.wait_for(std::time::Duration::from_secs(10)));
    /// }
    /// assert_eq!(listed, ["a.txt", "b.txt"]);
    /// ```
    pub fn take_items(&self) -> Vec<P> {
        self.core()
            .feature::<Items<P>>()
            .map(|items| items.take())
            .unwrap_or_default()
    }
}

/// A task's items, as a feature of the task: the drain delivers them, a stop wakes a
/// publisher waiting for room, the end of deliveries closes them.
impl<P: Send + 'static> Feature for Items<P> {
    /// Delivers the pending items to `on_items` as one batch (none if there are none); drops
    /// them unseen if `silenced`.
    fn deliver(&self, task: &TaskCore, silenced: bool) {
        // Without `on_items`, the items wait for `take_items`, even after the end.
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        let batch = self.take();
        if batch.is_empty() {
            return;
        }
        let host = &task.host;
        if silenced {
            host.drop_user_value(batch, task.name());
            return;
        }
        let callback = lock(&self.on_items).take();
        if let Some(mut callback) = callback {
            host.run_callback("on_items", task.name(), || callback(batch));
            *lock(&self.on_items) = Some(callback);
        }
    }

    /// The task was asked to stop: a publisher waiting for room gives up.
    fn stop_requested(&self, _task: &TaskCore) {
        // Taken under the lock: a publisher between its check and its wait cannot miss this.
        let room = lock(&self.buffer).made_room();
        self.wake(room);
    }

    /// No delivery will ever come: later items are dropped, and so are the pending ones if
    /// `on_items` was to take them (without it they stay for `take_items`).
    fn closed(&self, task: &TaskCore) {
        let listening = self.listening.load(Ordering::Relaxed);
        let (pending, room) = {
            let mut buffer = lock(&self.buffer);
            buffer.closed = true;
            // Those of `on_items` go with the deliveries; the others stay for `take_items`.
            let pending = if listening {
                std::mem::take(&mut buffer.pending)
            } else {
                Vec::new()
            };
            (pending, buffer.made_room())
        };
        self.wake(room);
        task.host.drop_user_value(pending, task.name());
        if let Some(callback) = lock(&self.on_items).take() {
            task.host.drop_user_value(callback, task.name());
        }
    }
}

impl<P: Send + 'static> Publisher<P> {
    /// Publishes one item. Returns at once, unless the task has `max_pending_items(n)` and n
    /// items wait to be delivered (or taken): then it waits for room, or until the task is
    /// cancelled. Dropped without a word once cancellation was requested or the task has
    /// its outcome.
    pub fn publish(&self, item: P) {
        self.put(&mut std::iter::once(item));
    }

    /// In an `async` body: publishes one item as [`publish`](Self::publish) does, but waits
    /// for room (under [`max_pending_items`](crate::TaskBuilder::max_pending_items)) without
    /// holding a worker. Ready at once when there is room; the item is dropped if the task was
    /// asked to stop, has its outcome or delivers no more.
    ///
    /// ```
    /// use task_runtime::{AppError, Publisher, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let task = manager
    ///     .task_async_with_items(|_, lines: Publisher<u32>| async move {
    ///         for n in 0..100 {
    ///             lines.publish_async(n).await; // at most 8 wait: then this waits
    ///         }
    ///         Ok::<_, AppError>(())
    ///     })
    ///     .max_pending_items(8)
    ///     .start();
    /// let mut got = Vec::new();
    /// while got.len() < 100 {
    ///     got.extend(task.take_items()); // makes room
    ///     std::thread::yield_now();
    /// }
    /// task.join().unwrap();
    /// assert_eq!(got, (0..100).collect::<Vec<_>>());
    /// ```
    pub fn publish_async(&self, item: P) -> impl Future<Output = ()> + Send + '_ {
        let mut item = Some(item);
        std::future::poll_fn(move |cx| {
            let Some(offered) = item.take() else {
                return Poll::Ready(());
            };
            match self.offer(offered, cx.waker()) {
                Some(back) => {
                    item = Some(back);
                    Poll::Pending
                }
                None => Poll::Ready(()),
            }
        })
    }

    /// Puts `item` in the buffer if there is room (or drops it if nobody will take it):
    /// `None`. Without room it is given back, and `waker` is woken once there is.
    fn offer(&self, item: P, waker: &Waker) -> Option<P> {
        let core = &self.cell.core;
        let mut buffer = lock(&self.items.buffer);
        if buffer.closed || core.is_cancelled() || core.state().is_terminal() {
            drop(buffer);
            core.host.drop_user_value(item, core.name());
            return None;
        }
        if buffer.pending.len() >= self.items.limit.load(Ordering::Relaxed) {
            if !buffer.room_wakers.iter().any(|w| w.will_wake(waker)) {
                buffer.room_wakers.push(waker.clone());
            }
            return Some(item);
        }
        self.store(buffer, &mut std::iter::once(item));
        None
    }

    /// Publishes every item of `items`, in order, as [`publish`](Self::publish) does each.
    /// The iterator runs outside the items' lock (it may be slow, or publish itself), a
    /// chunk at a time.
    pub fn publish_all(&self, items: impl IntoIterator<Item = P>) {
        const CHUNK: usize = 256;
        let mut items = items.into_iter();
        let mut chunk = Vec::new();
        loop {
            chunk.extend(items.by_ref().take(CHUNK));
            if chunk.is_empty() || !self.put(&mut chunk.drain(..)) {
                return;
            }
        }
    }

    /// Moves `items` (the publisher's own: no user code runs while the lock is held) into
    /// the buffer, waiting for room as needed. Returns `false` if they were dropped: the task
    /// was asked to stop, has its outcome, or delivers no more.
    fn put(&self, items: &mut impl ExactSizeIterator<Item = P>) -> bool {
        let core = &self.cell.core;
        let limit = self.items.limit.load(Ordering::Relaxed);
        while items.len() > 0 {
            let mut buffer = lock(&self.items.buffer);
            loop {
                if buffer.closed || core.is_cancelled() || core.state().is_terminal() {
                    return false;
                }
                if buffer.pending.len() < limit {
                    break;
                }
                buffer.waiting += 1;
                buffer = wait(&self.items.room, buffer);
                buffer.waiting -= 1;
            }
            self.store(buffer, items);
        }
        true
    }

    /// Moves as many of `items` as there is room for into the locked `buffer`, then (the lock
    /// released) tells the task's features and asks for a delivery if the buffer was empty.
    fn store(
        &self,
        mut buffer: MutexGuard<'_, Buffer<P>>,
        items: &mut impl ExactSizeIterator<Item = P>,
    ) {
        let core = &self.cell.core;
        let limit = self.items.limit.load(Ordering::Relaxed);
        let was_empty = buffer.pending.is_empty();
        let room = limit.saturating_sub(buffer.pending.len());
        let before = buffer.pending.len();
        buffer.pending.extend(items.by_ref().take(room));
        buffer.published += (buffer.pending.len() - before) as u64;
        let published = buffer.published;
        drop(buffer);
        for feature in core.features() {
            feature.published(core, published);
        }
        if was_empty && self.items.listening.load(Ordering::Relaxed) {
            delivery::post_items(&self.cell);
        }
    }

    /// Whether cancellation was requested: what is published from now on is dropped. See
    /// also [`is_closed`](Self::is_closed), which also covers a task that ended.
    pub fn is_cancelled(&self) -> bool {
        self.cell.core.is_cancelled()
    }

    /// Whether nothing published from now on can reach anyone: the task ended (a publisher
    /// kept by a helper thread after the body returned), was cancelled, or its items are no
    /// longer wanted (its scope was closed or cancelled, a newer task of its name replaced it,
    /// or its deliveries were lost). A helper thread that produces items for the task can
    /// stop when this turns `true`.
    ///
    /// ```
    /// use task_runtime::{AppError, Publisher, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let (keep, kept) = std::sync::mpsc::channel();
    /// let task = manager
    ///     .task_with_items(move |_, items: &Publisher<String>| {
    ///         assert!(!items.is_closed());
    ///         keep.send(items.clone()).unwrap(); // outlives the body
    ///         Ok::<_, AppError>(())
    ///     })
    ///     .start();
    /// task.join().unwrap();
    /// let items = kept.recv().unwrap();
    /// assert!(items.is_closed(), "the task ended: a publish would be dropped");
    /// assert!(!items.is_cancelled());
    /// ```
    pub fn is_closed(&self) -> bool {
        let core = &self.cell.core;
        core.is_cancelled()
            || core.state().is_terminal()
            || core.is_silenced()
            || lock(&self.items.buffer).closed
    }
}

impl<P> Clone for Publisher<P> {
    fn clone(&self) -> Self {
        Publisher {
            items: Arc::clone(&self.items),
            cell: self.cell.clone(),
        }
    }
}

impl<P> fmt::Debug for Publisher<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("task", &self.cell.core.id)
            .field("limit", &self.items.limit.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
