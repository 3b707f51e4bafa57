//! Cancellation: queued tasks never run (guarantee 2), running tasks see the flag and end
//! cancelled whatever they return, with no progress delivered afterwards (guarantee 3).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{AppError, Cancelled, EventLoop, TaskError, TaskManager, TaskState};

#[test]
fn cancel_while_queued_never_runs_the_body() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let blocker = common::occupy(&manager, &gate);

    let ran = Arc::new(AtomicBool::new(false));
    let log = Log::new();
    let r = ran.clone();
    let queued = manager
        .task(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .on_started(log.recorder("started"))
        .on_complete({
            let log = log.clone();
            move |()| log.push("completed")
        })
        .on_cancelled(log.recorder("cancelled"))
        .start();
    assert_eq!(queued.state(), TaskState::Queued);

    assert!(queued.cancel());
    // Decided at once, on this thread: the queued task never waits for a worker to finish.
    assert_eq!(queued.state(), TaskState::Cancelled);
    assert_eq!(log.events(), ["cancelled"]);
    assert!(!queued.cancel(), "a second cancel finds it finished");

    gate.open();
    blocker.join().unwrap();
    // One more task behind it in the queue: once it ran, the worker has seen the cancelled one.
    manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
    assert!(
        !ran.load(Ordering::SeqCst),
        "the body of a cancelled queued task ran"
    );
    assert_eq!(log.events(), ["cancelled"]);
    assert_eq!(
        queued.state(),
        TaskState::Cancelled,
        "its outcome never changes"
    );
    assert!(
        EventLoop::new().run_until_idle(&manager, PATIENCE),
        "every task settled exactly once"
    );
    assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
}

#[test]
fn cancel_while_running_wins_over_the_returned_value() {
    let manager = TaskManager::new(1);
    let started = Gate::new();
    let release = Gate::new();
    let (s, r) = (started.clone(), release.clone());
    let log = Log::new();
    let task = manager
        .task(move |ctx| {
            s.open();
            r.wait();
            assert!(ctx.is_cancelled(), "the body sees the flag");
            Ok::<_, AppError>("a value the body insists on")
        })
        .on_complete({
            let log = log.clone();
            move |_| log.push("completed")
        })
        .on_cancelled(log.recorder("cancelled"))
        .on_error({
            let log = log.clone();
            move |e| log.push(format!("failed {e}"))
        })
        .start();
    started.wait();
    assert!(task.cancel());
    assert!(task.is_cancelled());
    assert_eq!(
        task.state(),
        TaskState::Running,
        "still running until the body returns"
    );
    release.open();
    assert!(matches!(task.join(), Err(TaskError::Cancelled)));
    eventually("terminal callback", || log.len() == 1);
    assert_eq!(log.events(), ["cancelled"]);
}

#[test]
fn cancel_while_running_wins_over_an_error_too() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .error_handler(|e| panic!("the error handler must not hear of a cancelled task: {e}"))
        .build()
        .unwrap();
    let started = Gate::new();
    let release = Gate::new();
    let (s, r) = (started.clone(), release.clone());
    let task = manager.spawn(move |_| -> Result<(), AppError> {
        s.open();
        r.wait();
        Err(AppError::new("ERR_LATE", "failed after cancel"))
    });
    started.wait();
    task.cancel();
    release.open();
    assert!(matches!(task.join(), Err(TaskError::Cancelled)));
}

#[test]
fn check_cancelled_stops_a_body_with_question_mark() {
    let manager = TaskManager::new(1);
    let iterations = Arc::new(AtomicUsize::new(0));
    let started = Gate::new();
    let (s, n) = (started.clone(), iterations.clone());
    let task = manager.spawn(move |ctx| {
        s.open();
        loop {
            ctx.check_cancelled()?;
            n.fetch_add(1, Ordering::SeqCst);
            std::thread::yield_now();
        }
        #[allow(unreachable_code)]
        Ok::<(), AppError>(())
    });
    started.wait();
    eventually("some iterations", || iterations.load(Ordering::SeqCst) > 10);
    task.cancel();
    assert!(matches!(task.join(), Err(TaskError::Cancelled)));
    let after = iterations.load(Ordering::SeqCst);
    std::thread::yield_now();
    assert_eq!(iterations.load(Ordering::SeqCst), after, "the body stopped");
}

#[test]
fn cancelled_converts_into_app_error_and_task_error() {
    let err: AppError = Cancelled.into();
    assert_eq!(err.code(), task_runtime::codes::ERR_TASK_CANCELLED);
    assert!(err.is_cancellation());
    assert!(TaskError::from(Cancelled).is_cancelled());
    assert_eq!(TaskError::Cancelled.into_app_error().code(), err.code());
}

#[test]
fn no_progress_is_delivered_after_cancellation() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let cancelled = Gate::new();
    let c = cancelled.clone();
    let log = Log::new();
    let l = log.clone();
    let task = manager
        .task(move |ctx| {
            ctx.set_progress(1, 3); // before cancellation: pending on the UI queue
            c.wait();
            ctx.set_progress(2, 3); // after cancellation: never delivered
            ctx.set_progress(3, 3);
            Ok::<_, AppError>(())
        })
        .on_progress(move |p| l.push(format!("progress {}", p.current)))
        .on_cancelled(log.recorder("cancelled"))
        .start();
    eventually("first report", || task.progress().is_some());
    assert!(task.cancel());
    cancelled.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    // The delivery of "1/3" was pending when the task was cancelled: it is dropped too.
    assert_eq!(log.events(), ["cancelled"]);
    // The value is still recorded for those who ask.
    assert_eq!(task.progress().unwrap().current, 3);
}

#[test]
fn cancel_returns_false_once_finished() {
    let manager = TaskManager::new(1);
    let task = manager.spawn(|_| Ok::<_, AppError>(1));
    assert!(task.wait_for(PATIENCE));
    assert!(!task.cancel());
    assert!(!task.is_cancelled());
    assert_eq!(task.join().unwrap(), 1);
}

#[test]
fn cancel_by_id_through_the_manager() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let blocker = common::gated(&manager, &gate);
    let queued = manager.spawn(|_| Ok::<_, AppError>(()));
    assert!(manager.cancel(queued.id()));
    assert!(!manager.cancel(queued.id()), "no longer active");
    gate.open();
    blocker.join().unwrap();
    assert!(queued.join().unwrap_err().is_cancelled());
    assert!(!manager.cancel(blocker_id_after_finish(&manager)));
}

fn blocker_id_after_finish(manager: &TaskManager) -> task_runtime::TaskId {
    let t = manager.spawn(|_| Ok::<_, AppError>(()));
    let id = t.id();
    t.join().unwrap();
    assert!(manager.wait_for_all(Duration::from_secs(10)));
    id
}
