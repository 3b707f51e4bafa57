//! Errors nobody handled and panics in callbacks reach the manager's error handler
//! (guarantee 5); handled errors do not.

mod common;

use std::sync::{Arc, Mutex};

use common::{eventually, Log, PATIENCE};
use task_runtime::{codes, AppError, EventLoop, TaskManager};

fn recording_manager(threads: usize) -> (TaskManager, Arc<Mutex<Vec<AppError>>>) {
    let seen: Arc<Mutex<Vec<AppError>>> = Arc::default();
    let s = seen.clone();
    let manager = TaskManager::builder()
        .max_threads(threads)
        .error_handler(move |e| s.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    (manager, seen)
}

#[test]
fn unhandled_errors_go_to_the_error_handler() {
    let (manager, seen) = recording_manager(1);
    let task = manager.spawn(|_| Err::<(), _>(AppError::new("ERR_NOBODY", "no on_error")));
    assert!(task.join().is_err());
    eventually("handler called", || seen.lock().unwrap().len() == 1);
    let err = seen.lock().unwrap()[0].clone();
    assert_eq!(err.code(), "ERR_NOBODY");
    assert_eq!(err.context()["task"], "Task-1");
}

#[test]
fn errors_taken_by_on_error_do_not_reach_the_handler() {
    let (manager, seen) = recording_manager(1);
    let log = Log::new();
    let l = log.clone();
    manager
        .task(|_| Err::<(), _>(AppError::new("ERR_MINE", "handled")))
        .on_error(move |e| l.push(e.code().to_owned()))
        .start()
        .join()
        .unwrap_err();
    eventually("on_error called", || log.len() == 1);
    // A later task proves the handler had its chance to run.
    manager
        .spawn(|_| Err::<(), _>(AppError::new("ERR_LATER", "x")))
        .join()
        .unwrap_err();
    eventually("handler called once", || seen.lock().unwrap().len() == 1);
    assert_eq!(seen.lock().unwrap()[0].code(), "ERR_LATER");
    assert_eq!(log.events(), ["ERR_MINE"]);
}

#[test]
fn panicking_callbacks_are_reported_and_the_pool_keeps_working() {
    let (manager, seen) = recording_manager(2);
    for name in ["started", "progress", "complete", "error", "cancelled"] {
        let builder = manager
            .task(move |ctx| {
                ctx.set_progress(1, 1);
                if name == "error" {
                    return Err(AppError::new("ERR_BODY", "fails on purpose"));
                }
                Ok(())
            })
            .name(name);
        let task = match name {
            "started" => builder.on_started(|| panic!("on_started exploded")).start(),
            "progress" => builder
                .on_progress(|_| panic!("on_progress exploded"))
                .start(),
            "complete" => builder
                .on_complete(|()| panic!("on_complete exploded"))
                .start(),
            "error" => builder.on_error(|_| panic!("on_error exploded")).start(),
            _ => {
                let gate = common::Gate::new();
                let blocker = common::gated(&manager, &gate);
                let blocker2 = common::gated(&manager, &gate);
                let t = builder
                    .on_cancelled(|| panic!("on_cancelled exploded"))
                    .start();
                t.cancel();
                gate.open();
                blocker.join().unwrap();
                blocker2.join().unwrap();
                t
            }
        };
        let _ = task.join();
    }
    eventually("five reports", || seen.lock().unwrap().len() == 5);
    // Tasks run in parallel, so reports come in any order: match each callback to one.
    let reports = seen.lock().unwrap().clone();
    for callback in [
        "on_started",
        "on_progress",
        "on_complete",
        "on_error",
        "on_cancelled",
    ] {
        let matching: Vec<_> = reports
            .iter()
            .filter(|r| r.message().starts_with(&format!("{callback} of task")))
            .collect();
        assert_eq!(matching.len(), 1, "{callback}: {reports:?}");
        assert_eq!(matching[0].code(), codes::ERR_CALLBACK_PANICKED);
        assert!(
            matching[0].message().contains("exploded"),
            "{}",
            matching[0]
        );
    }
    // Capacity intact: two tasks can still meet at a barrier.
    common::assert_parallel_capacity(&manager, 2);
}

#[test]
fn a_panicking_callback_on_the_event_loop_does_not_stop_the_loop() {
    let ui = EventLoop::new();
    let seen: Arc<Mutex<Vec<AppError>>> = Arc::default();
    let s = seen.clone();
    let manager = TaskManager::builder()
        .dispatcher(ui.dispatcher())
        .error_handler(move |e| s.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let log = Log::new();
    manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(|()| panic!("UI callback bug"))
        .start();
    let l = log.clone();
    manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(move |()| l.push("second ok"))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(log.events(), ["second ok"]);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_panicking_error_handler_is_contained() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .error_handler(|_| panic!("handler bug"))
        .build()
        .unwrap();
    manager
        .spawn(|_| Err::<(), _>(AppError::new("E", "x")))
        .join()
        .unwrap_err();
    assert_eq!(manager.spawn(|_| Ok::<_, AppError>(1)).join().unwrap(), 1);
}
