//! The attribute's options: `manager`, `task_name` (default: the function's name),
//! `priority`, `exclusive`, and `show_progress`.

mod common;

use std::sync::{Arc, Mutex};

use common::{Gate, Log, PATIENCE};
use task_macros::run_in_background;
use task_runtime::{AppError, EventLoop, TaskManager, TaskState};

#[derive(Clone)]
struct Search {
    tasks: TaskManager,
    shown: Log,
    order: Arc<Mutex<Vec<&'static str>>>,
}

impl Search {
    #[run_in_background(
        manager = &self.tasks,
        task_name = "search",
        exclusive = "cancel_previous",
        on_complete = self.show
    )]
    fn search(&self, query: String) -> String {
        format!("results for {query}")
    }

    fn show(&self, results: String) {
        self.shown.push(results);
    }

    #[run_in_background(manager = &self.tasks, exclusive = "skip_if_active")]
    fn refresh(&self, gate: Gate) {
        gate.wait();
    }

    #[run_in_background(manager = &self.tasks, priority = 5)]
    fn urgent(&self) {
        self.order.lock().unwrap().push("urgent");
    }

    #[run_in_background(manager = &self.tasks, priority = -5, show_progress = true)]
    fn background(&self) {
        self.order.lock().unwrap().push("background");
    }

    #[run_in_background(manager = &self.tasks)]
    fn normal(&self) {
        self.order.lock().unwrap().push("normal");
    }
}

fn search(ui: &EventLoop, threads: usize) -> Search {
    Search {
        tasks: common::ui_manager(ui, threads),
        shown: Log::new(),
        order: Arc::default(),
    }
}

#[test]
fn manager_key_and_names() {
    let ui = EventLoop::new();
    let s = search(&ui, 1);
    let gate = Gate::new();
    let task = s.refresh(gate.clone());
    assert_eq!(task.name(), "refresh", "default name: the function's");
    assert_eq!(s.tasks.active_tasks(), ["refresh"], "spawned on `manager`");
    gate.open();
    task.join().unwrap();
    assert_eq!(s.search("x".into()).name(), "search");
}

#[test]
fn exclusive_cancel_previous_shows_only_the_latest_result() {
    let ui = EventLoop::new();
    let s = search(&ui, 2);
    for query in ["r", "ru", "rus", "rust"] {
        let task = s.search(query.into());
        assert!(task.wait_for(PATIENCE));
    }
    assert!(ui.run_until_idle(&s.tasks, PATIENCE));
    assert_eq!(s.shown.events(), ["results for rust"]);
}

#[test]
fn exclusive_skip_if_active() {
    let ui = EventLoop::new();
    let s = search(&ui, 2);
    let gate = Gate::new();
    let first = s.refresh(gate.clone());
    let second = s.refresh(gate.clone());
    assert_eq!(second.state(), TaskState::Cancelled);
    gate.open();
    first.join().unwrap();
}

#[test]
fn priority_orders_queued_calls() {
    let ui = EventLoop::new();
    let s = search(&ui, 1);
    let gate = Gate::new();
    let blocker = common::occupy(&s.tasks, &gate);
    s.background();
    s.normal();
    s.urgent();
    gate.open();
    blocker.join().unwrap();
    assert!(ui.run_until_idle(&s.tasks, PATIENCE));
    assert_eq!(*s.order.lock().unwrap(), ["urgent", "normal", "background"]);
}

#[test]
fn generated_functions_use_the_global_manager_by_default() {
    #[run_in_background]
    fn on_the_global() -> Result<String, AppError> {
        Ok(std::thread::current().name().unwrap_or_default().to_owned())
    }
    let name = on_the_global().join().unwrap();
    assert!(name.starts_with("task-worker-"), "{name}");
}

/// A crate that wraps the runtime and re-exports it, with one function replaced by a counting
/// version: the generated code must reach the runtime through the `crate` path.
mod counting_runtime {
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub use task_runtime::*;

    pub static MANAGER_LOOKUPS: AtomicUsize = AtomicUsize::new(0);

    pub fn get_task_manager() -> &'static task_runtime::TaskManager {
        MANAGER_LOOKUPS.fetch_add(1, Ordering::SeqCst);
        task_runtime::get_task_manager()
    }
}

#[run_in_background(crate = "counting_runtime")]
fn through_the_crate_path(n: u32) -> u32 {
    n + 1
}

#[test]
fn the_crate_key_routes_generated_code_through_its_path() {
    use std::sync::atomic::Ordering;
    let before = counting_runtime::MANAGER_LOOKUPS.load(Ordering::SeqCst);
    assert_eq!(through_the_crate_path(1).join().unwrap(), 2);
    let after = counting_runtime::MANAGER_LOOKUPS.load(Ordering::SeqCst);
    assert_eq!(after, before + 1);
}
