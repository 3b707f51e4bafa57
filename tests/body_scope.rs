//! `ctx.scope()`: a body's subtasks stop when their task is asked to stop (cancelled, timed
//! out, its scope dropped), and none of their callbacks starts afterwards.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{until_cancelled, Gate, Log, PATIENCE};
use task_runtime::{
    codes, AppError, EventLoop, Task, TaskContext, TaskError, TaskManager, TaskState,
};

/// Starts a subtask in a new `ctx.scope()` that loops until cancelled; returns the scope
/// and the subtask once it runs.
fn start_part(ctx: &TaskContext, callbacks: &Log) -> (task_runtime::TaskScope, Task<()>) {
    let parts = ctx.scope();
    let running = Gate::new();
    let part = parts
        .task(until_cancelled(running.clone()))
        .name("part")
        .on_cancelled(callbacks.recorder("part: on_cancelled"))
        .start();
    running.wait();
    (parts, part)
}

#[test]
fn cancelling_a_task_stops_its_subtasks_while_its_body_still_runs() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 3);
    let callbacks = Log::new();
    let (parts_tx, parts_rx) = mpsc::channel();
    let (late_tx, late_rx) = mpsc::channel();
    let release = Gate::new();
    let ran_late = Arc::new(AtomicBool::new(false));
    let outer = {
        let (callbacks, release, ran_late) = (callbacks.clone(), release.clone(), ran_late.clone());
        manager.spawn(move |ctx| {
            let (parts, part) = start_part(ctx, &callbacks);
            parts_tx.send(part).unwrap();
            // Holds the scope: the cancel, not the drop at the end, must stop the part.
            release.wait();
            let late = parts
                .task(move |_| {
                    ran_late.store(true, Ordering::SeqCst);
                    Ok::<_, AppError>(())
                })
                .on_cancelled(callbacks.recorder("late: on_cancelled"))
                .start();
            late_tx.send((parts.is_closed(), late.state())).unwrap();
            Ok::<_, AppError>(())
        })
    };
    let part = parts_rx.recv_timeout(PATIENCE).unwrap();
    assert!(outer.cancel());
    assert!(part.wait_for(PATIENCE), "the part stops with its task");
    assert!(part.join().unwrap_err().is_cancelled());
    assert_eq!(outer.state(), TaskState::Running, "its body still runs");

    release.open();
    let (closed, late_state) = late_rx.recv_timeout(PATIENCE).unwrap();
    assert!(closed, "the body's scope closed with the cancel");
    assert_eq!(
        late_state,
        TaskState::Cancelled,
        "a subtask started afterwards is cancelled at once"
    );
    assert!(outer.join().unwrap_err().is_cancelled());
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(!ran_late.load(Ordering::SeqCst));
    assert!(
        callbacks.events().is_empty(),
        "no callback of a subtask after its task was cancelled: {:?}",
        callbacks.events()
    );
}

#[test]
fn subtasks_of_subtasks_stop_too() {
    let manager = TaskManager::new(4);
    let (tx, rx) = mpsc::channel();
    let (stopped_tx, stopped_rx) = mpsc::channel();
    let outer = manager.spawn(move |ctx| {
        let parts = ctx.scope();
        let running = Gate::new();
        let r = running.clone();
        let middle = parts.spawn(move |ctx| {
            let (_parts, leaf) = start_part(ctx, &Log::new());
            tx.send(leaf).unwrap();
            r.open();
            until_cancelled(Gate::new())(ctx)
        });
        running.wait();
        common::spin_until_cancelled(ctx);
        // Still holding `parts`: the middle task ends because the cancel reached it.
        stopped_tx.send(middle.wait_for(PATIENCE)).unwrap();
        Ok::<_, AppError>(())
    });
    let leaf = rx.recv_timeout(PATIENCE).unwrap();
    outer.cancel();
    assert!(leaf.join().unwrap_err().is_cancelled());
    assert!(
        stopped_rx.recv_timeout(PATIENCE).unwrap(),
        "the middle task stopped"
    );
    assert!(outer.join().unwrap_err().is_cancelled());
}

#[test]
fn a_body_scope_is_a_child_of_its_tasks_scope() {
    let manager = TaskManager::new(3);
    let scope = manager.scope();
    let (tx, rx) = mpsc::channel();
    let outer = scope.spawn(move |ctx| {
        let (_parts, part) = start_part(ctx, &Log::new());
        tx.send(part).unwrap();
        until_cancelled(Gate::new())(ctx)
    });
    let part = rx.recv_timeout(PATIENCE).unwrap();
    assert_eq!(scope.active_count(), 2, "the task and its subtask");
    assert_eq!(scope.progress().started, 2);
    drop(scope);
    assert!(part.join().unwrap_err().is_cancelled());
    assert!(outer.join().unwrap_err().is_cancelled());
}

#[test]
fn a_timed_out_task_stops_its_subtasks() {
    let manager = TaskManager::new(3);
    let (tx, rx) = mpsc::channel();
    let (stopped_tx, stopped_rx) = mpsc::channel();
    let outer = manager
        .task(move |ctx| {
            let (parts, part) = start_part(ctx, &Log::new());
            tx.send(part).unwrap();
            // Returns once the deadline's cancel reached the part.
            stopped_tx.send(parts.wait(PATIENCE)).unwrap();
            Ok::<_, AppError>(())
        })
        .timeout(Duration::from_millis(50))
        .start();
    let part = rx.recv_timeout(PATIENCE).unwrap();
    assert!(part.join().unwrap_err().is_cancelled());
    assert!(
        stopped_rx.recv_timeout(PATIENCE).unwrap(),
        "the part stopped at the deadline"
    );
    match outer.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn returning_from_the_body_drops_its_scope() {
    let manager = TaskManager::new(3);
    let outer = manager.spawn(|ctx| {
        let (_parts, part) = start_part(ctx, &Log::new());
        Ok::<_, AppError>(part)
    });
    let part = outer.join().unwrap();
    assert!(part.join().unwrap_err().is_cancelled());
}

#[test]
fn a_task_asked_to_stop_gets_a_closed_scope() {
    let manager = TaskManager::new(2);
    let ran = Arc::new(AtomicBool::new(false));
    let running = Gate::new();
    let (tx, rx) = mpsc::channel();
    let outer = {
        let (ran, running) = (ran.clone(), running.clone());
        manager.spawn(move |ctx| {
            running.open();
            common::spin_until_cancelled(ctx);
            let parts = ctx.scope();
            let part = parts.spawn(move |_| {
                ran.store(true, Ordering::SeqCst);
                Ok::<_, AppError>(())
            });
            tx.send((parts.is_closed(), part.state())).unwrap();
            Ok::<_, AppError>(())
        })
    };
    running.wait();
    outer.cancel();
    let (closed, state) = rx.recv_timeout(PATIENCE).unwrap();
    assert!(closed);
    assert_eq!(state, TaskState::Cancelled);
    assert!(outer.join().unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst), "never runs");
}

#[test]
fn a_body_scope_without_its_manager_is_a_clear_panic() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .shutdown_timeout(Duration::ZERO)
        .build()
        .unwrap();
    let go = Gate::new();
    let (tx, rx) = mpsc::channel();
    let running = Gate::new();
    let outer = {
        let (go, running) = (go.clone(), running.clone());
        manager.spawn(move |ctx| {
            running.open();
            go.wait();
            let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.scope()));
            let message = made.err().and_then(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            });
            tx.send(message).unwrap();
            Ok::<_, AppError>(())
        })
    };
    running.wait();
    drop(manager); // gives up waiting for the body at once
    go.open();
    let message = rx
        .recv_timeout(PATIENCE)
        .unwrap()
        .expect("ctx.scope() panics");
    assert!(
        message.contains("is gone") && message.contains("keep a TaskManager alive"),
        "{message}"
    );
    assert!(outer.join().unwrap_err().is_cancelled());
}
