//! `#[run_in_background]` callbacks in every form: paths, closures, `self.method` on `&self`,
//! `self` and `Arc<Self>` receivers (through a `Weak`: skipped once the object is gone).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use common::{eventually, Gate, Log, PATIENCE};
use task_macros::run_in_background;
use task_runtime::{AppError, EventLoop, Progress, TaskContext, TaskManager, TaskState};

// ----- free functions, path and closure callbacks -----

fn free_log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(Log::new)
}

fn record_value(value: u32) {
    free_log().push(format!("value {value}"));
}

fn record_error(error: AppError) {
    free_log().push(format!("error {}", error.code()));
}

fn record_started() {
    free_log().push("started");
}

#[run_in_background(on_started = record_started, on_complete = record_value)]
fn double(n: u32) -> u32 {
    n * 2
}

#[run_in_background(on_error = record_error, on_cancelled = || free_log().push("cancelled"))]
fn fail(code: String) -> Result<u32, AppError> {
    Err(AppError::new(code, "failed on purpose"))
}

#[run_in_background(
    on_complete = |v: String| free_log().push(format!("closure {v}")),
    on_progress = |p: Progress| free_log().push(format!("progress {}", p.current)),
)]
fn shout(word: String, ctx: &TaskContext) -> String {
    ctx.set_progress(1, 1);
    word.to_uppercase()
}

#[test]
fn free_functions_with_path_and_closure_callbacks() {
    double(21).join().unwrap();
    let failed = fail("ERR_FREE".to_owned());
    assert_eq!(
        failed.join().unwrap_err().into_app_error().code(),
        "ERR_FREE"
    );
    shout("hey".to_owned()).join().unwrap();
    let log = free_log();
    eventually("five callbacks", || log.len() == 5);
    let mut events = log.events();
    events.sort();
    assert_eq!(
        events,
        [
            "closure HEY",
            "error ERR_FREE",
            "progress 1",
            "started",
            "value 42"
        ]
    );
}

// ----- a `&self` service with `self.method` callbacks -----

#[derive(Clone)]
struct Service {
    tasks: TaskManager,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn new(ui: &EventLoop) -> Self {
        Service {
            tasks: common::ui_manager(ui, 2),
            seen: Arc::default(),
        }
    }

    fn note(&self, what: String) {
        self.seen.lock().unwrap().push(what);
    }

    #[run_in_background(
        manager = &self.tasks,
        on_started = self.started,
        on_progress = self.progressed,
        on_complete = self.loaded,
        on_error = self.failed,
        on_cancelled = self.cancelled,
    )]
    fn load(&self, name: String, ctx: &TaskContext) -> Result<usize, AppError> {
        ctx.report_progress(1, 2, format!("reading {name}"));
        if name == "missing" {
            return Err(AppError::new("ERR_MISSING", format!("{name} not found")));
        }
        Ok(name.len())
    }

    fn started(&self) {
        self.note("started".into());
    }
    fn progressed(&self, progress: Progress) {
        self.note(format!("progress {}", progress.message));
    }
    fn loaded(&self, length: usize) {
        self.note(format!("loaded {length}"));
    }
    fn failed(&self, error: AppError) {
        self.note(format!("failed {}", error.code()));
    }
    fn cancelled(&self) {
        self.note("cancelled".into());
    }
}

#[test]
fn self_method_callbacks_see_the_right_values() {
    let ui = EventLoop::new();
    let service = Service::new(&ui);
    let task = service.load("chapter".to_owned());
    assert!(ui.run_until_idle(&service.tasks, PATIENCE));
    assert!(task.is_finished());
    assert_eq!(
        *service.seen.lock().unwrap(),
        ["started", "progress reading chapter", "loaded 7"]
    );

    service.seen.lock().unwrap().clear();
    service.load("missing".to_owned());
    assert!(ui.run_until_idle(&service.tasks, PATIENCE));
    assert_eq!(
        *service.seen.lock().unwrap(),
        ["started", "progress reading missing", "failed ERR_MISSING"]
    );
}

// ----- `self` (by value) receivers -----

#[derive(Clone)]
struct Report {
    title: String,
    out: Arc<Mutex<Vec<String>>>,
}

impl Report {
    #[run_in_background(on_complete = self.done)]
    fn render(self, pages: u32) -> String {
        format!("{}: {pages} pages", self.title)
    }

    fn done(&self, text: String) {
        self.out.lock().unwrap().push(text);
    }
}

#[test]
fn by_value_receivers_move_into_the_task() {
    let out = Arc::new(Mutex::new(Vec::new()));
    let report = Report {
        title: "Q3".into(),
        out: out.clone(),
    };
    report.render(12).join().unwrap();
    eventually("callback", || out.lock().unwrap().len() == 1);
    assert_eq!(out.lock().unwrap()[0], "Q3: 12 pages");
}

// ----- `Arc<Self>` receivers: callbacks through a Weak -----

struct Editor {
    gate: Gate,
    saved: Arc<AtomicUsize>,
    started: Arc<AtomicBool>,
}

impl Editor {
    #[run_in_background(on_complete = self.saved)]
    fn save(self: Arc<Self>, text: String) -> usize {
        self.started.store(true, Ordering::SeqCst);
        self.gate.wait();
        text.len()
    }

    #[run_in_background(on_complete = self.saved)]
    fn save_shared(self: &Arc<Self>, text: String) -> usize {
        text.len()
    }

    fn saved(&self, bytes: usize) {
        self.saved.fetch_add(bytes, Ordering::SeqCst);
    }
}

#[test]
fn arc_receiver_dropped_while_the_task_runs_skips_the_callback() {
    let saved = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicBool::new(false));
    let gate = Gate::new();
    let editor = Arc::new(Editor {
        gate: gate.clone(),
        saved: saved.clone(),
        started: started.clone(),
    });
    let task = editor.clone().save("hello".into());
    eventually("body running", || started.load(Ordering::SeqCst));
    let weak = Arc::downgrade(&editor);
    drop(editor); // the task's own Arc keeps it alive until the body returns
    gate.open();
    assert!(task.wait_for(PATIENCE));
    assert_eq!(
        task.state(),
        TaskState::Completed,
        "the task still completes"
    );
    task.join().unwrap();
    eventually("the object is gone", || weak.upgrade().is_none());
    // The callback is delivered right after the outcome on the worker; give it the chance.
    get_task_manager_quiet();
    assert_eq!(saved.load(Ordering::SeqCst), 0, "callback skipped");
}

/// Waits until the global manager (which the macros use by default) settled every task, so
/// any callback that was going to run has run.
fn get_task_manager_quiet() {
    assert!(EventLoop::new().run_until_idle(task_runtime::get_task_manager(), PATIENCE));
}

#[test]
fn arc_receiver_kept_alive_gets_its_callback() {
    let saved = Arc::new(AtomicUsize::new(0));
    let editor = Arc::new(Editor {
        gate: Gate::new(),
        saved: saved.clone(),
        started: Arc::default(),
    });
    editor.gate.open();
    editor.clone().save("four".into()).join().unwrap();
    editor.save_shared("three".into()).join().unwrap();
    eventually("both callbacks", || saved.load(Ordering::SeqCst) == 9);
    assert_eq!(
        Arc::strong_count(&editor),
        1,
        "no reference leaked into the task"
    );
}
