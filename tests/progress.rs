//! Progress reporting and coalescing (guarantee 4): at most one pending delivery per task,
//! latest value wins, the last value comes before the terminal callback.

mod common;

use std::sync::{Arc, Mutex};

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{AppError, EventLoop, Progress, TaskManager};

#[test]
fn a_million_reports_leave_one_pending_delivery_with_the_latest_value() {
    const REPORTS: u64 = 1_000_000;
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let reported = Gate::new();
    let finish = Gate::new();
    let (r, f) = (reported.clone(), finish.clone());
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let s = seen.clone();
    let log = Log::new();
    let l = log.clone();
    let task = manager
        .task(move |ctx| {
            for i in 1..=REPORTS {
                ctx.set_progress(i, REPORTS);
            }
            r.open();
            f.wait();
            Ok::<_, AppError>(())
        })
        .on_progress(move |p| s.lock().unwrap().push(p))
        .on_complete(move |()| l.push("completed"))
        .start();

    reported.wait();
    // The UI thread was "busy" (not processing) the whole time: one job waits for it.
    assert_eq!(
        ui.pending(),
        1,
        "coalescing must leave exactly one pending delivery"
    );
    assert_eq!(task.progress().unwrap().current, REPORTS);

    finish.open();
    assert!(task.wait_for(PATIENCE));
    assert_eq!(
        ui.pending(),
        1,
        "the terminal event joins the pending delivery"
    );
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(*seen.lock().unwrap(), [Progress::new(REPORTS, REPORTS, "")]);
    assert_eq!(log.events(), ["completed"]);
}

#[test]
fn report_progress_with_messages_coalesces_too() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let s = seen.clone();
    let task = manager
        .task(|ctx| {
            for i in 1..=100_000u64 {
                ctx.report_progress(i, 100_000, format!("item {i}"));
            }
            Ok::<_, AppError>(())
        })
        .on_progress(move |p| s.lock().unwrap().push(p))
        .start();
    task.join().unwrap();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(
        *seen.lock().unwrap(),
        [Progress::new(100_000, 100_000, "item 100000")]
    );
}

#[test]
fn the_last_progress_arrives_before_the_terminal_callback() {
    // Process events while the body reports: several deliveries, the last one last.
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    let step = Gate::new();
    let s = step.clone();
    let task = manager
        .task(move |ctx| {
            ctx.set_progress(1, 3);
            s.wait();
            ctx.set_progress(2, 3);
            ctx.set_progress(3, 3);
            Ok::<_, AppError>(())
        })
        .on_progress(move |p| l1.push(format!("progress {}", p.current)))
        .on_complete(move |()| l2.push("completed"))
        .start();
    assert!(ui.run_until(|| log.len() == 1, PATIENCE));
    step.open();
    assert!(task.wait_for(PATIENCE));
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(log.events(), ["progress 1", "progress 3", "completed"]);
}

#[test]
fn set_progress_keeps_the_last_message() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let task = manager.spawn(move |ctx| {
        ctx.report_progress(1, 10, "reading");
        ctx.set_progress(5, 10);
        g.wait();
        Ok::<_, AppError>(())
    });
    eventually("progress 5", || {
        task.progress().is_some_and(|p| p.current == 5)
    });
    assert_eq!(task.progress().unwrap(), Progress::new(5, 10, "reading"));
    gate.open();
    task.join().unwrap();
}

#[test]
fn progress_is_readable_without_any_callback() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let task = manager.spawn(move |ctx| {
        ctx.report_progress(2, 4, "half");
        g.wait();
        Ok::<_, AppError>(())
    });
    eventually("progress", || task.progress().is_some());
    let p = task.progress().unwrap();
    assert_eq!((p.current, p.total, p.message.as_str()), (2, 4, "half"));
    assert_eq!(p.fraction(), Some(0.5));
    gate.open();
    task.join().unwrap();
}

#[test]
fn worker_thread_dispatch_delivers_every_report() {
    // With worker-thread dispatch the callback runs inside the report: nothing to coalesce.
    let manager = TaskManager::new(1);
    let count = Arc::new(Mutex::new(0u64));
    let c = count.clone();
    manager
        .task(|ctx| {
            for i in 1..=1000 {
                ctx.set_progress(i, 1000);
            }
            Ok::<_, AppError>(())
        })
        .on_progress(move |_| *c.lock().unwrap() += 1)
        .start()
        .join()
        .unwrap();
    assert_eq!(*count.lock().unwrap(), 1000);
}
