//! `Task::cancel_on_drop`: a guard that cancels its task when dropped, usable as a future in
//! a race (`tokio::select!`), where the losing branch's task is cancelled.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{Gate, PATIENCE};
use futures::future::{self, Either};
use task_runtime::{AppError, TaskManager, TaskState};

/// A body that runs until cancelled, telling `started` when it runs.
fn until_cancelled(
    started: mpsc::Sender<()>,
) -> impl FnOnce(&task_runtime::TaskContext) -> Result<&'static str, AppError> + Send + 'static {
    move |ctx| {
        started.send(()).unwrap();
        while !ctx.is_cancelled() {
            std::thread::sleep(Duration::from_micros(200));
        }
        ctx.check_cancelled()?;
        Ok("never")
    }
}

#[test]
fn dropping_the_guard_cancels_a_running_task() {
    let manager = TaskManager::new(1);
    let (started, running) = mpsc::channel();
    let (told, heard) = mpsc::channel();
    let guard = manager
        .task(until_cancelled(started))
        .on_cancelled(move || told.send("cancelled").unwrap())
        .start()
        .cancel_on_drop();
    running.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        guard.state(),
        TaskState::Running,
        "Deref reaches the handle"
    );
    drop(guard);
    assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), "cancelled");
}

#[test]
fn a_finished_task_is_not_affected_and_join_does_not_cancel() {
    let manager = TaskManager::new(1);
    let guard = manager.spawn(|_| Ok::<_, AppError>(7)).cancel_on_drop();
    assert_eq!(guard.join().unwrap(), 7);

    let mut guard = manager.spawn(|_| Ok::<_, AppError>(8)).cancel_on_drop();
    assert!(guard.wait_for(PATIENCE));
    assert_eq!(guard.try_take().unwrap().unwrap(), 8);
    assert_eq!(guard.state(), TaskState::Completed);
    drop(guard); // nothing to cancel
}

#[test]
fn the_losing_branch_of_a_race_is_cancelled() {
    let manager = TaskManager::new(2);
    let (started, running) = mpsc::channel();
    let (told, heard) = mpsc::channel();
    let gate = Gate::new();
    let g = gate.clone();
    let fast = manager
        .spawn(move |_| {
            g.wait();
            Ok::<_, AppError>("fast")
        })
        .cancel_on_drop();
    let slow = manager
        .task(until_cancelled(started))
        .on_cancelled(move || told.send("slow cancelled").unwrap())
        .start()
        .cancel_on_drop();
    running.recv_timeout(PATIENCE).unwrap();
    gate.open();
    match futures::executor::block_on(future::select(fast, slow)) {
        Either::Left((won, lost)) => {
            assert_eq!(won.unwrap(), "fast");
            drop(lost); // what select! does with the other branch
        }
        Either::Right(_) => panic!("the slow task cannot win"),
    }
    assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), "slow cancelled");
}

#[test]
fn into_inner_gives_back_a_handle_that_detaches() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let (told, heard) = mpsc::channel();
    let task = manager
        .task(move |_| {
            g.wait();
            Ok::<_, AppError>(())
        })
        .on_complete(move |()| told.send("completed").unwrap())
        .start()
        .cancel_on_drop()
        .into_inner();
    drop(task);
    gate.open();
    assert_eq!(heard.recv_timeout(PATIENCE).unwrap(), "completed");
}

#[test]
fn a_queued_task_dropped_unrun_never_runs() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let blocker = common::gated(&manager, &gate);
    let (ran, body_ran) = mpsc::channel::<()>();
    let queued = manager
        .spawn(move |_| {
            ran.send(()).unwrap();
            Ok::<_, AppError>(())
        })
        .cancel_on_drop();
    assert_eq!(queued.state(), TaskState::Queued);
    drop(queued);
    gate.open();
    blocker.join().unwrap();
    assert!(manager.wait_for_all(PATIENCE));
    assert!(body_ran.try_recv().is_err(), "the body never ran");
}
