//! Continuations: [`Task::then`], [`Task::then_async`] and [`Task::then_result`].
//!
//! A continuation is a task of its antecedent's manager, admitted at its `start()` (listed,
//! counted, cancellable, `Queued`) behind a gate: the [`Link`] between the two. The link
//! holds the antecedent's handle and is its waker, so it hears of the antecedent's outcome
//! on whatever thread decides it, with no worker waiting. Then it queues the continuation
//! (the value, or every outcome for `then_result`), or decides it the antecedent's way: a
//! failure passed on as it is, a cancellation as a cancellation.
//!
//! The link is also the continuation's feature: once the continuation is decided, however,
//! it cancels the antecedent if that is still undecided (cancelling the tail cancels the
//! chain). Every path ends with the antecedent's handle dropped and the link holding no task,
//! so the cycles a pending chain needs (the antecedent's slot holds the link, which holds the
//! continuation) end with the decisions, which every task gets.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::deadline::Timeout;
use crate::error::{codes, AppError, TaskError};
use crate::latest::LatestOfName;
use crate::manager::{Joins, TaskBuilder};
use crate::scope::ScopeNode;
use crate::sync::{lock, Mutex};
use crate::task::admit::{Admission, Admit, Gate, TaskHost};
use crate::task::body::{Body, BoxBody, Step};
use crate::task::cell::CellRef;
use crate::task::context::TaskContext;
use crate::task::delivery::Terminal;
use crate::task::feature::Feature;
use crate::task::polled::Polled;
use crate::task::{run, travel, Task};
use crate::vocabulary::{CancelReason, TaskState};

impl<T: Send + 'static, P: Send + 'static> Task<T, P> {
    /// A continuation: `f` runs on the pool with this task's value once it completed. Returns
    /// an unstarted [`TaskBuilder`], so every option applies (name, callbacks, `local()`,
    /// timeout, scope, priority); `start()` it.
    ///
    /// - If this task fails or is cancelled, `f` never runs and the continuation ends the
    ///   same way: with this task's `AppError` as it is (the manager's `map_error` ran on it
    ///   once; its `task` context names this task), or cancelled, decided when this task is.
    /// - The continuation is `Queued` until this task ends; its `on_started` and its queue
    ///   wait begin then. While it waits it holds no worker, so a chain runs on a manager of
    ///   one thread.
    /// - Cancelling the continuation (or its timeout, which counts from its own `start()`)
    ///   cancels this task if it is still undecided, and so the whole chain behind it;
    ///   cancelling this task cancels the continuations that follow it.
    /// - It runs on this task's manager and joins this task's scope, unless `.scope(..)`
    ///   says otherwise. If that manager is gone, the continuation is cancelled at `start()`,
    ///   as a task started after a shutdown.
    /// - Dropped unstarted, the builder detaches this task, as dropping its handle does; so
    ///   does a continuation refused at `start()` (its scope closed, its name taken with
    ///   [`Exclusive::SkipIfActive`](crate::Exclusive::SkipIfActive)), which is cancelled.
    /// - A failure passed on reaches the continuation's `on_error`, but the error handler only
    ///   once, for the task where it happened.
    ///
    /// # Panics
    ///
    /// If the outcome was already taken ([`try_take`](Task::try_take) or `.await`), as
    /// [`join`](Task::join) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1); // one worker: nothing waits on it
    /// let load = manager.spawn(|_| Ok::<_, AppError>("3,4,5".to_owned()));
    /// let parse = load
    ///     .then(|_, text| {
    ///         text.split(',')
    ///             .map(|n| n.parse::<u32>().map_err(AppError::from))
    ///             .collect::<Result<Vec<_>, _>>()
    ///     })
    ///     .name("parse")
    ///     .start();
    /// let render = parse
    ///     .then(|_, numbers| Ok::<_, AppError>(format!("sum {}", numbers.iter().sum::<u32>())))
    ///     .start();
    /// assert_eq!(render.join().unwrap(), "sum 12");
    /// ```
    #[track_caller]
    pub fn then<U, E, F>(self, f: F) -> TaskBuilder<U>
    where
        U: Send + 'static,
        E: Into<AppError> + 'static,
        F: FnOnce(&TaskContext, T) -> Result<U, E> + Send + 'static,
    {
        self.follow(Every::No, move |ctx: &TaskContext, outcome| match outcome {
            Ok(value) => step_of(f(ctx, value)),
            Err(error) => Step::Passed(error.into()),
        })
    }

    /// [`then`](Self::then) with an `async` continuation: `f` makes a future from this task's
    /// value and an owned [`TaskContext`], polled on the pool as an async body is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let id = manager.spawn(|_| Ok::<_, AppError>(7));
    /// let page = id
    ///     .then_async(|ctx, id| async move {
    ///         ctx.sleep(Duration::from_millis(5)).await; // a request, say
    ///         Ok::<_, AppError>(format!("page {id}"))
    ///     })
    ///     .start();
    /// assert_eq!(page.join().unwrap(), "page 7");
    /// ```
    #[track_caller]
    pub fn then_async<U, E, F, Fut>(self, f: F) -> TaskBuilder<U>
    where
        U: Send + 'static,
        E: Into<AppError> + 'static,
        F: FnOnce(TaskContext, T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        self.follow(Every::No, move |ctx: &TaskContext, outcome| match outcome {
            Ok(value) => {
                let body: BoxBody<U> = Box::new(Polled::new(move |ctx: TaskContext| f(ctx, value)));
                body.call(ctx)
            }
            Err(error) => Step::Passed(error.into()),
        })
    }

    /// A continuation that runs on every outcome of this task, with it: to recover from a
    /// failure or a cancellation (Qt's `onFailed` and `onCanceled`). Otherwise as
    /// [`then`](Self::then): cancelling it cancels this task while undecided.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let fetch = manager.spawn(|_| Err::<String, _>(AppError::new("ERR_NETWORK", "offline")));
    /// let shown = fetch
    ///     .then_result(|_, fetched| {
    ///         Ok::<_, AppError>(fetched.unwrap_or_else(|_| "the cached copy".to_owned()))
    ///     })
    ///     .start();
    /// assert_eq!(shown.join().unwrap(), "the cached copy");
    /// ```
    #[track_caller]
    pub fn then_result<U, E, F>(self, f: F) -> TaskBuilder<U>
    where
        U: Send + 'static,
        E: Into<AppError> + 'static,
        F: FnOnce(&TaskContext, Result<T, TaskError>) -> Result<U, E> + Send + 'static,
    {
        self.follow(Every::Yes, move |ctx: &TaskContext, outcome| {
            step_of(f(ctx, outcome))
        })
    }

    /// The continuation's builder: its body takes the antecedent's outcome and goes on with
    /// `next`, which runs the user's function on it (or starts polling its future), or passes
    /// it on.
    #[track_caller]
    fn follow<U, N>(self, every: Every, next: N) -> TaskBuilder<U>
    where
        U: Send + 'static,
        N: FnOnce(&TaskContext, Result<T, TaskError>) -> Step<U> + Send + 'static,
    {
        assert!(
            !self.is_taken(),
            "Task::then called after the task's result was taken with try_take or .await"
        );
        let host = Arc::clone(&self.core().host);
        let scope = self.core().feature::<ScopeNode>();
        let admission = host
            .admission()
            .unwrap_or_else(|| Arc::new(Gone(host)) as Arc<dyn Admit>);
        let link = Arc::new(Link {
            every,
            inner: Mutex::new(Linked {
                antecedent: Some(self),
                outcome: None,
                task: None,
                admitted: false,
                decided: false,
                passed: None,
            }),
        });
        let body = Follow {
            link: Arc::clone(&link),
            next: Some(next),
            body: None,
        };
        let builder = TaskBuilder::with_body(admission, Box::new(body), None);
        let builder = match scope {
            Some(scope) => builder.in_scope(scope),
            None => builder,
        };
        builder.joining(Joins {
            feature: Arc::clone(&link) as Arc<dyn Feature>,
            after: Some(link),
        })
    }
}

/// How a function's result ends the continuation's call.
fn step_of<U, E: Into<AppError>>(result: Result<U, E>) -> Step<U> {
    match result {
        Ok(value) => Step::Done(Ok((value, None))),
        Err(error) => Step::Done(Err(error.into())),
    }
}

/// Whether the continuation runs on every outcome (`then_result`) or only on a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Every {
    Yes,
    No,
}

/// Between an antecedent and its continuation: the gate the continuation waits behind, the
/// antecedent's waker, and the continuation's feature.
struct Link<T, P> {
    every: Every,
    inner: Mutex<Linked<T, P>>,
}

struct Linked<T, P> {
    /// The antecedent's handle, until its outcome is taken or the continuation is decided.
    antecedent: Option<Task<T, P>>,
    /// The antecedent's outcome, left for the continuation's body when the gate opens (in the
    /// step that takes it from the antecedent: the body never finds it missing).
    outcome: Option<Result<T, TaskError>>,
    /// The continuation, from its admission until its gate opens or it is decided.
    task: Option<CellRef>,
    /// The continuation reached its gate (it was not refused at `start()`).
    admitted: bool,
    /// The continuation was decided: from now on the link holds none of it (a decision may
    /// come before its admission reaches the gate, from a canceller or its deadline).
    decided: bool,
    /// The antecedent's failure, once passed on to the continuation: reported where it
    /// happened, not again by the continuation.
    passed: Option<AppError>,
}

/// What opening the gate does to the continuation.
enum Open {
    /// Queue it: its body takes the antecedent's outcome.
    Queue,
    /// Decide it the antecedent's way.
    Cancel,
    Fail(AppError),
}

impl<T: Send + 'static, P: Send + 'static> Link<T, P> {
    /// Polls the antecedent; once it has ended, opens the gate.
    fn poll_antecedent(self: &Arc<Self>) {
        let waker = Waker::from(Arc::clone(self));
        let (open, task) = {
            let mut linked = lock(&self.inner);
            let Some(antecedent) = linked.antecedent.as_mut() else {
                return;
            };
            let Poll::Ready(outcome) = Pin::new(antecedent).poll(&mut Context::from_waker(&waker))
            else {
                return;
            };
            let antecedent = linked.antecedent.take();
            let Some(task) = linked.task.take() else {
                // The continuation was decided first (cancelled, timed out): nothing to open,
                // and nobody will read the value, dropped now.
                drop(linked);
                if let (Some(antecedent), Ok(value)) = (antecedent, outcome) {
                    let core = antecedent.core();
                    core.host.drop_user_value(value, core.name());
                }
                return;
            };
            let open = match (&outcome, self.every) {
                (Err(TaskError::Cancelled), Every::No) => Open::Cancel,
                (Err(TaskError::Failed(error)), Every::No) => {
                    linked.passed = Some(error.clone());
                    Open::Fail(error.clone())
                }
                _ => Open::Queue,
            };
            linked.outcome = Some(outcome);
            (open, task)
        };
        // Outside the lock: deciding the continuation runs its features, this link among them.
        match open {
            Open::Cancel => run::cancel_along_chain(&task),
            Open::Fail(error) => travel::along_chain(Box::new(move || {
                run::fail_queued(&task, error);
            })),
            Open::Queue if task.core.state() == TaskState::Queued => {
                match task.core.host.admission() {
                    Some(admission) => admission.queue(task),
                    None => {
                        run::cancel_because(&task, CancelReason::Shutdown);
                    }
                }
            }
            Open::Queue => {}
        }
    }

    /// For the continuation's body: the antecedent's outcome, left there when the gate
    /// opened, which is before anyone can start the body.
    fn take_outcome(&self) -> Result<T, TaskError> {
        lock(&self.inner)
            .outcome
            .take()
            .expect("a continuation starts after its gate opened, which left it the outcome")
    }
}

impl<T: Send + 'static, P: Send + 'static> Gate for Link<T, P> {
    fn admitted(self: Arc<Self>, task: CellRef) {
        {
            let mut linked = lock(&self.inner);
            if linked.decided {
                return;
            }
            linked.task = Some(task);
            linked.admitted = true;
        }
        self.poll_antecedent();
    }
}

/// The antecedent's waker.
impl<T: Send + 'static, P: Send + 'static> Wake for Link<T, P> {
    fn wake(self: Arc<Self>) {
        self.poll_antecedent();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.poll_antecedent();
    }
}

impl<T: Send + 'static, P: Send + 'static> Feature for Link<T, P> {
    fn waits_for(&self) -> Option<CellRef> {
        lock(&self.inner).antecedent.as_ref().map(Task::erased)
    }

    fn passed_on(&self, error: &AppError) -> bool {
        lock(&self.inner)
            .passed
            .as_ref()
            .is_some_and(|passed| passed.is_same(error))
    }

    /// The continuation is decided: an antecedent still undecided is cancelled (the chain
    /// behind a cancelled or timed-out continuation stops), unless the continuation was
    /// refused at `start()` (then it detaches it, as a dropped builder does); and the link
    /// lets both go.
    fn decided(&self, task: &CellRef, terminal: &Terminal) {
        let (antecedent, unread, admitted) = {
            let mut linked = lock(&self.inner);
            linked.decided = true;
            linked.task = None;
            (
                linked.antecedent.take(),
                linked.outcome.take(),
                linked.admitted,
            )
        };
        // The antecedent's value, if the continuation will never read it: dropped now.
        if let Some(unread) = unread {
            task.core.host.drop_user_value(unread, task.core.name());
        }
        let timed_out =
            matches!(terminal, Terminal::Failed(error) if error.code() == codes::ERR_TASK_TIMEOUT);
        if let Some(antecedent) = antecedent {
            if admitted || timed_out {
                run::cancel_along_chain(&antecedent.erased());
            }
        }
    }
}

/// The continuation's body: takes the antecedent's outcome, goes on with `next` on it, and,
/// if that started a future, is its body.
struct Follow<T, P, U, N> {
    link: Arc<Link<T, P>>,
    next: Option<N>,
    body: Option<BoxBody<U>>,
}

impl<T, P, U, N> Body<U> for Follow<T, P, U, N>
where
    T: Send + 'static,
    P: Send + 'static,
    U: Send + 'static,
    N: FnOnce(&TaskContext, Result<T, TaskError>) -> Step<U> + Send + 'static,
{
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Step<U> {
        let step = match (self.body.take(), self.next.take()) {
            (Some(body), _) => body.call(ctx),
            (None, Some(next)) => next(ctx, self.link.take_outcome()),
            (None, None) => unreachable!("a continuation's body is called until it is done"),
        };
        match step {
            Step::Waiting(body) => {
                self.body = Some(body);
                Step::Waiting(self)
            }
            step => step,
        }
    }
}

/// The admission of a continuation whose antecedent's manager is gone: it cancels every task
/// at `start()`, as a manager that shut down does.
struct Gone(Arc<TaskHost>);

impl Admit for Gone {
    fn host(&self) -> &Arc<TaskHost> {
        &self.0
    }

    fn next_task_number(&self) -> u64 {
        0
    }

    fn latest_of(&self, _name: &str) -> Arc<dyn Feature> {
        Arc::new(LatestOfName::default())
    }

    fn timeout(&self, timeout: Duration) -> Arc<dyn Feature> {
        Arc::new(Timeout(timeout))
    }

    fn submit(&self, cell: CellRef, _admission: Admission) {
        self.0.submitted(cell.core.dispatcher());
        let _entered = cell.core.enter_span();
        tracing::warn!(
            "task '{}' started after its manager was dropped; cancelled",
            cell.core.name()
        );
        run::cancel_because(&cell, CancelReason::Shutdown);
    }

    fn queue(&self, cell: CellRef) {
        run::cancel_because(&cell, CancelReason::Shutdown);
    }

    fn purge_stale(&self) {}

    fn resume(&self, _cell: CellRef) {}

    fn wake_at(&self, _at: u64, waker: Waker) {
        waker.wake();
    }

    fn run_next(&self) -> bool {
        false
    }

    fn dispose(&self, cell: CellRef, value: Box<dyn Send>) {
        cell.core.host.drop_user_value(value, cell.core.name());
    }

    fn help(&self, _cell: CellRef, work: crate::task::admit::Work) {
        // Nothing runs for a task of a manager that is gone.
        drop(work);
    }

    fn max_threads(&self) -> usize {
        1
    }

    fn shutdown_timeout(&self) -> Duration {
        Duration::ZERO
    }
}
