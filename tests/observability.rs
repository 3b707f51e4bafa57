//! `tracing` output: one span per task (id, name) around its body and callbacks, the
//! lifecycle events of the Python system's logs at `debug`, and one `error` event for an
//! error that reaches the error handler, none for one that `on_error` took. A binary of its own, because it installs
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
        has_line(&span, "DEBUG", "task started"),
        "{:?}",
        lines_with(&span)
    );

    let failed = manager
        .task(|_| Err::<(), _>(AppError::new("ERR_TRACE", "boom")))
        .name("trace-fail")
        .start();
    failed.join().unwrap_err();
    eventually("failure logged", || {
        has_line("name=trace-fail", "DEBUG", "task failed")
            && has_line("name=trace-fail", "DEBUG", "ERR_TRACE")
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
        "DEBUG",
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
        has_line("name=trace-running", "DEBUG", "task cancelled")
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

/// Lines of `name`'s span at `INFO` or above.
fn loud_lines(name: &str) -> Vec<String> {
    lines_with(&format!("name={name}"))
        .into_iter()
        .filter(|line| {
            // The level is the field after the timestamp.
            let level = line.split_whitespace().nth(1).unwrap_or_default();
            ["INFO", "WARN", "ERROR"].contains(&level)
        })
        .collect()
}

#[test]
fn lifecycle_is_quiet_and_an_error_is_logged_once_only_when_unhandled() {
    captured();
    // The default error handler: the one `error` event for what reaches it.
    let manager = TaskManager::new(2);
    let quiet: Vec<_> = (0..200)
        .map(|_| {
            manager
                .task(|_| Ok::<_, AppError>(()))
                .name("lvl-quiet")
                .start()
        })
        .collect();
    for task in quiet {
        task.join().unwrap();
    }
    let cancelled = manager
        .task(|ctx| {
            while !ctx.is_cancelled() {
                std::thread::yield_now();
            }
            Ok::<_, AppError>(())
        })
        .name("lvl-cancelled")
        .start();
    eventually("running", || cancelled.state() == TaskState::Running);
    cancelled.cancel();
    assert!(cancelled.join().unwrap_err().is_cancelled());
    manager
        .task(|_| Err::<(), _>(AppError::new("ERR_HANDLED", "taken by on_error")))
        .name("lvl-handled")
        .on_error(|_| {})
        .start();
    manager
        .task(|_| Err::<(), _>(AppError::new("ERR_UNHANDLED", "nobody took it")))
        .name("lvl-unhandled")
        .start();
    assert!(manager.wait_for_all(PATIENCE));
    eventually("the unhandled error logged", || {
        !loud_lines("lvl-unhandled").is_empty()
    });
    // Its delivery ran before the count above changed; give a stray second event its chance.
    assert!(manager.shutdown(PATIENCE));
    for name in ["lvl-quiet", "lvl-cancelled", "lvl-handled"] {
        let loud = loud_lines(name);
        assert!(
            loud.is_empty(),
            "{name}: {} lines, e.g. {:?}",
            loud.len(),
            &loud[..1]
        );
    }
    let unhandled = loud_lines("lvl-unhandled");
    assert_eq!(unhandled.len(), 1, "{unhandled:?}");
    assert!(unhandled[0].contains("ERROR") && unhandled[0].contains("ERR_UNHANDLED"));
    assert!(has_line("name=lvl-quiet", "DEBUG", "task started"));
}
