//! [`TaskBuilder`]: a task's options and callbacks, before it starts; `start` submits it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::dispatch::Dispatcher;
use crate::error::{AppError, TaskError};
use crate::items::{Items, Publisher};
use crate::progress::Progress;
use crate::scope::ScopeHandle;
use crate::scope::ScopeNode;
use crate::shown::ShownTask;
use crate::task::admit::{Admission, Admit, Gate, TaskHost};
use crate::task::body::{BoxBody, Plain, WithCompletion};
use crate::task::cell::{Extras, TaskCell, TaskSpec};
use crate::task::context::TaskContext;
use crate::task::delivery::Callbacks;
use crate::task::feature::Feature;
use crate::task::name::{GivenName, TaskName};
use crate::task::polled::Polled;
use crate::task::Task;
use crate::vocabulary::{Exclusive, TaskId, TaskInfo};

/// Configures a task before it starts: name, priority, callbacks, dispatcher.
///
/// Made by [`TaskManager::task`](crate::TaskManager::task); nothing happens until
/// [`start`](TaskBuilder::start). Callbacks run on the task's dispatcher (the manager's by
/// default), one at a time and in order: `on_started`, `on_progress`*, then exactly one of
/// `on_complete`, `on_error`, `on_cancelled`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::new(2);
/// let task = manager
///     .task(|ctx| {
///         for i in 1..=3 {
///             ctx.report_progress(i, 3, "working");
///         }
///         Ok::<_, AppError>(42)
///     })
///     .name("answer")
///     .priority(10)
///     .dispatcher(ui.dispatcher())
///     .on_progress(|p| println!("{p}"))
///     .on_complete(|answer| println!("done: {answer}"))
///     .on_error(|err| eprintln!("{}", err.user_message()))
///     .start();
///
/// assert!(ui.run_until_idle(&manager, Duration::from_secs(10)));
/// assert!(task.join().is_ok());
/// ```
///
/// `P` is the type of the task's items, for a task made with
/// [`task_with_items`](crate::TaskManager::task_with_items) (`()` for the others).
#[must_use = "a TaskBuilder does nothing until `.start()` is called"]
pub struct TaskBuilder<T, P = ()> {
    pub(super) admission: Arc<dyn Admit>,
    pub(super) body: BoxBody<T>,
    pub(super) options: Options,
    pub(super) items: Option<Arc<Items<P>>>,
    /// What joins this task to others: a continuation's antecedent, a combinator's inputs.
    joins: Option<Joins>,
}

/// What a continuation or a combinator adds to its task (`crate::chain`, `crate::combine`):
/// the feature that hears of its decision (to cancel what it waits for), and, for a
/// continuation, the gate it waits behind before it is queued.
pub(crate) struct Joins {
    pub(crate) feature: Arc<dyn Feature>,
    pub(crate) after: Option<Arc<dyn Gate>>,
}

/// What the option methods set (`manager/options.rs`).
pub(super) struct Options {
    pub(super) name: Option<GivenName>,
    pub(super) priority: i32,
    pub(super) show_progress: bool,
    pub(super) dispatcher: Option<Dispatcher>,
    pub(super) exclusive: Option<Exclusive>,
    pub(super) timeout: Option<Duration>,
    pub(super) scope: Option<Arc<ScopeNode>>,
    /// Boxed: the builder is moved through every chained call, and most tasks set none.
    callbacks: Option<Box<Callbacks>>,
}

impl<T: Send + 'static> TaskBuilder<T> {
    pub(crate) fn new<E, F>(admission: Arc<dyn Admit>, f: F) -> Self
    where
        F: FnOnce(&TaskContext) -> Result<T, E> + Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::with_body(admission, Box::new(Plain::new(f)), None)
    }

    /// A task whose body is `async`: polled on the manager's workers (see `task::polled`).
    pub(crate) fn polled<E, F, Fut>(admission: Arc<dyn Admit>, f: F) -> Self
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::with_body(admission, Box::new(Polled::new(f)), None)
    }

    /// An `async` task whose future ends with another task's outcome, passed on as it is
    /// (a combinator's).
    pub(crate) fn passing<F, Fut>(admission: Arc<dyn Admit>, f: F) -> Self
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, TaskError>> + Send + 'static,
    {
        TaskBuilder::with_body(admission, Box::new(Polled::passing(f)), None)
    }
}

impl<T: Send + 'static, P: Send + 'static> TaskBuilder<T, P> {
    /// A task whose body publishes items through a [`Publisher<P>`].
    pub(crate) fn with_items<E, F>(admission: Arc<dyn Admit>, f: F) -> Self
    where
        F: FnOnce(&TaskContext, &Publisher<P>) -> Result<T, E> + Send + 'static,
        E: Into<AppError> + 'static,
    {
        let items = Items::new();
        let shared = Arc::clone(&items);
        let body = Plain::new(move |ctx: &TaskContext| f(ctx, &shared.publisher(ctx.cell())));
        TaskBuilder::with_body(admission, Box::new(body), Some(items))
    }

    /// An `async` task whose body publishes items through an owned [`Publisher<P>`].
    pub(crate) fn polled_with_items<E, F, Fut>(admission: Arc<dyn Admit>, f: F) -> Self
    where
        F: FnOnce(TaskContext, Publisher<P>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<AppError> + 'static,
    {
        let items = Items::new();
        let shared = Arc::clone(&items);
        let body = Polled::new(move |ctx: TaskContext| {
            let publisher = shared.publisher(ctx.cell());
            f(ctx, publisher)
        });
        TaskBuilder::with_body(admission, Box::new(body), Some(items))
    }

    /// A task of `admission` whose body is `body`.
    pub(crate) fn with_body(
        admission: Arc<dyn Admit>,
        body: BoxBody<T>,
        items: Option<Arc<Items<P>>>,
    ) -> Self {
        TaskBuilder {
            admission,
            body,
            items,
            joins: None,
            options: Options {
                name: None,
                priority: 0,
                show_progress: false,
                dispatcher: None,
                exclusive: None,
                timeout: None,
                scope: None,
                callbacks: None,
            },
        }
    }

    /// Called with the value when the body completes. The value then belongs to the callback:
    /// the builder becomes a `TaskBuilder<()>` and the handle reports completion only.
    ///
    /// Given twice, both callbacks run, in order (the second receives `()`).
    pub fn on_complete(self, f: impl FnOnce(T) + Send + 'static) -> TaskBuilder<(), P> {
        TaskBuilder {
            admission: self.admission,
            options: self.options,
            items: self.items,
            joins: self.joins,
            body: Box::new(WithCompletion::new(self.body, f)),
        }
    }

    /// Puts the task in the scope `node` (a continuation in its antecedent's).
    pub(crate) fn in_scope(mut self, node: Arc<ScopeNode>) -> Self {
        self.options.scope = Some(node);
        self
    }

    /// Joins the task to others (see [`Joins`]).
    pub(crate) fn joining(mut self, joins: Joins) -> Self {
        self.joins = Some(joins);
        self
    }

    /// Queues the task and returns its handle. Returns at once.
    ///
    /// If the manager was shut down, or the task is [`Exclusive::SkipIfActive`] and a task of
    /// its name is active, the task is cancelled right away (it never runs, and its
    /// `on_cancelled` is delivered).
    pub fn start(self) -> Task<T, P> {
        self.start_named(|_| {})
    }

    /// [`start`](Self::start), telling `named` the task's name first.
    pub(super) fn start_named(self, named: impl FnOnce(&TaskName)) -> Task<T, P> {
        let TaskBuilder {
            admission,
            body,
            options,
            items,
            joins,
        } = self;
        let id = TaskId::next();
        let name = TaskName::new(options.name, admission.next_task_number());
        named(&name);
        // What the task carries besides its body and callbacks, each a feature of its own.
        let mut extras: Option<Box<Extras>> = None;
        let mut carry = |feature: Arc<dyn Feature>| {
            extras.get_or_insert_with(Box::default).carry(feature);
        };
        if options.exclusive == Some(Exclusive::CancelPrevious) {
            carry(admission.latest_of(name.as_str()));
        }
        // A task of a shown scope is drawn as part of the scope's line, not on its own.
        let in_shown_scope = options.scope.as_ref().is_some_and(|scope| scope.is_shown());
        if options.show_progress && !in_shown_scope {
            let info = TaskInfo {
                id,
                name: name.as_str().to_owned(),
            };
            carry(Arc::new(ShownTask::new(info)));
        }
        if let Some(timeout) = options.timeout {
            carry(admission.timeout(timeout));
        }
        if let Some(scope) = options.scope {
            carry(scope);
        }
        if let Some(items) = items {
            carry(items);
        }
        let after = joins.map(|joins| {
            carry(joins.feature);
            joins.after
        });
        if let Some(dispatcher) = options.dispatcher {
            extras
                .get_or_insert_with(Box::default)
                .dispatch_on(dispatcher);
        }
        let spec = TaskSpec {
            id,
            host: Arc::clone(admission.host()),
            name,
            priority: options.priority,
            callbacks: options.callbacks,
            extras,
        };
        let cell = TaskCell::new(spec, body);
        let how = Admission {
            timeout: options.timeout,
            exclusive: options.exclusive,
            after: after.flatten(),
        };
        admission.submit(cell.clone(), how);
        Task::new(cell)
    }
}

// No bounds on the options: a value type that is not `Send` is reported once, by
// `TaskManager::task`, not again at every option the macros' code sets.
impl<T, P> TaskBuilder<T, P> {
    fn callbacks(&mut self) -> &mut Callbacks {
        self.options.callbacks.get_or_insert_with(Box::default)
    }

    /// The host of the task's manager.
    pub(super) fn host(&self) -> &Arc<TaskHost> {
        self.admission.host()
    }

    /// Where the task's callbacks will run.
    pub(super) fn chosen_dispatcher(&self) -> &Dispatcher {
        self.options
            .dispatcher
            .as_ref()
            .unwrap_or_else(|| self.admission.host().dispatcher())
    }

    /// Called when the body starts, before any progress.
    pub fn on_started(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.callbacks().on_started = Some(Box::new(f));
        self
    }

    /// Called with the error when the body fails or panics. Without it, the error goes to the
    /// manager's error handler (by default a `tracing` error event).
    pub fn on_error(mut self, f: impl FnOnce(AppError) + Send + 'static) -> Self {
        self.callbacks().on_error = Some(Box::new(f));
        self
    }

    /// Called with the latest progress. Coalesced: a body reporting faster than the
    /// dispatcher delivers skips intermediate values, never the last one before completion.
    pub fn on_progress(mut self, f: impl FnMut(Progress) + Send + 'static) -> Self {
        self.callbacks().on_progress = Some(Box::new(f));
        self
    }

    /// Called when the task is cancelled, whether it was queued or running.
    pub fn on_cancelled(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.callbacks().on_cancelled = Some(Box::new(f));
        self
    }

    /// Called on the task's dispatcher with the items published since the previous call, in
    /// publish order: one batch at a time, at most one delivery pending, never an empty
    /// batch, every item before the terminal callback. Items published after cancellation was
    /// requested are dropped; those before it are delivered, unless the task was superseded
    /// ([`Exclusive::CancelPrevious`]) or its scope closed. Each
    /// [`EventLoop::process_events`](crate::EventLoop::process_events) delivers at most one
    /// batch per task.
    ///
    /// Without it, the items wait for [`Task::take_items`].
    pub fn on_items(self, f: impl FnMut(Vec<P>) + Send + 'static) -> Self
    where
        P: Send + 'static,
    {
        if let Some(items) = &self.items {
            items.listen(Box::new(f));
        }
        self
    }

    super::options::task_options!(|this| this);
}

impl<T, P> fmt::Debug for TaskBuilder<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskBuilder")
            .field("name", &self.options.name.as_ref().map(GivenName::as_str))
            .field("priority", &self.options.priority)
            .field("show_progress", &self.options.show_progress)
            .field("exclusive", &self.options.exclusive)
            .field("timeout", &self.options.timeout)
            .finish_non_exhaustive()
    }
}

/// Tasks started in a scope: built here, beside every other way of starting one.
impl ScopeHandle {
    /// A task in this scope, to configure and start: as [`TaskManager::task`].
    ///
    /// [`TaskManager::task`]: crate::TaskManager::task
    pub fn task<T, E, F>(&self, f: F) -> TaskBuilder<T>
    where
        F: FnOnce(&TaskContext) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::new(Arc::clone(self.admission()), f).scope(self)
    }

    /// A task with items in this scope, to configure and start: as
    /// [`TaskManager::task_with_items`](crate::TaskManager::task_with_items).
    pub fn task_with_items<T, P, E, F>(&self, f: F) -> TaskBuilder<T, P>
    where
        F: FnOnce(&TaskContext, &Publisher<P>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        P: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::with_items(Arc::clone(self.admission()), f).scope(self)
    }

    /// An `async` task in this scope, to configure and start: as
    /// [`TaskManager::task_async`](crate::TaskManager::task_async).
    pub fn task_async<T, E, F, Fut>(&self, f: F) -> TaskBuilder<T>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::polled(Arc::clone(self.admission()), f).scope(self)
    }

    /// Starts an `async` task in this scope with default options: as `task_async(f).start()`.
    pub fn spawn_async<T, E, F, Fut>(&self, f: F) -> Task<T>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        self.task_async(f).start()
    }

    /// An `async` task with items in this scope: as
    /// [`TaskManager::task_async_with_items`](crate::TaskManager::task_async_with_items).
    pub fn task_async_with_items<T, P, E, F, Fut>(&self, f: F) -> TaskBuilder<T, P>
    where
        F: FnOnce(TaskContext, Publisher<P>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        P: Send + 'static,
        E: Into<AppError> + 'static,
    {
        TaskBuilder::polled_with_items(Arc::clone(self.admission()), f).scope(self)
    }

    /// Starts a task in this scope with default options: as `task(f).start()`.
    pub fn spawn<T, E, F>(&self, f: F) -> Task<T>
    where
        F: FnOnce(&TaskContext) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        self.task(f).start()
    }
}
