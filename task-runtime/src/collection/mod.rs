//! Work over a collection: [`TaskManager::map`], [`for_each`](TaskManager::for_each), their
//! async forms [`map_async`](TaskManager::map_async) and
//! [`for_each_async`](TaskManager::for_each_async), and the same on a [`ScopeHandle`].
//!
//! Each is one task, however many items: one handle, one registry entry, one line in a
//! progress display, its progress the items finished of the total. The blocking forms run
//! their items on the manager's workers in chunks (`spread`); the async forms keep at most
//! `parallelism` futures in flight in one `async` body (`flight`). The first failed item
//! stops the map (`halt`), as a cancel or the deadline does.

mod flight;
mod halt;
mod spread;

use std::future::Future;
use std::sync::Arc;

use crate::error::AppError;
use crate::items::Items;
use crate::manager::{Joins, TaskBuilder, TaskManager};
use crate::scope::ScopeHandle;
use crate::task::admit::Admit;
use crate::task::context::TaskContext;
use flight::{Flight, FlightBody};
use spread::{Spread, SpreadBody};

impl TaskManager {
    /// One task that runs `f` on every item of `items` on the manager's workers, at most
    /// [`parallelism`](TaskBuilder::parallelism) at once (by default `max_threads`), and
    /// completes with every result in input order. Returns an unstarted [`TaskBuilder`]:
    /// every option applies (name, callbacks, scope, timeout, priority); `start()` it.
    ///
    /// - **One task.** One handle, one registry entry, one line in a progress display. Its
    ///   progress is (items finished, total) with no code in `f`: the total is the input's
    ///   exact length when its `size_hint` says it, else the items taken so far; `(n, n)` at
    ///   the end. An empty input completes at once with `vec![]`.
    /// - **Streaming.** Each finished item is also published as `(input index, value)` when
    ///   [`on_items`](TaskBuilder::on_items) or
    ///   [`max_pending_items`](TaskBuilder::max_pending_items) was set (so `R: Clone`; wrap a
    ///   large result in an `Arc`). Otherwise nothing is buffered.
    /// - **Stops.** The first failed item fails the map with its error, with the context
    ///   `item = <index>` (a panicking item: `ERR_TASK_PANICKED`, the same context), and no
    ///   item starts after it; a cancel or the deadline likewise. Items still running then
    ///   finish their call, and their results are dropped. `f` gets the map's context, which
    ///   reads cancelled from then on ([`CancelReason::Failed`](crate::CancelReason::Failed)
    ///   after a failure).
    /// - **Cheap items.** Items are claimed in chunks sized by measurement: an item costs far
    ///   less than a task. The input is consumed lazily, a chunk at a time (an endless
    ///   iterator with a deadline is fine), under the map's lock: keep its `next` cheap (for a
    ///   slow source, such as a network listing, use [`map_async`](Self::map_async)). The items
    ///   take turns with the manager's other tasks every few milliseconds.
    /// - **Waiting for it.** Between its chunks the map holds no worker, and its items run as
    ///   jobs of the pool: a `join` of a map from a worker runs it there, with the idle
    ///   workers helping, but a map cannot finish while every worker is blocked waiting for it
    ///   in some other way. [`shutdown`](Self::shutdown) and
    ///   [`wait_for_all`](Self::wait_for_all) wait for the items still running, as for a body.
    /// - On a [`manual`](crate::TaskManagerBuilder::manual) manager, `run_all` runs every item
    ///   on the calling thread and counts the map once.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(4);
    /// let lengths = manager
    ///     .map(["a.txt", "bb.txt", "ccc.txt"], |_, name| Ok::<_, AppError>(name.len()))
    ///     .name("measure")
    ///     .start();
    /// assert_eq!(lengths.join().unwrap(), [5, 6, 7]);
    /// ```
    ///
    /// The first failure stops the rest, and names its item:
    ///
    /// ```
    /// use task_runtime::{AppError, TaskError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let parsed = manager
    ///     .map(["1", "2", "x", "4"], |_, text| text.parse::<u32>().map_err(AppError::from))
    ///     .start();
    /// match parsed.join() {
    ///     Err(TaskError::Failed(error)) => assert_eq!(error.context()["item"], "2"),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    #[track_caller]
    pub fn map<C, I, R, E, F>(&self, items: C, f: F) -> TaskBuilder<Vec<R>, (usize, R)>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        R: Clone + Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(&TaskContext, I) -> Result<R, E> + Send + Sync + 'static,
    {
        map(self.admission(), items, f)
    }

    /// [`map`](Self::map) for items without a result: one task that runs `f` on every item,
    /// and completes once all did. Every rule of `map` applies (progress, the first failure
    /// stops the rest with its index, cancel, deadline, parallelism).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(4);
    /// let sum = Arc::new(AtomicU64::new(0));
    /// let adding = Arc::clone(&sum);
    /// manager
    ///     .for_each(1..=100u64, move |_, n| {
    ///         adding.fetch_add(n, Ordering::Relaxed);
    ///         Ok::<_, AppError>(())
    ///     })
    ///     .start()
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(sum.load(Ordering::Relaxed), 5050);
    /// ```
    #[track_caller]
    pub fn for_each<C, I, E, F>(&self, items: C, f: F) -> TaskBuilder<()>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(&TaskContext, I) -> Result<(), E> + Send + Sync + 'static,
    {
        for_each(self.admission(), items, f)
    }

    /// [`map`](Self::map) with an `async` function: one `async` task that keeps at most
    /// [`parallelism`](TaskBuilder::parallelism) of the items' futures in flight (by default
    /// `max_threads`) and starts the next item as one ends: "download these 40 URLs, 8 at a
    /// time". While they wait, the items hold no worker. A cancel, the deadline or the first
    /// failure drops the futures still in flight. Every other rule of `map` applies.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1); // one worker: the waits overlap anyway
    /// let pages = manager
    ///     .map_async(1..=8u32, |ctx, id| async move {
    ///         ctx.sleep(Duration::from_millis(20)).await; // a request, say
    ///         Ok::<_, AppError>(format!("page {id}"))
    ///     })
    ///     .parallelism(8)
    ///     .start();
    /// assert_eq!(pages.join().unwrap()[7], "page 8");
    /// ```
    #[track_caller]
    pub fn map_async<C, I, R, E, F, Fut>(&self, items: C, f: F) -> TaskBuilder<Vec<R>, (usize, R)>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        R: Clone + Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        map_async(self.admission(), items, f)
    }

    /// [`for_each`](Self::for_each) with an `async` function, as
    /// [`map_async`](Self::map_async): at most `parallelism` futures in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let (sent, received) = std::sync::mpsc::channel();
    /// manager
    ///     .for_each_async(["a", "b", "c"], move |_, name| {
    ///         let sent = sent.clone();
    ///         async move {
    ///             sent.send(name).unwrap(); // an upload, say
    ///             Ok::<_, AppError>(())
    ///         }
    ///     })
    ///     .parallelism(2)
    ///     .start()
    ///     .join()
    ///     .unwrap();
    /// let mut uploaded: Vec<_> = received.try_iter().collect();
    /// uploaded.sort();
    /// assert_eq!(uploaded, ["a", "b", "c"]);
    /// ```
    #[track_caller]
    pub fn for_each_async<C, I, E, F, Fut>(&self, items: C, f: F) -> TaskBuilder<()>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        for_each_async(self.admission(), items, f)
    }
}

impl ScopeHandle {
    /// [`TaskManager::map`], the map in this scope: dropping the scope cancels it. From a
    /// body, a map in [`ctx.scope()`](TaskContext::scope) runs a collection as a subtask
    /// cancelled with the body (keep the scope while the map runs: it cancels what it holds
    /// when dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let total = manager.spawn(|ctx| {
    ///     let parts = ctx.scope();
    ///     let sizes = parts.map(1..=4u64, |_, n| Ok::<_, AppError>(n * 100)).start();
    ///     Ok::<_, AppError>(sizes.join().map_err(TaskError::into_app_error)?.iter().sum::<u64>())
    /// });
    /// assert_eq!(total.join().unwrap(), 1000);
    /// ```
    #[track_caller]
    pub fn map<C, I, R, E, F>(&self, items: C, f: F) -> TaskBuilder<Vec<R>, (usize, R)>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        R: Clone + Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(&TaskContext, I) -> Result<R, E> + Send + Sync + 'static,
    {
        map(Arc::clone(self.admission()), items, f).scope(self)
    }

    /// [`TaskManager::for_each`], in this scope.
    #[track_caller]
    pub fn for_each<C, I, E, F>(&self, items: C, f: F) -> TaskBuilder<()>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(&TaskContext, I) -> Result<(), E> + Send + Sync + 'static,
    {
        for_each(Arc::clone(self.admission()), items, f).scope(self)
    }

    /// [`TaskManager::map_async`], in this scope.
    #[track_caller]
    pub fn map_async<C, I, R, E, F, Fut>(&self, items: C, f: F) -> TaskBuilder<Vec<R>, (usize, R)>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        R: Clone + Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        map_async(Arc::clone(self.admission()), items, f).scope(self)
    }

    /// [`TaskManager::for_each_async`], in this scope.
    #[track_caller]
    pub fn for_each_async<C, I, E, F, Fut>(&self, items: C, f: F) -> TaskBuilder<()>
    where
        C: IntoIterator<Item = I>,
        C::IntoIter: Send + 'static,
        I: Send + 'static,
        E: Into<AppError> + 'static,
        F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        for_each_async(Arc::clone(self.admission()), items, f).scope(self)
    }
}

/// The input's length, when its size hint says it exactly: a map's progress total.
fn exact_length(input: &impl Iterator) -> Option<usize> {
    match input.size_hint() {
        (low, Some(high)) if low == high => Some(low),
        _ => None,
    }
}

fn map<C, I, R, E, F>(admission: Arc<dyn Admit>, items: C, f: F) -> TaskBuilder<Vec<R>, (usize, R)>
where
    C: IntoIterator<Item = I>,
    C::IntoIter: Send + 'static,
    I: Send + 'static,
    R: Clone + Send + 'static,
    E: Into<AppError> + 'static,
    F: Fn(&TaskContext, I) -> Result<R, E> + Send + Sync + 'static,
{
    let published = Items::new();
    let f = move |ctx: &TaskContext, item: I| f(ctx, item).map_err(Into::into);
    let spread = Spread::new(items.into_iter(), f, Some(Arc::clone(&published)));
    let halt = Arc::clone(&spread.halt);
    let body = SpreadBody::new(spread, |values| values);
    TaskBuilder::with_body(admission, Box::new(body), Some(published)).joining(Joins {
        feature: halt,
        after: None,
    })
}

fn for_each<C, I, E, F>(admission: Arc<dyn Admit>, items: C, f: F) -> TaskBuilder<()>
where
    C: IntoIterator<Item = I>,
    C::IntoIter: Send + 'static,
    I: Send + 'static,
    E: Into<AppError> + 'static,
    F: Fn(&TaskContext, I) -> Result<(), E> + Send + Sync + 'static,
{
    let f = move |ctx: &TaskContext, item: I| f(ctx, item).map_err(Into::into);
    let spread = Spread::new(items.into_iter(), f, None);
    let halt = Arc::clone(&spread.halt);
    let body = SpreadBody::new(spread, |_: Vec<()>| ());
    TaskBuilder::with_body(admission, Box::new(body), None).joining(Joins {
        feature: halt,
        after: None,
    })
}

fn map_async<C, I, R, E, F, Fut>(
    admission: Arc<dyn Admit>,
    items: C,
    f: F,
) -> TaskBuilder<Vec<R>, (usize, R)>
where
    C: IntoIterator<Item = I>,
    C::IntoIter: Send + 'static,
    I: Send + 'static,
    R: Clone + Send + 'static,
    E: Into<AppError> + 'static,
    F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    let published = Items::new();
    let f = move |ctx: TaskContext, item: I| {
        let future = f(ctx, item);
        async move { future.await.map_err(Into::into) }
    };
    let flight = Flight::new(
        Box::new(items.into_iter()),
        f,
        Some(Arc::clone(&published)),
        |values| values,
    );
    TaskBuilder::with_body(
        admission,
        Box::new(FlightBody::new(flight)),
        Some(published),
    )
}

fn for_each_async<C, I, E, F, Fut>(admission: Arc<dyn Admit>, items: C, f: F) -> TaskBuilder<()>
where
    C: IntoIterator<Item = I>,
    C::IntoIter: Send + 'static,
    I: Send + 'static,
    E: Into<AppError> + 'static,
    F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    let f = move |ctx: TaskContext, item: I| {
        let future = f(ctx, item);
        async move { future.await.map_err(Into::into) }
    };
    let flight = Flight::new(Box::new(items.into_iter()), f, None, |_: Vec<()>| ());
    TaskBuilder::with_body(admission, Box::new(FlightBody::new(flight)), None)
}
