//! [`EventLoop::spawn_local`]: a future that need not be `Send`, run as a task on the loop's
//! own thread (glib's `spawn_future_local`, slint's `spawn_local`).
//!
//! The future never leaves the loop's thread: it waits in a table of that thread's
//! ([`FUTURES`]), and the task's body ([`LocalPolled`], `Send` like every body) holds only its
//! key. The task's admission is the loop ([`LoopAdmission`]): its start and each poll a waker
//! asks for are jobs on the loop's queue, run by `process_events`; what a cancel leaves to
//! drop is dropped there too. Everything else (the handle, the state machine, the delivery of
//! callbacks through the loop's dispatcher) is the task core's, as for any task.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use crate::deadline::{Deadlines, Timeout};
use crate::dispatch::{Dispatcher, EventLoop};
use crate::error::{AppError, ErrorSink};
use crate::host::{Host, HostConfig};
use crate::latest::LatestOfName;
use crate::pool::PoolThreads;
use crate::sync::{lock, Mutex};
use crate::task::admit::{Admission, Admit, TaskHost};
use crate::task::body::{Body, Step};
use crate::task::cell::{CellRef, TaskCell, TaskSpec};
use crate::task::context::TaskContext;
use crate::task::feature::Feature;
use crate::task::name::TaskName;
use crate::task::polled::waker_of;
use crate::task::{run, Task};
use crate::vocabulary::TaskId;

/// A local future, polled in place: ready once it has stored its output.
type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    /// The local futures of this thread's loops, by task.
    static FUTURES: RefCell<HashMap<TaskId, LocalFuture>> = RefCell::new(HashMap::new());
    /// The admission of each loop of this thread that started a local future.
    static LOOPS: RefCell<Vec<Arc<LoopAdmission>>> = const { RefCell::new(Vec::new()) };
}

impl EventLoop {
    /// Runs `future` as a task on this loop's thread: [`process_events`](Self::process_events)
    /// polls it, so it may hold what is not `Send` (an `Rc`, the UI's own objects) across its
    /// `.await`s. Returns its handle at once; its first poll comes with the next
    /// `process_events`. A cancel decides it at once if it waits, and drops it on this thread,
    /// in a later `process_events`, never inside the call that cancelled it. Inside, a
    /// [`TaskContext`] is at hand with [`current()`](crate::current) for its cancel flag and
    /// progress.
    ///
    /// # Panics
    ///
    /// If called on another thread than the loop's.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use task_runtime::{AppError, EventLoop, TaskManager};
    ///
    /// let ui = EventLoop::new();
    /// let manager = TaskManager::new(1);
    /// let shown = Rc::new(Cell::new(0)); // UI state: not Send
    /// let label = Rc::clone(&shown);
    /// let task = ui.spawn_local(async move {
    ///     // Wait for background work without blocking the UI thread...
    ///     let count = manager.spawn(|_| Ok::<_, AppError>(42)).await.map_err(|e| e.into_app_error())?;
    ///     label.set(count); // ...then update the UI directly.
    ///     Ok::<_, AppError>(count)
    /// });
    /// assert!(ui.run_until(|| task.is_finished(), Duration::from_secs(10)));
    /// assert_eq!(shown.get(), 42);
    /// assert_eq!(task.join().unwrap(), 42);
    /// ```
    pub fn spawn_local<T, E, F>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: Send + 'static,
        E: Into<AppError> + 'static,
    {
        assert_eq!(
            std::thread::current().id(),
            self.owner(),
            "EventLoop::spawn_local: call it on the loop's own thread (the future stays there)"
        );
        let admission = LoopAdmission::of(self);
        let id = TaskId::next();
        let output = Arc::new(Mutex::new(None));
        let stored = Arc::clone(&output);
        let local: LocalFuture = Box::pin(async move {
            let result = future.await.map_err(Into::into);
            *lock(&*stored) = Some(result);
        });
        FUTURES.with(|futures| futures.borrow_mut().insert(id, local));
        let body = LocalPolled {
            id,
            thread: self.owner(),
            dispatcher: admission.dispatcher.clone(),
            output,
            waker: None,
            ended: false,
        };
        let spec = TaskSpec {
            id,
            host: Arc::clone(&admission.host),
            name: TaskName::new(None, admission.next_task_number()),
            priority: 0,
            callbacks: None,
            extras: None,
        };
        let cell = TaskCell::new(spec, Box::new(body));
        admission.submit(cell.clone(), Admission::default());
        Task::new(cell)
    }
}

/// A local future's body: the key of the future in its thread's table, and where its output
/// arrives.
struct LocalPolled<T> {
    id: TaskId,
    thread: ThreadId,
    dispatcher: Dispatcher,
    output: Arc<Mutex<Option<Result<T, AppError>>>>,
    waker: Option<Waker>,
    /// The future ended and left the table: nothing to drop.
    ended: bool,
}

impl<T: Send + 'static> Body<T> for LocalPolled<T> {
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Step<T> {
        if std::thread::current().id() != self.thread {
            return Step::Done(Err(AppError::new(
                "ERR_LOCAL_THREAD",
                "a local future was polled off its event loop's thread",
            )));
        }
        let waker = self.waker.get_or_insert_with(|| waker_of(ctx.cell()));
        let mut cx = Context::from_waker(waker);
        let polled = FUTURES.with(|futures| {
            // Taken out while polled: the future may spawn more local futures.
            let future = futures.borrow_mut().remove(&self.id);
            future.map(|mut future| {
                let poll = future.as_mut().poll(&mut cx);
                if poll.is_pending() {
                    futures.borrow_mut().insert(self.id, future);
                }
                poll
            })
        });
        match polled {
            Some(Poll::Pending) => Step::Waiting(self),
            Some(Poll::Ready(())) => match lock(&*self.output).take() {
                Some(result) => {
                    self.ended = true;
                    Step::Done(result.map(|value| (value, None)))
                }
                None => Step::Done(Err(AppError::new(
                    "ERR_LOCAL_OUTPUT",
                    "a local future ended without its output",
                ))),
            },
            None => Step::Done(Err(AppError::new(
                "ERR_LOCAL_GONE",
                "a local future was gone from its thread's table",
            ))),
        }
    }
}

impl<T> Drop for LocalPolled<T> {
    /// The future goes with its body, on its own thread and never inside the call that
    /// dropped the body (a cancel, maybe on that very thread): as a job of its loop. If the
    /// loop is gone, so is the future, with its thread.
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let id = self.id;
        self.dispatcher.dispatch(Box::new(move || {
            let _ = FUTURES.try_with(|futures| futures.borrow_mut().remove(&id));
        }));
    }
}

/// An event loop as the admission of its local futures: starts and polls are jobs on its
/// queue.
struct LoopAdmission {
    host: Arc<TaskHost>,
    dispatcher: Dispatcher,
    deadlines: Deadlines,
    next_number: AtomicU64,
}

impl LoopAdmission {
    /// The admission of `event_loop`, made at its first local future.
    fn of(event_loop: &EventLoop) -> Arc<LoopAdmission> {
        let dispatcher = event_loop.dispatcher();
        LOOPS.with(|loops| {
            let mut loops = loops.borrow_mut();
            if let Some(found) = loops.iter().find(|l| l.dispatcher.same_target(&dispatcher)) {
                return Arc::clone(found);
            }
            let host: Arc<TaskHost> = Arc::new(Host::new(HostConfig {
                dispatcher: dispatcher.clone(),
                errors: ErrorSink::tracing(),
                error_map: None,
                display: Arc::new(crate::display::LogProgress::new()),
                display_thread: "local-display".to_owned(),
                pool: PoolThreads::none(),
                clock: None,
                manual: false,
            }));
            let admission = Arc::new(LoopAdmission {
                deadlines: Deadlines::new(Arc::clone(&host)),
                host,
                dispatcher,
                next_number: AtomicU64::new(0),
            });
            let weak: Weak<LoopAdmission> = Arc::downgrade(&admission);
            admission.host.set_admission(weak);
            loops.push(Arc::clone(&admission));
            admission
        })
    }
}

/// A job of the loop that runs `cell`'s step; if the loop drops it unrun (the loop is gone),
/// the task fails rather than never ending.
struct StepJob {
    cell: Option<CellRef>,
    start: bool,
}

impl StepJob {
    fn post(dispatcher: &Dispatcher, cell: CellRef, start: bool) {
        let mut job = StepJob {
            cell: Some(cell),
            start,
        };
        dispatcher.dispatch(Box::new(move || {
            if let Some(cell) = job.cell.take() {
                if job.start {
                    run::run(&cell);
                } else {
                    run::resume(&cell);
                }
            }
        }));
    }
}

impl Drop for StepJob {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            run::abandon(&cell, "its event loop is gone");
            if !cell.core.state().is_terminal() {
                run::cancel_because(&cell, crate::vocabulary::CancelReason::Shutdown);
            }
        }
    }
}

impl Admit for LoopAdmission {
    fn host(&self) -> &Arc<TaskHost> {
        &self.host
    }

    fn next_task_number(&self) -> u64 {
        self.next_number.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn latest_of(&self, _name: &str) -> Arc<dyn Feature> {
        Arc::new(LatestOfName::default())
    }

    fn timeout(&self, timeout: Duration) -> Arc<dyn Feature> {
        Arc::new(Timeout(timeout))
    }

    fn submit(&self, cell: CellRef, admission: Admission) {
        self.host.submitted(cell.core.dispatcher());
        match admission.after {
            Some(gate) => gate.admitted(cell),
            None => StepJob::post(&self.dispatcher, cell, true),
        }
    }

    fn queue(&self, cell: CellRef) {
        cell.core.queued_now();
        StepJob::post(&self.dispatcher, cell, true);
    }

    fn purge_stale(&self) {}

    fn resume(&self, cell: CellRef) {
        StepJob::post(&self.dispatcher, cell, false);
    }

    fn wake_at(&self, at: u64, waker: Waker) {
        self.deadlines.wake_at(at, waker);
    }

    fn run_next(&self) -> bool {
        false
    }

    fn dispose(&self, _cell: CellRef, value: Box<dyn Send>) {
        self.dispatcher.dispatch(Box::new(move || drop(value)));
    }

    /// A local task's work runs on its loop, as the task does.
    fn help(&self, _cell: CellRef, work: crate::task::admit::Work) {
        self.dispatcher.dispatch(work);
    }

    fn max_threads(&self) -> usize {
        1
    }

    fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }
}
