//! `tracing` output: one span per task (id, name) around its body and callbacks, and the
//! lifecycle events of the Python system's logs. A binary of its own, because it installs
//! the process-wide subscriber that captures what workers log.

mod common;

use std::sync::OnceLock;

use common::{eventually, Captured, Gate, PATIENCE};
use task_runtime::{AppError, EventLoop, TaskManager, TaskState};

fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

/// Lines mentioning `needle`, as captured so far.
fn lines_with(needle: &str) -> Vec<String> {
    captured()
        .lines()
        .into_iter()
        .filter(|line| line.contains(needle))
        .collect()
}

fn has_line(needle: &str, level: &str, message: &str) -> bool {
    lines_with(needle)
        .iter()
        .any(|line| line.contains(level) && line.contains(message))
}

#[test]
fn lifecycle_events_carry_the_task_span() {
    captured();
    let manager = TaskManager::builder()
        .max_threads(1)
        .error_handler(|_| {})
        .build()
        .unwrap();
    let ok = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("trace-ok")
        .start();
    let span = format!("task{{id={} name=trace-ok}}", ok.id().as_u64());
    ok.join().unwrap();
    eventually("completion logged", || {
        has_line(&span, "DEBUG", "task completed")
    });
    assert!(
        has_line(&span, "INFO", "task started"),
        "{:?}",
        lines_with(&span)
    );

    let failed = manager
        .task(|_| Err::<(), _>(AppError::new("ERR_TRACE", "boom")))
        .name("trace-fail")
        .start();
    failed.join().unwrap_err();
    eventually("failure logged", || {
        has_line("name=trace-fail", "ERROR", "task failed")
            && has_line("name=trace-fail", "ERROR", "ERR_TRACE")
    });

    let gate = Gate::new();
    let _blocker = common::occupy(&manager, &gate);
    let queued = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("trace-queued")
        .start();
    queued.cancel();
    gate.open();
    assert!(has_line(
        "name=trace-queued",
        "INFO",
        "task cancelled before it started"
    ));

    let running = manager
        .task(|ctx| {
            while !ctx.is_cancelled() {
                std::thread::yield_now();
            }
            Ok::<_, AppError>(())
        })
        .name("trace-running")
        .start();
    eventually("running", || running.state() == TaskState::Running);
    running.cancel();
    running.join().unwrap_err();
    eventually("cancellation logged", || {
        has_line("name=trace-running", "INFO", "task cancelled")
    });
}

#[test]
fn callbacks_run_inside_the_task_span_on_any_dispatcher() {
    captured();
    let ui = EventLoop::new();
    let manager = TaskManager::new(1);
    manager
        .task(|_| Ok::<_, AppError>(()))
        .name("span-worker")
        .on_complete(|()| tracing::info!("callback marker A"))
        .start()
        .join()
        .unwrap();
    manager
        .task(|_| Ok::<_, AppError>(()))
        .name("span-ui")
        .dispatcher(ui.dispatcher())
        .on_complete(|()| tracing::info!("callback marker B"))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    eventually("marker A in span", || {
        has_line("name=span-worker", "INFO", "callback marker A")
    });
    assert!(has_line("name=span-ui", "INFO", "callback marker B"));
}

#[test]
fn warnings_for_unknown_names_and_spawns_after_shutdown() {
    captured();
    let manager = TaskManager::new(1);
    assert!(!manager.cancel_task("ghost-task"));
    assert!(has_line(
        "ghost-task",
        "WARN",
        "no active task with this name"
    ));

    assert!(manager.shutdown(PATIENCE));
    let late = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("late-task")
        .start();
    assert!(late.join().unwrap_err().is_cancelled());
    assert!(
        has_line("late-task", "WARN", "after the manager was shut down"),
        "{:?}",
        lines_with("late-task")
    );
}
