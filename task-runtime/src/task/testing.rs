//! Building tasks without a manager, for the unit tests of the task layer and the registry:
//! a host of their own, a dispatcher whose jobs the test runs (or loses) by hand, and
//! recorders for callbacks and reported errors.

use std::sync::{Arc, Mutex};

use super::body::{BoxBody, Plain};
use super::cell::{CellRef, TaskCell, TaskSpec};
use super::context::TaskContext;
use super::delivery::Callbacks;
use super::name::{GivenName, TaskName};
use super::Task;
use crate::dispatch::{Dispatcher, Job};
use crate::error::{AppError, ErrorSink};
use crate::task::admit::TaskHost;
use crate::vocabulary::TaskId;

impl TaskSpec {
    /// The task carries `feature` (as the builder would attach it).
    pub(crate) fn carry(&mut self, feature: Arc<dyn crate::task::feature::Feature>) {
        self.extras.get_or_insert_with(Box::default).carry(feature);
    }

    /// The task's callbacks run on `dispatcher`.
    pub(crate) fn dispatch_on(&mut self, dispatcher: Dispatcher) {
        self.extras
            .get_or_insert_with(Box::default)
            .dispatch_on(dispatcher);
    }
}

/// A host whose reported errors are kept.
pub(crate) struct TestHost {
    pub(crate) host: Arc<TaskHost>,
    errors: Arc<Mutex<Vec<AppError>>>,
}

impl TestHost {
    pub(crate) fn new(dispatcher: Dispatcher) -> Self {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let heard = errors.clone();
        let sink =
            ErrorSink::new(move |error: &AppError| heard.lock().unwrap().push(error.clone()));
        TestHost {
            host: TaskHost::for_tests(dispatcher, sink),
            errors,
        }
    }

    /// The codes of the errors reported so far.
    pub(crate) fn error_codes(&self) -> Vec<String> {
        let errors = self.errors.lock().unwrap();
        errors.iter().map(|e| e.code().to_owned()).collect()
    }

    pub(crate) fn errors(&self) -> Vec<AppError> {
        self.errors.lock().unwrap().clone()
    }

    /// A task named `name` with these callbacks, counted as submitted (as the manager does).
    pub(crate) fn spec(&self, name: &'static str, callbacks: Callbacks) -> TaskSpec {
        TaskSpec {
            id: TaskId::next(),
            host: Arc::clone(&self.host),
            name: TaskName::new(Some(GivenName::Static(name)), 0),
            priority: 0,
            callbacks: Some(Box::new(callbacks)),
            extras: None,
        }
    }
}

/// Builds a queued task from `spec` and counts it as submitted; returns its handle and its
/// type-erased cell.
pub(crate) fn task<T, F>(spec: TaskSpec, f: F) -> (Task<T>, CellRef)
where
    T: Send + 'static,
    F: FnOnce(&TaskContext) -> Result<T, AppError> + Send + 'static,
{
    submit(spec, Box::new(Plain::new(f)))
}

/// [`task`] for a body built by the test (one with `on_complete`, say).
pub(crate) fn submit<T: Send + 'static>(spec: TaskSpec, body: BoxBody<T>) -> (Task<T>, CellRef) {
    let host = Arc::clone(&spec.host);
    let cell = TaskCell::new(spec, body);
    host.submitted(cell.core.dispatcher());
    let erased: CellRef = cell.clone();
    (Task::new(cell), erased)
}

/// A dispatcher that keeps its jobs for the test to run or drop.
#[derive(Clone, Default)]
pub(crate) struct HeldJobs(Arc<Mutex<Vec<Job>>>);

impl HeldJobs {
    pub(crate) fn dispatcher(&self) -> Dispatcher {
        let jobs = self.0.clone();
        Dispatcher::from_fn(move |job| jobs.lock().unwrap().push(job))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Runs the jobs held now; returns how many ran.
    pub(crate) fn run(&self) -> usize {
        let jobs = std::mem::take(&mut *self.0.lock().unwrap());
        let ran = jobs.len();
        for job in jobs {
            job();
        }
        ran
    }

    /// Drops the jobs held now without running them.
    pub(crate) fn lose(&self) {
        drop(std::mem::take(&mut *self.0.lock().unwrap()));
    }
}

/// A shared log of events, and callbacks that write to it.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    pub(crate) fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Every callback but `on_complete`, each logging its name (and progress, its value).
    pub(crate) fn callbacks(&self) -> Callbacks {
        let (started, progress, error, cancelled) =
            (self.clone(), self.clone(), self.clone(), self.clone());
        Callbacks {
            on_started: Some(Box::new(move || started.push("started"))),
            on_progress: Some(Box::new(move |p| {
                progress.push(format!("progress {}", p.current))
            })),
            on_error: Some(Box::new(move |e| error.push(format!("error {}", e.code())))),
            on_cancelled: Some(Box::new(move || cancelled.push("cancelled"))),
        }
    }
}
