//! Scopes (guarantee 9): once a scope is dropped, no callback of its tasks starts (once
//! `cancel()` returns, none of the tasks it cancelled); its tasks each still get exactly one
//! outcome.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{until_cancelled, Gate, Log, PATIENCE};
use task_runtime::{AppError, EventLoop, ScopeHandle, TaskManager, TaskScope, TaskState};

/// Counts the manager's end signals per task name.
fn endings(manager: &TaskManager) -> Log {
    let log = Log::new();
    let signals = manager.signals();
    let (a, b, c) = (log.clone(), log.clone(), log.clone());
    signals
        .task_completed
        .connect(move |info| a.push(format!("{} completed", info.name)));
    signals
        .task_cancelled
        .connect(move |info| b.push(format!("{} cancelled", info.name)));
    signals
        .task_failed
        .connect(move |(info, _)| c.push(format!("{} failed", info.name)));
    log
}

#[test]
fn dropping_a_scope_cancels_its_tasks_and_silences_every_callback() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let ended = endings(&manager);
    let callbacks = Log::new();
    let scope = manager.scope();
    // One running, one that completes with its `on_complete` still queued, one queued.
    let running_gate = Gate::new();
    let running = scope
        .task(until_cancelled(running_gate.clone()))
        .name("running")
        .on_cancelled(callbacks.recorder("running: on_cancelled"))
        .start();
    running_gate.wait();
    let c = callbacks.clone();
    let done = scope
        .task(|_| Ok::<_, AppError>(5))
        .name("done")
        .on_complete(move |_| c.push("done: on_complete"))
        .start();
    assert!(done.wait_for(PATIENCE));
    let blocker_gate = Gate::new();
    let blocker = scope
        .task(until_cancelled(blocker_gate.clone()))
        .name("blocker")
        .start();
    blocker_gate.wait();
    let queued = scope
        .task(|_| Ok::<_, AppError>(()))
        .name("queued")
        .on_cancelled(callbacks.recorder("queued: on_cancelled"))
        .start();
    assert_eq!(queued.state(), TaskState::Queued);

    drop(scope);
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(
        callbacks.events().is_empty(),
        "no callback after the drop: {:?}",
        callbacks.events()
    );
    assert!(running.join().unwrap_err().is_cancelled());
    assert!(blocker.join().unwrap_err().is_cancelled());
    assert!(queued.join().unwrap_err().is_cancelled());
    // Outcomes stay observable: the completed task's handle, and one signal per task.
    assert!(done.join().is_ok());
    let mut ended = ended.events();
    ended.sort();
    assert_eq!(
        ended,
        [
            "blocker cancelled",
            "done completed",
            "queued cancelled",
            "running cancelled"
        ]
    );
}

#[test]
fn cancel_silences_what_it_cancels_and_the_scope_stays_usable() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let callbacks = Log::new();
    let scope = manager.scope();
    let gate = Gate::new();
    let task = scope
        .task(until_cancelled(gate.clone()))
        .on_cancelled(callbacks.recorder("old: on_cancelled"))
        .start();
    gate.wait();
    assert_eq!(scope.cancel(), 1);
    assert_eq!(scope.cancel(), 0, "nothing left to cancel");
    assert!(!scope.is_closed());
    let c = callbacks.clone();
    scope
        .task(|_| Ok::<_, AppError>(1))
        .on_complete(move |_| c.push("new: on_complete"))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().unwrap_err().is_cancelled());
    assert_eq!(callbacks.events(), ["new: on_complete"]);
}

#[test]
fn a_task_started_through_a_handle_of_a_closed_scope_never_runs() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let scope = manager.scope();
    let handle = scope.handle();
    drop(scope);
    assert!(handle.is_closed());
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let callbacks = Log::new();
    let task = handle
        .task(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .on_cancelled(callbacks.recorder("on_cancelled"))
        .start();
    assert_eq!(task.state(), TaskState::Cancelled, "when start returns");
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(!ran.load(Ordering::SeqCst));
    assert!(callbacks.events().is_empty());
    // Through the builder too, and a local builder.
    let plain = manager
        .task(|_| Ok::<_, AppError>(()))
        .scope(&handle)
        .start();
    assert_eq!(plain.state(), TaskState::Cancelled);
    let local = manager
        .task(|_| Ok::<_, AppError>(()))
        .local()
        .scope(&handle)
        .start();
    assert_eq!(local.state(), TaskState::Cancelled);
}

#[test]
fn children_are_counted_in_their_parent_and_closed_with_it() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let parent = manager.scope();
    let child = parent.child();
    let gate = Gate::new();
    let in_child = child.task(until_cancelled(gate.clone())).start();
    gate.wait();
    let quick = parent.spawn(|_| Ok::<_, AppError>(()));
    assert!(quick.wait_for(PATIENCE));
    assert_eq!(child.active_count(), 1);
    assert_eq!(
        parent.active_count(),
        1,
        "the child's task counts in the parent"
    );
    assert_eq!(parent.tasks().len(), 1);
    assert_eq!(parent.tasks()[0].id, in_child.id());
    let progress = parent.progress();
    assert_eq!((progress.started, progress.finished), (2, 1));
    assert!(
        !parent.wait(Duration::from_millis(10)),
        "a task is still running"
    );

    drop(parent);
    assert!(child.is_closed(), "closed with its parent");
    assert!(in_child.join().unwrap_err().is_cancelled());
    assert!(child.wait(Duration::MAX));
    assert_eq!(child.active_count(), 0);
    assert!(ui.run_until_idle(&manager, PATIENCE));
}

#[test]
fn progress_sums_the_latest_progress_of_its_tasks() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let scope = manager.scope();
    for units in [3, 5] {
        scope.spawn(move |ctx| {
            ctx.set_progress(units, 10);
            Ok::<_, AppError>(())
        });
    }
    assert!(scope.wait(PATIENCE));
    let progress = scope.progress();
    assert_eq!(progress.started, 2);
    assert_eq!(progress.finished, 2);
    assert_eq!((progress.current, progress.total), (8, 20));
    assert!(ui.run_until_idle(&manager, PATIENCE));
}

#[test]
fn scopes_and_handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn clone<T: Clone>() {}
    send_sync::<TaskScope>();
    send_sync::<ScopeHandle>();
    clone::<ScopeHandle>();

    let manager = TaskManager::new(2);
    let scope = manager.scope();
    let handle = scope.handle();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    std::thread::spawn(move || {
        let task = handle.spawn(|_| Ok::<_, AppError>(3));
        s.lock().unwrap().push(task.join().unwrap());
    })
    .join()
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), [3]);
    assert!(scope.wait(PATIENCE));
}

#[test]
fn dropping_a_scope_never_waits_for_a_body_that_ignores_cancellation() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let scope = manager.scope();
    let (started, release) = (Gate::new(), Gate::new());
    let (s, r) = (started.clone(), release.clone());
    let stubborn = scope.spawn(move |_| {
        s.open();
        r.wait(); // does not look at cancellation
        Ok::<_, AppError>(())
    });
    started.wait();
    drop(scope); // returns while the body still runs: were it to wait, this test would hang
    assert_eq!(stubborn.state(), TaskState::Running);
    assert!(stubborn.is_cancelled());
    release.open();
    assert!(stubborn.join().unwrap_err().is_cancelled());
    assert!(ui.run_until_idle(&manager, PATIENCE));
}

#[test]
fn a_body_waiting_for_its_own_scope_does_not_wait_for_itself() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let scope = manager.scope();
    let handle = scope.handle();
    let outer = scope.spawn(move |_| {
        let sibling = handle.spawn(|_| Ok::<_, AppError>(2));
        // Every other task of the scope ends; this one is still running, and not waited for.
        let settled = handle.wait(PATIENCE);
        Ok::<_, AppError>((settled, sibling.join().unwrap()))
    });
    assert_eq!(outer.join().unwrap(), (true, 2));
    assert!(scope.wait(PATIENCE));
    assert!(ui.run_until_idle(&manager, PATIENCE));
}

/// A UI callback of a scope's task closes the scope (the panel's "Close" in a result
/// handler): the drop from inside a delivery neither deadlocks nor lets the scope's other
/// callbacks run afterwards.
#[test]
fn a_callback_of_a_scope_task_can_drop_the_scope() {
    use std::cell::RefCell;
    use std::rc::Rc;

    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let panel: Rc<RefCell<Option<TaskScope>>> = Rc::new(RefCell::new(Some(manager.scope())));
    let handle = panel.borrow().as_ref().unwrap().handle();
    let callbacks = Log::new();
    let gate = Gate::new();
    let other = handle
        .task(until_cancelled(gate.clone()))
        .local()
        .on_cancelled({
            let callbacks = callbacks.clone();
            move || callbacks.push("other: on_cancelled")
        })
        .start();
    gate.wait();
    let (p, c) = (Rc::clone(&panel), callbacks.clone());
    handle
        .task(|_| Ok::<_, AppError>("done"))
        .local()
        .on_complete(move |_| {
            c.push("closer: on_complete");
            p.borrow_mut().take(); // the panel closes from its own callback
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(panel.borrow().is_none());
    assert!(handle.is_closed());
    assert!(other.join().unwrap_err().is_cancelled());
    assert_eq!(callbacks.events(), ["closer: on_complete"]);
}

/// `wait` without a deadline is woken by the decisions (they notify only when someone
/// waits): a lost wake-up would block the waiter forever.
#[test]
fn a_wait_without_deadline_returns_once_the_tasks_finish() {
    let manager = TaskManager::new(2);
    let scope = Arc::new(manager.scope());
    let gate = Gate::new();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let g = gate.clone();
            scope
                .task(move |_| {
                    g.wait();
                    Ok::<_, AppError>(())
                })
                .start()
        })
        .collect();
    let (waited_tx, waited) = mpsc::channel();
    let s = Arc::clone(&scope);
    let _waiter = std::thread::Builder::new()
        .name("scope-waiter".into())
        .spawn(move || waited_tx.send(s.wait(Duration::MAX)).unwrap())
        .unwrap();
    // Blocked in `wait` before the tasks finish: the case a lost wake-up would hang.
    common::eventually("the waiter to block", || common::is_blocked("scope-waiter"));
    gate.open();
    assert_eq!(
        waited.recv_timeout(PATIENCE),
        Ok(true),
        "the waiter was woken"
    );
    for task in tasks {
        task.join().unwrap();
    }
}
