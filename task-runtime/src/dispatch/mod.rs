//! Where callbacks run: [`Dispatcher`] and the UI-thread queue [`EventLoop`].
//!
//! The Python system relied on Qt's queued signal/slot connections to move results to the
//! UI thread. Here a task's callbacks are *dispatched*: handed as a [`Job`] to the task's
//! dispatcher, which runs them on the worker ([`Dispatcher::worker_thread`]), queues them for
//! a thread that drains an [`EventLoop`], or passes them to any toolkit's own "run this on
//! the UI thread" function ([`Dispatcher::from_fn`]).

mod event_loop;

use std::fmt;
use std::sync::Arc;

use crate::error::{AppError, ErrorSink, Losses};

pub use event_loop::EventLoop;
pub(crate) use event_loop::LoopShared;

/// A callback delivery, ready to run on the thread that receives it.
pub type Job = Box<dyn FnOnce() + Send>;

/// Decides on which thread a task's callbacks run.
///
/// Cheap to clone. Callbacks of one task always run one at a time and in order (started,
/// progress, then the terminal one), whatever the dispatcher: the runtime hands it at most
/// one pending job per task and that job delivers whatever is due.
///
/// # Examples
///
/// Integrating a toolkit that can run a closure on its UI thread, here simulated with a
/// channel:
///
/// ```
/// use std::sync::{mpsc, Mutex};
/// use task_runtime::{Dispatcher, Job};
///
/// let (tx, rx) = mpsc::channel::<Job>();
/// let tx = Mutex::new(tx);
/// // e.g. `glib::idle_add_once(job)` or `slint::invoke_from_event_loop(job)`
/// let dispatcher = Dispatcher::from_fn(move |job| tx.lock().unwrap().send(job).unwrap());
///
/// dispatcher.dispatch(Box::new(|| println!("on the UI thread")));
/// let job = rx.recv().unwrap();
/// job();
/// ```
#[derive(Clone, Default)]
pub struct Dispatcher {
    target: Target,
}

#[derive(Clone, Default)]
enum Target {
    /// Run the job right away on the thread that dispatches it.
    #[default]
    WorkerThread,
    Custom(Arc<Custom>),
    EventLoop(Arc<LoopShared>),
}

impl Dispatcher {
    /// Runs callbacks right away on the thread where the event happens: the worker for
    /// `on_started`, `on_progress` and the terminal callback of a task that ran, the
    /// cancelling thread for a task cancelled while still queued. This is the default.
    ///
    /// Use it when callbacks only touch thread-safe state (channels, atomics, mutexes).
    pub fn worker_thread() -> Self {
        Dispatcher {
            target: Target::WorkerThread,
        }
    }

    /// Hands every job to `f`, which must arrange for it to run (exactly once, and soon).
    ///
    /// This is how any GUI toolkit plugs in: `glib::idle_add_once`,
    /// `slint::invoke_from_event_loop`, a winit `EventLoopProxy`, a channel the UI polls...
    /// `f` is called from worker threads and from threads that cancel tasks. If `f` panics,
    /// the panic is reported to the manager's error handler and that delivery is lost.
    pub fn from_fn(f: impl Fn(Job) + Send + Sync + 'static) -> Self {
        Dispatcher {
            target: Target::Custom(Arc::new(Custom {
                run: Box::new(f),
                lost: Losses::new(AppError::dropped_by_dispatcher),
            })),
        }
    }

    pub(crate) fn event_loop(shared: Arc<LoopShared>) -> Self {
        Dispatcher {
            target: Target::EventLoop(shared),
        }
    }

    /// Runs or queues `job` according to this dispatcher.
    pub fn dispatch(&self, job: Job) {
        match &self.target {
            Target::WorkerThread => job(),
            Target::Custom(custom) => (custom.run)(job),
            Target::EventLoop(shared) => shared.post(job),
        }
    }

    /// Whether jobs run immediately on the dispatching thread.
    pub fn is_worker_thread(&self) -> bool {
        matches!(self.target, Target::WorkerThread)
    }

    /// A delivery job given to this dispatcher was dropped without running: counted in the
    /// dispatcher's coalesced report to `sink` (see `error::Losses`).
    pub(crate) fn lost(&self, sink: &ErrorSink) {
        match &self.target {
            Target::EventLoop(shared) => shared.lost(sink),
            Target::Custom(custom) => custom.lost.lose(sink),
            // Jobs run where they are dispatched: none is ever dropped.
            Target::WorkerThread => sink.report(&AppError::dropped_by_dispatcher(1)),
        }
    }

    /// Where jobs run, as far as the dispatcher knows it.
    pub(crate) fn runs_jobs(&self) -> RunsJobs {
        match &self.target {
            Target::WorkerThread => RunsJobs::WhereDispatched,
            Target::Custom(_) => RunsJobs::Unknown,
            Target::EventLoop(shared) => RunsJobs::On(shared.owner()),
        }
    }

    /// Whether both dispatchers deliver to the same place (same event loop, same function).
    pub(crate) fn same_target(&self, other: &Dispatcher) -> bool {
        match (&self.target, &other.target) {
            (Target::WorkerThread, Target::WorkerThread) => true,
            (Target::Custom(a), Target::Custom(b)) => Arc::ptr_eq(a, b),
            (Target::EventLoop(a), Target::EventLoop(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The function of [`Dispatcher::from_fn`], and the deliveries it dropped.
struct Custom {
    run: Box<dyn Fn(Job) + Send + Sync>,
    lost: Losses,
}

/// Where a dispatcher runs its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunsJobs {
    /// On the thread that dispatches them (a worker, a cancelling thread).
    WhereDispatched,
    /// On the thread that drains the event loop: the one that created it.
    On(std::thread::ThreadId),
    /// Wherever the user's function sends them.
    Unknown,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.target {
            Target::WorkerThread => "Dispatcher::WorkerThread",
            Target::Custom(_) => "Dispatcher::FromFn",
            Target::EventLoop(_) => "Dispatcher::EventLoop",
        })
    }
}
