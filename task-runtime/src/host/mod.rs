//! [`Host`]: what a task needs from its surroundings once it is submitted.
//!
//! A task points at its host, never at its manager: the clock its instants count from, the
//! dispatcher its callbacks default to, where errors and panics go, the signals and the
//! progress display that follow it, the count of undecided tasks that idle waiters watch, and
//! which threads are the pool's. Every method takes names, dispatchers and [`TaskInfo`], never
//! a task's internals, so the host sits below the task and knows nothing of it. The manager
//! builds the host and owns it with the pool and the registry; the host keeps a weak handle
//! to the manager's admission, of a type the host does not know (`A`: the task layer names it,
//! `task::admit::TaskHost`), so that a started task can submit more (`TaskContext::scope`,
//! continuations) without anyone reaching up by a downcast.

mod body_scopes;
mod rounds;
mod undecided;

use std::fmt;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

pub(crate) use body_scopes::{BodyScope, BodyScopes};
pub(crate) use rounds::{Held, Mark, Rounds, Stamp};
pub(crate) use undecided::Undecided;

use crate::clock::TestClock;
use crate::dispatch::Dispatcher;
use crate::display::{DisplayPump, ProgressDisplay};
use crate::error::{AppError, ErrorSink};
use crate::pool::PoolThreads;
use crate::signal::{ManagerSignals, Signal};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::unwind::{self, Panic};
use crate::vocabulary::{Outcome, TaskInfo, TaskState};

/// Rewrites every task error before anyone sees it (`TaskManagerBuilder::map_error`).
pub(crate) type ErrorMap = Arc<dyn Fn(AppError) -> AppError + Send + Sync>;

/// `A` is what admitted the host's tasks: the task layer's `dyn Admit` (see the module doc).
pub(crate) struct Host<A: ?Sized + Send + Sync + 'static> {
    dispatcher: Dispatcher,
    errors: ErrorSink,
    error_map: Option<ErrorMap>,
    signals: ManagerSignals,
    /// Calls the progress display for tasks with `show_progress`, on a thread of its own.
    display: DisplayPump,
    undecided: Undecided,
    /// Cancellations of many tasks at once: each task is stamped with the rounds begun before
    /// it was queued, and `cancel_all` marks `all_cancelled` (see [`rounds`]).
    rounds: Rounds,
    all_cancelled: Mark,
    held: Held,
    /// The scopes running bodies made with `ctx.scope()`, closed when their task stops.
    body_scopes: BodyScopes,
    /// Tasks with a queued dispatcher (an event loop, `from_fn`) whose terminal delivery is
    /// not done yet, counted from submission: such a task is always undecided or undelivered,
    /// so "none undecided, then none undelivered" is a reliable idle check. Deliveries on the
    /// worker thread happen inline and need no count, which keeps a shared counter off the
    /// common path.
    undelivered: AtomicUsize,
    /// Task instants are stored as offsets from this one (8 bytes instead of 16).
    epoch: Instant,
    /// A test's clock, if the manager was built with one: instants and deadlines follow it.
    clock: Option<TestClock>,
    /// A manual manager's (no worker threads): a body runs where it is asked for.
    manual: bool,
    pool: PoolThreads,
    /// The admission of the manager that owns this host, set once it exists.
    admission: OnceLock<Weak<A>>,
}

/// What a host is made of.
pub(crate) struct HostConfig {
    pub(crate) dispatcher: Dispatcher,
    pub(crate) errors: ErrorSink,
    pub(crate) error_map: Option<ErrorMap>,
    pub(crate) display: Arc<dyn ProgressDisplay>,
    pub(crate) display_thread: String,
    pub(crate) pool: PoolThreads,
    pub(crate) clock: Option<TestClock>,
    pub(crate) manual: bool,
}

impl<A: ?Sized + Send + Sync + 'static> Host<A> {
    pub(crate) fn new(config: HostConfig) -> Self {
        Host {
            dispatcher: config.dispatcher,
            display: DisplayPump::new(config.display, config.errors.clone(), config.display_thread),
            errors: config.errors,
            error_map: config.error_map,
            signals: ManagerSignals::default(),
            undecided: Undecided::new(),
            rounds: Rounds::default(),
            all_cancelled: Mark::default(),
            held: Held::default(),
            body_scopes: BodyScopes::default(),
            undelivered: AtomicUsize::new(0),
            epoch: config
                .clock
                .as_ref()
                .map_or_else(Instant::now, TestClock::start),
            clock: config.clock,
            manual: config.manual,
            pool: config.pool,
            admission: OnceLock::new(),
        }
    }

    /// Records the admission of the manager that owns this host (once; later calls change
    /// nothing).
    pub(crate) fn set_admission(&self, admission: Weak<A>) {
        let _ = self.admission.set(admission);
    }

    /// The admission given to [`set_admission`](Self::set_admission), while its manager
    /// exists.
    pub(crate) fn admission(&self) -> Option<Arc<A>> {
        self.admission.get()?.upgrade()
    }

    /// A host for tasks built without a manager, in unit tests: callbacks go to `dispatcher`,
    /// errors to `errors`, no thread is the pool's.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn for_tests(dispatcher: Dispatcher, errors: ErrorSink) -> Arc<Self> {
        Arc::new(Host::new(HostConfig {
            dispatcher,
            errors,
            error_map: None,
            display: Arc::new(crate::display::LogProgress::new()),
            display_thread: "test-display".to_owned(),
            pool: PoolThreads::none(),
            clock: None,
            manual: false,
        }))
    }

    /// Where callbacks run unless a task has a dispatcher of its own.
    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub(crate) fn signals(&self) -> &ManagerSignals {
        &self.signals
    }

    pub(crate) fn display(&self) -> &DisplayPump {
        &self.display
    }

    pub(crate) fn undecided(&self) -> &Undecided {
        &self.undecided
    }

    /// The cancel rounds of this host's tasks (see [`rounds`]).
    pub(crate) fn rounds(&self) -> &Rounds {
        &self.rounds
    }

    /// The mark of the latest `cancel_all`: no task queued before it starts.
    pub(crate) fn all_cancelled(&self) -> &Mark {
        &self.all_cancelled
    }

    /// The scopes running bodies made for their subtasks.
    pub(crate) fn body_scopes(&self) -> &BodyScopes {
        &self.body_scopes
    }

    /// The tasks workers left to a round, kept alive until it decided them.
    pub(crate) fn held(&self) -> &Held {
        &self.held
    }

    /// Whether the calling thread is one of the pool's workers.
    pub(crate) fn is_pool_thread(&self) -> bool {
        self.pool.include_current()
    }

    // ----- the clock -----

    /// Nanoseconds since the host was made (on the test's clock, if it has one).
    pub(crate) fn since_epoch(&self) -> u64 {
        let elapsed = match &self.clock {
            Some(clock) => clock.elapsed(),
            None => self.epoch.elapsed(),
        };
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The test's clock, if the manager was built with one.
    pub(crate) fn test_clock(&self) -> Option<&TestClock> {
        self.clock.as_ref()
    }

    /// Whether the manager is manual (`TaskManagerBuilder::manual`): no worker runs bodies.
    pub(crate) fn is_manual(&self) -> bool {
        self.manual
    }

    /// The instant `nanos` after the host was made.
    pub(crate) fn instant_at(&self, nanos: u64) -> Instant {
        self.epoch + Duration::from_nanos(nanos)
    }

    // ----- a task's life: submitted, decided, delivered -----

    /// A task delivering through `dispatcher` was submitted.
    pub(crate) fn submitted(&self, dispatcher: &Dispatcher) {
        if !dispatcher.is_worker_thread() {
            self.undelivered.fetch_add(1, Ordering::SeqCst);
        }
        self.undecided.entered();
    }

    /// A task's outcome was decided.
    pub(crate) fn decided(&self) {
        self.undecided.decided();
    }

    /// A task's terminal event was delivered through `dispatcher` (or there was nothing to
    /// deliver).
    pub(crate) fn delivered(&self, dispatcher: &Dispatcher) {
        if !dispatcher.is_worker_thread() {
            self.undelivered.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Tasks with a queued dispatcher whose terminal delivery is not done.
    pub(crate) fn undelivered(&self) -> usize {
        self.undelivered.load(Ordering::SeqCst)
    }

    // ----- errors and user code -----

    /// A delivery job of a task delivering through `dispatcher` was dropped without running:
    /// counted in that dispatcher's coalesced report.
    pub(crate) fn lost_delivery(&self, dispatcher: &Dispatcher) {
        dispatcher.lost(&self.errors);
    }

    /// The error handler, for reports coalesced outside the host (`local()` deliveries that
    /// reached another thread).
    pub(crate) fn error_sink(&self) -> &ErrorSink {
        &self.errors
    }

    /// Hands an error nobody else took to the error handler.
    pub(crate) fn handle_error(&self, error: &AppError) {
        self.errors.report(error);
    }

    /// User code run for `task` (`what`) panicked.
    pub(crate) fn report_panic(&self, what: &str, task: &str, panic: &Panic) {
        self.handle_error(&AppError::callback_panicked(what, task, panic.message()));
    }

    /// Runs a user callback of `task`; a panic goes to the error handler. (The name is read
    /// only then: a task's inline name is checked as UTF-8 each time it is read as a `str`.)
    pub(crate) fn run_callback(
        &self,
        what: &str,
        task: &(impl AsRef<str> + ?Sized),
        callback: impl FnOnce(),
    ) {
        if let Err(panic) = unwind::catch(callback) {
            self.report_panic(what, task.as_ref(), &panic);
        }
    }

    /// Drops user data (values, closures) of `task` where a panicking `Drop` is contained.
    pub(crate) fn drop_user_value<V>(&self, value: V, task: &(impl AsRef<str> + ?Sized)) {
        if let Some(panic) = unwind::drop_contained(value) {
            self.report_panic("dropping a value", task.as_ref(), &panic);
        }
    }

    /// The error `task` ends with, as everyone will see it: with context `task = <name>`,
    /// rewritten by the manager's `map_error` (which keeps that context).
    pub(crate) fn task_error(&self, task: &str, error: AppError) -> AppError {
        let error = error.with_context("task", task);
        let Some(map) = &self.error_map else {
            return error;
        };
        let original = error.clone();
        match unwind::catch(|| map(error)) {
            Ok(mapped) => mapped.with_context("task", task),
            Err(panic) => {
                self.report_panic("the manager's map_error", task, &panic);
                original
            }
        }
    }

    // ----- signals -----

    pub(crate) fn wants_started(&self) -> bool {
        self.signals.task_started.is_connected()
    }

    /// Whether a slot listens for tasks ending in `state`.
    pub(crate) fn wants_end(&self, state: TaskState) -> bool {
        match state {
            TaskState::Completed => self.signals.task_completed.is_connected(),
            TaskState::Failed => self.signals.task_failed.is_connected(),
            TaskState::Cancelled => self.signals.task_cancelled.is_connected(),
            TaskState::Queued | TaskState::Running => false,
        }
    }

    /// Emits `task_started` after the task's own `on_started`, which ran through `from`.
    /// `info` is made only when a slot will receive it.
    pub(crate) fn signal_started(
        self: &Arc<Self>,
        from: &Dispatcher,
        info: impl FnOnce() -> TaskInfo,
    ) {
        if self.signals.task_started.is_connected() {
            self.emit(from, info(), itself, "task_started", |s| &s.task_started);
        }
    }

    /// Emits the signal of `outcome` after the task's own terminal callback, which ran
    /// through `from`.
    pub(crate) fn signal_ended(
        self: &Arc<Self>,
        from: &Dispatcher,
        info: impl FnOnce() -> TaskInfo,
        outcome: Outcome,
    ) {
        if !self.wants_end(outcome.state()) {
            return;
        }
        match outcome {
            Outcome::Completed => self.emit(from, info(), itself, "task_completed", |s| {
                &s.task_completed
            }),
            Outcome::Cancelled => self.emit(from, info(), itself, "task_cancelled", |s| {
                &s.task_cancelled
            }),
            Outcome::Failed(error) => self.emit(from, (info(), error), first, "task_failed", |s| {
                &s.task_failed
            }),
        }
    }

    /// Emits `arg` on one signal, on the host's dispatcher: right here if `from` (where the
    /// task's own callback just ran) delivers to the same place, so the signal follows that
    /// callback; else as a job of its own.
    fn emit<Arg: Send + 'static>(
        self: &Arc<Self>,
        from: &Dispatcher,
        arg: Arg,
        info: fn(&Arg) -> &TaskInfo,
        name: &'static str,
        signal: fn(&ManagerSignals) -> &Signal<Arg>,
    ) {
        if from.same_target(&self.dispatcher) {
            self.emit_now(&arg, info, name, signal);
            return;
        }
        // Kept for the report: a dispatcher that panics may drop the job, and `arg` with it.
        let task = info(&arg).name.clone();
        let host = Arc::clone(self);
        let dispatched = unwind::catch(|| {
            self.dispatcher
                .dispatch(Box::new(move || host.emit_now(&arg, info, name, signal)))
        });
        if let Err(panic) = dispatched {
            self.report_panic("the manager's dispatcher", &task, &panic);
        }
    }

    fn emit_now<Arg>(
        &self,
        arg: &Arg,
        info: fn(&Arg) -> &TaskInfo,
        name: &'static str,
        signal: fn(&ManagerSignals) -> &Signal<Arg>,
    ) {
        signal(&self.signals).emit_with(arg, |panic| {
            let slot = format!("a {name} slot");
            self.report_panic(&slot, &info(arg).name, &panic);
        });
    }
}

fn itself(info: &TaskInfo) -> &TaskInfo {
    info
}

fn first(arg: &(TaskInfo, AppError)) -> &TaskInfo {
    &arg.0
}

impl<A: ?Sized + Send + Sync + 'static> fmt::Debug for Host<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("dispatcher", &self.dispatcher)
            .field("undelivered", &self.undelivered())
            .finish_non_exhaustive()
    }
}
