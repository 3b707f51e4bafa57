//! `&TaskContext` injection: the parameter disappears from the signature, the runtime
//! supplies it, progress reaches `on_progress`, and cancellation reaches the body.

mod common;

use std::sync::{Arc, Mutex};

use common::{eventually, Gate, Log, PATIENCE};
use task_macros::run_in_background;
use task_runtime::{AppError, EventLoop, Progress, TaskContext, TaskManager, TaskState};

#[derive(Clone)]
struct Indexer {
    tasks: TaskManager,
    progress: Arc<Mutex<Vec<Progress>>>,
    log: Log,
}

impl Indexer {
    #[run_in_background(manager = &self.tasks, on_progress = self.on_progress)]
    fn index(&self, files: Vec<String>, ctx: &TaskContext) -> Result<usize, AppError> {
        for (i, file) in files.iter().enumerate() {
            ctx.check_cancelled()?;
            ctx.report_progress(i as u64 + 1, files.len() as u64, file.clone());
        }
        Ok(files.len())
    }

    fn on_progress(&self, progress: Progress) {
        self.progress.lock().unwrap().push(progress);
    }

    /// The context may come first, and may be named anything.
    #[run_in_background(manager = &self.tasks, on_cancelled = self.stopped)]
    fn watch(&self, _context: &TaskContext, gate: Gate) -> Result<(), AppError> {
        while !_context.is_cancelled() {
            if gate.is_open() {
                return Ok(());
            }
            std::thread::yield_now();
        }
        Err(task_runtime::Cancelled.into())
    }

    fn stopped(&self) {
        self.log.push("stopped");
    }
}

#[test]
fn the_context_is_injected_and_progress_reaches_on_progress() {
    let ui = EventLoop::new();
    let indexer = Indexer {
        tasks: common::ui_manager(&ui, 1),
        progress: Arc::default(),
        log: Log::new(),
    };
    let files = vec!["a.rs".to_owned(), "b.rs".to_owned(), "c.rs".to_owned()];
    let task = indexer.index(files); // no context argument
    assert_eq!(task.join().unwrap(), 3);
    assert!(ui.run_until_idle(&indexer.tasks, PATIENCE));
    // Coalesced (the UI did not run meanwhile): the last value arrives.
    let progress = indexer.progress.lock().unwrap();
    assert_eq!(progress.last(), Some(&Progress::new(3, 3, "c.rs")));
}

#[test]
fn cancelling_a_macro_task_reaches_its_body() {
    let ui = EventLoop::new();
    let indexer = Indexer {
        tasks: common::ui_manager(&ui, 1),
        progress: Arc::default(),
        log: Log::new(),
    };
    let task = indexer.watch(Gate::new());
    eventually("running", || task.state() == TaskState::Running);
    assert!(task.cancel());
    assert!(task.wait_for(PATIENCE));
    assert_eq!(task.state(), TaskState::Cancelled);
    assert!(ui.run_until_idle(&indexer.tasks, PATIENCE));
    assert_eq!(indexer.log.events(), ["stopped"]);
    // And by name, through the manager: the default name is the function's.
    let gate = Gate::new();
    let second = indexer.watch(gate.clone());
    assert_eq!(second.name(), "watch");
    assert!(indexer.tasks.cancel_task("watch"));
    assert!(second.join().unwrap_err().is_cancelled());
}
