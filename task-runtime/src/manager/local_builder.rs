//! [`LocalTaskBuilder`]: a task whose callbacks stay on the thread that made it.

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use super::task_builder::TaskBuilder;
use crate::dispatch::{Dispatcher, RunsJobs};
use crate::error::AppError;
use crate::local::Owner;
use crate::progress::Progress;
use crate::task::Task;

/// A [`TaskBuilder`] whose callbacks are `'static` but need not be `Send`: they may capture
/// `Rc<RefCell<..>>`, GTK widgets, slint models, anything of the UI thread. Made by
/// [`TaskBuilder::local`].
///
/// The callbacks never leave the thread that called `local()`: they are kept there, and the
/// task carries only its body and its value to the worker. They run there only, through a
/// dispatcher that runs jobs on that thread (an [`EventLoop`](crate::EventLoop) the thread
/// created and drains, or a toolkit's own `Dispatcher::from_fn` that runs jobs on its main
/// loop), and are dropped there, at the latest when the thread exits. Ordering, coalescing,
/// exclusivity and outcomes are those of [`TaskBuilder`]; the [`Task`] handle is `Send` as
/// ever.
///
/// What it costs: per callback, two more allocations when it is given and a table lookup when
/// it runs, both on the UI thread; the worker's side is unchanged.
///
/// # Panics
///
/// [`start`](Self::start) panics where the task's dispatcher cannot deliver to this thread:
/// [`Dispatcher::worker_thread`], or an `EventLoop` created on another thread. A
/// `Dispatcher::from_fn` is trusted; if its jobs still run on another thread, no callback
/// runs there: `ERR_DELIVERY_LOST` goes to the error handler, naming both threads, and the
/// task's outcome and handle are unaffected.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use task_runtime::{AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap();
///
/// // UI state of this thread: not `Send`, and no `Arc<Mutex<..>>` needed.
/// let status = Rc::new(RefCell::new(String::from("loading")));
/// let shown = Rc::clone(&status);
/// manager
///     .task(|_ctx| Ok::<_, AppError>(6 * 7))
///     .local()
///     .on_progress(|p| println!("{p}"))
///     .on_complete(move |answer| *shown.borrow_mut() = format!("answer: {answer}"))
///     .start();
///
/// assert!(ui.run_until_idle(&manager, Duration::from_secs(10)));
/// assert_eq!(*status.borrow(), "answer: 42");
/// ```
#[must_use = "a LocalTaskBuilder does nothing until `.start()` is called"]
pub struct LocalTaskBuilder<T, P = ()> {
    inner: TaskBuilder<T, P>,
    owner: Arc<Owner>,
    /// Not `Send`: its callbacks are registered with the thread that holds it.
    here: PhantomData<Rc<()>>,
    /// Whose words `start`'s panic speaks in.
    made_by: MadeBy,
}

/// Who wrote the code that made a local task: its panic advises in their terms.
#[derive(Clone, Copy)]
enum MadeBy {
    /// `.local()` on a builder.
    Builder,
    /// `local = true` on an attribute, with or without its `manager = ..` key.
    Attribute { manager_key: bool },
}

impl<T: Send + 'static, P: Send + 'static> TaskBuilder<T, P> {
    /// Callbacks that run on this thread only and need not be `Send`; see
    /// [`LocalTaskBuilder`].
    pub fn local(self) -> LocalTaskBuilder<T, P> {
        LocalTaskBuilder::new(self)
    }
}

impl<T: Send + 'static, P: Send + 'static> LocalTaskBuilder<T, P> {
    pub(super) fn new(inner: TaskBuilder<T, P>) -> Self {
        let owner = Owner::here(Arc::clone(inner.host()));
        LocalTaskBuilder {
            inner,
            owner,
            here: PhantomData,
            made_by: MadeBy::Builder,
        }
    }

    /// Called with the value when the body completes, on this thread. As
    /// [`TaskBuilder::on_complete`], the builder then yields `()`.
    pub fn on_complete(self, f: impl FnOnce(T) + 'static) -> LocalTaskBuilder<(), P> {
        let mut local = self.owner.register_once(f);
        LocalTaskBuilder {
            inner: self.inner.on_complete(move |value| local.call(value)),
            owner: self.owner,
            here: PhantomData,
            made_by: self.made_by,
        }
    }

    /// Queues the task and returns its handle, as [`TaskBuilder::start`] does.
    ///
    /// # Panics
    ///
    /// If the task's dispatcher cannot deliver to this thread (see the type's docs).
    #[track_caller]
    pub fn start(self) -> Task<T, P> {
        check_delivers_here(self.inner.chosen_dispatcher(), self.made_by);
        let owner = self.owner;
        self.inner.start_named(|name| owner.set_task(name))
    }
}

/// Panics, saying what to do, when `dispatcher` cannot deliver to the calling thread: in
/// terms of `local()` and `dispatcher(..)` for a builder, of `local = true` and `manager = ..`
/// for an attribute.
#[track_caller]
fn check_delivers_here(dispatcher: &Dispatcher, made_by: MadeBy) {
    const MANAGER: &str = "`manager = <a manager whose dispatcher is this thread's EventLoop>` \
                           (one built with `TaskManager::builder().dispatcher(ui.dispatcher())`, \
                           `ui` an EventLoop this thread drains)";
    let here = std::thread::current();
    let here_name = || {
        here.name()
            .map_or_else(|| format!("{:?}", here.id()), str::to_owned)
    };
    match (dispatcher.runs_jobs(), made_by) {
        (RunsJobs::WhereDispatched, MadeBy::Builder) => panic!(
            "a local task's callbacks run on the thread that called `local()`, but its \
             dispatcher runs them on worker threads; give the manager (or the task) the \
             dispatcher of an EventLoop this thread drains: \
             `TaskManager::builder().dispatcher(ui.dispatcher())`"
        ),
        (RunsJobs::WhereDispatched, MadeBy::Attribute { manager_key: true }) => panic!(
            "`local = true` keeps a task's callbacks on the thread that calls the method, but \
             the manager given by `manager = ..` runs callbacks on its worker threads; give \
             the attribute {MANAGER}"
        ),
        (RunsJobs::WhereDispatched, MadeBy::Attribute { manager_key: false }) => panic!(
            "`local = true` keeps a task's callbacks on the thread that calls the method, but \
             without `manager = ..` the task runs on the global manager, whose dispatcher runs \
             callbacks on its worker threads; give the attribute {MANAGER}, or give the global \
             manager such a dispatcher with `init_global` before its first use"
        ),
        (RunsJobs::On(owner), MadeBy::Builder) if owner != here.id() => panic!(
            "a local task's callbacks run on the thread that called `local()` ({}), but its \
             dispatcher is an EventLoop created on another thread ({owner:?}), which only \
             that thread drains; call `local()` on that thread, or create the EventLoop on \
             this one",
            here_name(),
        ),
        (RunsJobs::On(owner), MadeBy::Attribute { .. }) if owner != here.id() => panic!(
            "`local = true` keeps a task's callbacks on the thread that calls the method ({}), \
             but its manager's dispatcher is an EventLoop created on another thread \
             ({owner:?}), which only that thread drains; call the method on that thread, or \
             give the attribute {MANAGER}",
            here_name(),
        ),
        (RunsJobs::On(_) | RunsJobs::Unknown, _) => {}
    }
}

// No bounds on the options, as on `TaskBuilder`.
impl<T, P> LocalTaskBuilder<T, P> {
    fn map(self, f: impl FnOnce(TaskBuilder<T, P>) -> TaskBuilder<T, P>) -> Self {
        LocalTaskBuilder {
            inner: f(self.inner),
            owner: self.owner,
            here: PhantomData,
            made_by: self.made_by,
        }
    }

    super::options::task_options!(|this| this.inner);

    /// Called on this thread when the body starts, before any progress.
    pub fn on_started(self, f: impl FnOnce() + 'static) -> Self {
        let mut local = self.owner.register_once(move |()| f());
        self.map(|inner| inner.on_started(move || local.call(())))
    }

    /// Called on this thread with the error when the body fails or panics; see
    /// [`TaskBuilder::on_error`].
    pub fn on_error(self, f: impl FnOnce(AppError) + 'static) -> Self {
        let mut local = self.owner.register_once(f);
        self.map(|inner| inner.on_error(move |error| local.call(error)))
    }

    /// Called on this thread with the latest progress, coalesced as for
    /// [`TaskBuilder::on_progress`].
    pub fn on_progress(self, f: impl FnMut(Progress) + 'static) -> Self {
        let mut local = self.owner.register(f, true);
        self.map(|inner| inner.on_progress(move |progress| local.call(progress)))
    }

    /// Called on this thread when the task is cancelled, whether it was queued or running.
    pub fn on_cancelled(self, f: impl FnOnce() + 'static) -> Self {
        let mut local = self.owner.register_once(move |()| f());
        self.map(|inner| inner.on_cancelled(move || local.call(())))
    }

    /// [`name`](Self::name) for a name fixed at compile time (the macros' `task_name`).
    /// As [`TaskBuilder::on_items`], on this thread: `f` need not be `Send`.
    pub fn on_items(self, f: impl FnMut(Vec<P>) + 'static) -> Self
    where
        P: Send + 'static,
    {
        let mut local = self.owner.register(f, true);
        self.map(|inner| inner.on_items(move |batch| local.call(batch)))
    }

    /// Marks a task made by an attribute's `local = true`, so that a panic of
    /// [`start`](Self::start) names the attribute's keys: `manager_key` says whether it was
    /// given `manager = ..`.
    pub(crate) fn made_by_attribute(mut self, manager_key: bool) -> Self {
        self.made_by = MadeBy::Attribute { manager_key };
        self
    }
}

impl<T, P> fmt::Debug for LocalTaskBuilder<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalTaskBuilder")
            .field(&self.inner)
            .finish()
    }
}
