//! The manager's signals: each fires with the right task, after the task's own callback for
//! the same event, through the manager's dispatcher; panicking slots are contained.

mod common;

use std::sync::{Arc, Mutex};

use common::{Gate, Log, PATIENCE};
use task_runtime::{AppError, EventLoop, Signal, TaskManager};

fn connect_all(manager: &TaskManager, log: &Log) {
    let signals = manager.signals();
    let l = log.clone();
    signals
        .task_started
        .connect(move |info| l.push(format!("signal started {}", info.name)));
    let l = log.clone();
    signals
        .task_completed
        .connect(move |info| l.push(format!("signal completed {}", info.name)));
    let l = log.clone();
    signals
        .task_cancelled
        .connect(move |info| l.push(format!("signal cancelled {}", info.name)));
    let l = log.clone();
    signals
        .task_failed
        .connect(move |(info, err)| l.push(format!("signal failed {} {}", info.name, err.code())));
}

#[test]
fn smoke_each_signal_fires_with_the_right_task_after_its_callback() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let log = Log::new();
    connect_all(&manager, &log);

    let l = log.clone();
    let ok = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("ok")
        .on_started(log.recorder("callback started ok"))
        .on_complete(move |()| l.push("callback completed ok"))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    ok.join().unwrap();

    let l = log.clone();
    manager
        .task(|_| Err::<(), _>(AppError::new("ERR_SIG", "x")))
        .name("bad")
        .on_error(move |e| l.push(format!("callback failed bad {}", e.code())))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));

    let gate = Gate::new();
    let g = gate.clone();
    let blocker = manager
        .task(move |_| {
            g.wait();
            Ok::<_, AppError>(())
        })
        .name("blocker")
        .start();
    let queued = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("queued")
        .on_cancelled(log.recorder("callback cancelled queued"))
        .start();
    // Only the order within one task is guaranteed; drain so the sequence below is fixed.
    assert!(ui.run_until(|| log.len() == 8, PATIENCE));
    queued.cancel();
    assert!(ui.run_until(|| log.len() == 10, PATIENCE));
    gate.open();
    blocker.join().unwrap();
    assert!(ui.run_until_idle(&manager, PATIENCE));

    assert_eq!(
        log.events(),
        [
            "callback started ok",
            "signal started ok",
            "callback completed ok",
            "signal completed ok",
            "signal started bad",
            "callback failed bad ERR_SIG",
            "signal failed bad ERR_SIG",
            "signal started blocker",
            "callback cancelled queued",
            "signal cancelled queued",
            "signal completed blocker",
        ]
    );
}

#[test]
fn signals_use_the_manager_dispatcher_even_when_the_task_has_its_own() {
    let manager_loop = EventLoop::new();
    let task_loop = EventLoop::new();
    let manager = TaskManager::builder()
        .dispatcher(manager_loop.dispatcher())
        .build()
        .unwrap();
    let log = Log::new();
    let l = log.clone();
    manager
        .signals()
        .task_completed
        .connect(move |_| l.push("signal"));
    let l = log.clone();
    let task = manager
        .task(|_| Ok::<_, AppError>(()))
        .dispatcher(task_loop.dispatcher())
        .on_complete(move |()| l.push("callback"))
        .start();
    task.join().unwrap();
    common::eventually("the callback is queued", || task_loop.pending() == 1);
    assert_eq!(
        manager_loop.pending(),
        0,
        "the signal waits for the task's callback"
    );
    task_loop.process_events();
    assert_eq!(log.events(), ["callback"]);
    assert_eq!(manager_loop.process_events(), 1);
    assert_eq!(log.events(), ["callback", "signal"]);
}

#[test]
fn a_panicking_slot_is_reported_and_the_others_still_run() {
    let errors: Arc<Mutex<Vec<AppError>>> = Arc::default();
    let e = errors.clone();
    let manager = TaskManager::builder()
        .error_handler(move |err| e.lock().unwrap().push(err.clone()))
        .build()
        .unwrap();
    let log = Log::new();
    manager
        .signals()
        .task_completed
        .connect(|_| panic!("slot bug"));
    let l = log.clone();
    manager
        .signals()
        .task_completed
        .connect(move |info| l.push(info.name.clone()));
    manager
        .task(|_| Ok::<_, AppError>(()))
        .name("t")
        .start()
        .join()
        .unwrap();
    common::eventually("second slot", || log.len() == 1);
    common::eventually("report", || errors.lock().unwrap().len() == 1);
    let report = errors.lock().unwrap()[0].clone();
    assert_eq!(report.code(), task_runtime::codes::ERR_CALLBACK_PANICKED);
    assert!(report.message().contains("task_completed") && report.message().contains("slot bug"));
}

#[test]
fn disconnect_stops_deliveries() {
    let manager = TaskManager::new(1);
    let log = Log::new();
    let l = log.clone();
    let connection = manager
        .signals()
        .task_completed
        .connect(move |_| l.push("x"));
    manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
    common::eventually("first", || log.len() == 1);
    assert!(manager.signals().task_completed.disconnect(connection));
    assert!(!manager.signals().task_completed.disconnect(connection));
    manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
    assert!(manager.wait_for_all(PATIENCE));
    let probe = manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(|()| {})
        .start();
    probe.join().unwrap();
    assert_eq!(log.len(), 1);
}

#[test]
fn standalone_signal_emit_runs_all_slots_then_resumes_a_panic() {
    let signal: Signal<u32> = Signal::new();
    let log = Log::new();
    signal.connect(|_| panic!("first slot"));
    let l = log.clone();
    signal.connect(move |n| l.push(n.to_string()));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| signal.emit(&7)));
    assert!(caught.is_err());
    assert_eq!(log.events(), ["7"]);
    assert_eq!(signal.slot_count(), 2);
}
