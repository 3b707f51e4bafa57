//! Why a task was asked to stop (`ctx.cancel_reason()`), and `ctx.cancelled()`, the future
//! that is ready once it was: each reason from the call that gives it.

mod common;

use std::future::Future;
use std::sync::mpsc;
use std::task::{Context, Waker};
use std::time::Duration;

use common::PATIENCE;
use task_runtime::{AppError, CancelReason, Exclusive, TaskManager, TestClock};

/// A body that reports when it runs, then waits for its stop request and reports the reason.
fn reporting(
    started: mpsc::Sender<()>,
    reasons: mpsc::Sender<Option<CancelReason>>,
) -> impl FnOnce(&task_runtime::TaskContext) -> Result<(), AppError> + Send + 'static {
    move |ctx| {
        assert_eq!(ctx.cancel_reason(), None);
        started.send(()).unwrap();
        futures::executor::block_on(ctx.cancelled());
        reasons.send(ctx.cancel_reason()).unwrap();
        Ok(())
    }
}

type Started = (mpsc::Sender<()>, mpsc::Receiver<()>);
type Reasons = (
    mpsc::Sender<Option<CancelReason>>,
    mpsc::Receiver<Option<CancelReason>>,
);

fn channels() -> (Started, Reasons) {
    (mpsc::channel(), mpsc::channel())
}

#[test]
fn a_cancel_is_requested() {
    let manager = TaskManager::new(2);
    let ((started, ready), (reasons, reason)) = channels();
    let task = manager.spawn(reporting(started, reasons));
    ready.recv_timeout(PATIENCE).unwrap();
    task.cancel();
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Requested)
    );
    assert!(task.join().unwrap_err().is_cancelled());
}

#[test]
fn a_dropped_scope_closes_and_a_scope_cancel_is_requested() {
    let manager = TaskManager::new(2);
    let ((started, ready), (reasons, reason)) = channels();
    let scope = manager.scope();
    scope.spawn(reporting(started.clone(), reasons.clone()));
    ready.recv_timeout(PATIENCE).unwrap();
    drop(scope);
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::ScopeClosed)
    );

    let scope = manager.scope();
    scope.spawn(reporting(started, reasons));
    ready.recv_timeout(PATIENCE).unwrap();
    assert_eq!(scope.cancel(), 1);
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Requested)
    );
}

#[test]
fn a_deadline_a_newer_task_and_shutdown_say_so() {
    let clock = TestClock::new();
    let manager = TaskManager::builder()
        .max_threads(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    let ((started, ready), (reasons, reason)) = channels();
    let timed = manager
        .task(reporting(started.clone(), reasons.clone()))
        .timeout(Duration::from_secs(1))
        .start();
    ready.recv_timeout(PATIENCE).unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Deadline)
    );
    assert!(timed.wait_for(PATIENCE));

    let older = manager
        .task(reporting(started.clone(), reasons.clone()))
        .name("search")
        .exclusive(Exclusive::CancelPrevious)
        .start();
    ready.recv_timeout(PATIENCE).unwrap();
    let newer = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("search")
        .exclusive(Exclusive::CancelPrevious)
        .start();
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Superseded)
    );
    assert!(older.join().unwrap_err().is_cancelled());
    newer.join().unwrap();

    manager.spawn(reporting(started, reasons));
    ready.recv_timeout(PATIENCE).unwrap();
    assert!(manager.shutdown(PATIENCE));
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Shutdown)
    );
}

#[test]
fn the_first_reason_stays() {
    let manager = TaskManager::new(1);
    let ((started, ready), (reasons, reason)) = channels();
    let scope = manager.scope();
    let task = scope.spawn(reporting(started, reasons));
    ready.recv_timeout(PATIENCE).unwrap();
    task.cancel();
    drop(scope);
    assert_eq!(
        reason.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Requested)
    );
}

#[test]
fn cancelled_is_ready_at_once_after_the_request_and_unlisted_when_dropped() {
    let manager = TaskManager::new(1);
    let (started, ready) = mpsc::channel();
    let task = manager.spawn(move |ctx| {
        // Made and dropped unpolled, and polled then dropped: neither leaves anything behind.
        drop(ctx.cancelled());
        let mut waiting = Box::pin(ctx.cancelled());
        assert!(waiting
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending());
        drop(waiting);
        started.send(()).unwrap();
        while !ctx.is_cancelled() {
            std::thread::yield_now();
        }
        // After the request: ready on its first poll.
        futures::executor::block_on(ctx.cancelled());
        Ok::<_, AppError>(())
    });
    ready.recv_timeout(PATIENCE).unwrap();
    task.cancel();
    assert!(task.join().unwrap_err().is_cancelled());
}

/// Whether `future` is still pending when polled once.
fn pending(future: &mut std::pin::Pin<Box<impl Future<Output = ()>>>) -> bool {
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending()
}

#[test]
fn idle_is_the_async_wait_for_all() {
    let manager = TaskManager::new(2);
    futures::executor::block_on(manager.idle()); // idle already
    let gate = common::Gate::new();
    let held = common::gated(&manager, &gate);
    let mut idle = Box::pin(manager.idle());
    assert!(pending(&mut idle), "a task is active");
    let waiter = std::thread::spawn(move || futures::executor::block_on(idle));
    gate.open();
    waiter.join().unwrap();
    assert!(held.is_finished());

    let scope = manager.scope();
    let gate = common::Gate::new();
    let g = gate.clone();
    let task = scope.spawn(move |_| {
        g.wait();
        Ok::<_, AppError>(())
    });
    let mut idle = Box::pin(scope.idle());
    assert!(pending(&mut idle), "a task of the scope is active");
    let waiter = std::thread::spawn(move || futures::executor::block_on(idle));
    gate.open();
    waiter.join().unwrap();
    assert!(task.is_finished());
}
