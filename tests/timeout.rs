//! `TaskBuilder::timeout` (guarantee 11): a timed-out task's outcome is `ERR_TASK_TIMEOUT`,
//! decided once its body returns; a task still queued at its deadline never runs, and its
//! outcome is decided at the deadline.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{Gate, Log, PATIENCE};
use task_runtime::{codes, AppError, Severity, TaskError, TaskManager, TaskState, TestClock};

fn timed_out(outcome: Result<impl std::fmt::Debug, TaskError>) -> AppError {
    match outcome {
        Err(TaskError::Failed(error)) => error,
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_running_task_past_its_deadline_fails_with_a_timeout_once_its_body_returns() {
    let manager = TaskManager::new(1);
    let log = Log::new();
    let (l, saw_cancel) = (log.clone(), Arc::new(AtomicBool::new(false)));
    let s = Arc::clone(&saw_cancel);
    let (errors_tx, errors) = mpsc::channel();
    let task = manager
        .task(move |ctx| {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            s.store(true, Ordering::SeqCst);
            l.push("body returned");
            Ok::<_, AppError>("a value nobody reads")
        })
        .timeout(Duration::from_millis(30))
        .on_error(move |error| errors_tx.send(error).unwrap())
        .start();
    let error = timed_out(task.join());
    assert!(
        saw_cancel.load(Ordering::SeqCst),
        "the body saw the cancellation"
    );
    assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT);
    assert_eq!(error.severity(), Severity::Warning);
    assert_eq!(error.context()["timeout_ms"], "30");
    let delivered = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(delivered.code(), codes::ERR_TASK_TIMEOUT);
    assert_eq!(log.events(), ["body returned"]);
    assert!(manager.wait_for_all(PATIENCE));
    assert!(errors.try_recv().is_err(), "on_error once");
}

#[test]
fn a_task_still_queued_at_its_deadline_never_runs_and_fails_at_the_deadline() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let blocker = common::occupy(&manager, &gate);
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let (errors_tx, errors) = mpsc::channel();
    let queued = manager
        .task(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .timeout(Duration::from_millis(20))
        .on_error(move |error| errors_tx.send(error.code().to_owned()).unwrap())
        .start();
    // Decided while the only worker is still busy.
    assert!(queued.wait_for(PATIENCE));
    assert_eq!(queued.state(), TaskState::Failed);
    assert_eq!(blocker.state(), TaskState::Running);
    assert_eq!(
        errors.recv_timeout(PATIENCE).unwrap(),
        codes::ERR_TASK_TIMEOUT
    );
    gate.open();
    blocker.join().unwrap();
    assert!(manager.wait_for_all(PATIENCE));
    assert!(!ran.load(Ordering::SeqCst), "the body never ran");
    assert_eq!(timed_out(queued.join()).code(), codes::ERR_TASK_TIMEOUT);
}

#[test]
fn a_zero_timeout_never_runs_the_body_and_max_never_fires() {
    let manager = TaskManager::new(1);
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let zero = manager
        .task(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .timeout(Duration::ZERO)
        .start();
    assert_eq!(
        zero.state(),
        TaskState::Failed,
        "decided when start returns"
    );
    assert_eq!(timed_out(zero.join()).context()["timeout_ms"], "0");
    let forever = manager
        .task(|_| {
            std::thread::sleep(Duration::from_millis(20));
            Ok::<_, AppError>(5)
        })
        .timeout(Duration::MAX)
        .start();
    assert_eq!(forever.join().unwrap(), 5);
    assert!(manager.wait_for_all(PATIENCE));
    assert!(!ran.load(Ordering::SeqCst));
}

/// On a test clock with real workers: the deadlines pass only when the test says so, so a
/// loaded machine cannot make "in time" late.
#[test]
fn a_cancel_before_the_deadline_gives_cancelled_and_a_task_done_in_time_completes() {
    let clock = TestClock::new();
    let manager = TaskManager::builder()
        .max_threads(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    let gate = Gate::new();
    let g = gate.clone();
    let (cancelled_tx, cancelled) = mpsc::channel();
    let errors = Log::new();
    let task = manager
        .task(move |ctx| {
            g.wait();
            ctx.check_cancelled()?;
            Ok::<_, AppError>(())
        })
        .timeout(Duration::from_millis(50))
        .on_cancelled(move || cancelled_tx.send(()).unwrap())
        .on_error({
            let errors = errors.clone();
            move |error| errors.push(error.code())
        })
        .start();
    task.cancel();
    clock.advance(Duration::from_millis(60)); // past the deadline, after the cancel
    gate.open();
    assert!(matches!(task.join(), Err(TaskError::Cancelled)));
    cancelled.recv_timeout(PATIENCE).unwrap();

    let quick = manager.spawn(|_| Ok::<_, AppError>(1)).cancel_on_drop();
    let mut in_time = manager
        .task(|_| Ok::<_, AppError>(2))
        .timeout(Duration::from_millis(20))
        .on_error({
            let errors = errors.clone();
            move |error| errors.push(error.code())
        })
        .start();
    assert!(in_time.wait_for(PATIENCE));
    assert_eq!(in_time.try_take().unwrap().unwrap(), 2);
    assert_eq!(quick.join().unwrap(), 1);
    // Past the deadline, nothing changes for a task that already completed.
    clock.advance(Duration::from_millis(40));
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(in_time.state(), TaskState::Completed);
    assert_eq!(manager.active_count(), 0);
    assert_eq!(errors.len(), 0, "no on_error: {:?}", errors.events());
}

/// Queued behind a busy worker, the tasks are failed by the timer itself, one after another
/// in deadline order (their `on_error` runs on the thread that decides them).
#[test]
fn deadlines_fire_in_their_order_whatever_order_they_were_set_in() {
    // On a test clock, with no worker: the order is the deadlines', not the machine's load.
    let clock = TestClock::new();
    let manager = common::manual_on(&clock);
    let log = Log::new();
    let mut tasks = Vec::new();
    for (name, ms) in [("late", 90), ("early", 10), ("middle", 50)] {
        let l = log.clone();
        tasks.push(
            manager
                .task(|_| Ok::<_, AppError>(()))
                .name(name)
                .timeout(Duration::from_millis(ms))
                .on_error(move |_| l.push(name))
                .start(),
        );
    }
    clock.advance(Duration::from_millis(49));
    assert_eq!(log.events(), ["early"]);
    clock.advance(Duration::from_millis(100)); // both others at once: still in their order
    assert_eq!(log.events(), ["early", "middle", "late"]);
    assert!(tasks.iter().all(|task| task.is_finished()));
    assert_eq!(manager.run_all(), 0, "timed out while queued: none runs");
}
