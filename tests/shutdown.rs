//! Shutdown and drop: everything active is cancelled with one outcome each, later spawns are
//! cancelled at once, and waits are bounded by their deadlines (guarantees 1 and 6).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{AppError, TaskManager, TaskState};

#[test]
fn shutdown_cancels_everything_then_refuses_new_work() {
    let manager = TaskManager::new(1);
    let log = Log::new();
    let running = manager
        .task(|ctx| {
            while !ctx.is_cancelled() {
                std::thread::yield_now();
            }
            Ok::<_, AppError>(())
        })
        .on_cancelled(log.recorder("running cancelled"))
        .start();
    eventually("running", || running.state() == TaskState::Running);
    let queued = manager
        .task(|_| Ok::<_, AppError>(()))
        .on_cancelled(log.recorder("queued cancelled"))
        .start();

    assert!(
        manager.shutdown(PATIENCE),
        "bodies that honour cancellation return in time"
    );
    assert!(running.join().unwrap_err().is_cancelled());
    assert!(queued.join().unwrap_err().is_cancelled());
    eventually("both callbacks", || log.len() == 2);

    // Spawning after shutdown: cancelled at once, body never runs, callback delivered.
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let late = manager
        .task(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .name("late")
        .on_cancelled(log.recorder("late cancelled"))
        .start();
    assert_eq!(late.state(), TaskState::Cancelled);
    assert_eq!(log.count("late cancelled"), 1);
    assert!(late.join().unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(manager.active_count(), 0);
}

#[test]
fn shutdown_honours_its_timeout_when_a_body_ignores_cancellation() {
    let manager = TaskManager::new(1);
    let release = Gate::new();
    let r = release.clone();
    let stubborn = manager.spawn(move |_| {
        r.wait(); // ignores the cancel flag
        Ok::<_, AppError>(())
    });
    eventually("running", || stubborn.state() == TaskState::Running);
    let start = Instant::now();
    assert!(!manager.shutdown(Duration::from_millis(100)));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(100),
        "returned early: {waited:?}"
    );
    assert!(waited < PATIENCE);
    release.open();
    assert!(stubborn.join().unwrap_err().is_cancelled());
}

#[test]
fn dropping_the_last_handle_cancels_and_waits_for_bodies() {
    let manager = TaskManager::new(2);
    let outcomes = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let o = outcomes.clone();
            manager
                .task(|ctx| {
                    while !ctx.is_cancelled() {
                        std::thread::yield_now();
                    }
                    Ok::<_, AppError>(())
                })
                .on_cancelled(move || {
                    o.fetch_add(1, Ordering::SeqCst);
                })
                .start()
        })
        .collect();
    eventually("two running", || {
        tasks
            .iter()
            .filter(|t| t.state() == TaskState::Running)
            .count()
            == 2
    });
    drop(manager);
    // Drop returned: every body has returned and every task has its outcome.
    for task in &tasks {
        assert_eq!(task.state(), TaskState::Cancelled);
    }
    eventually("ten cancellations", || {
        outcomes.load(Ordering::SeqCst) == 10
    });
}

#[test]
fn drop_detaches_a_body_that_outlives_the_shutdown_timeout() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let release = Gate::new();
    let r = release.clone();
    let stuck = manager.spawn(move |_| {
        r.wait();
        Ok::<_, AppError>(())
    });
    eventually("running", || stuck.state() == TaskState::Running);
    let start = Instant::now();
    drop(manager);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < PATIENCE, "drop must not wait for the stuck body");
    assert!(stuck.is_cancelled());
    release.open();
    assert!(
        stuck.join().unwrap_err().is_cancelled(),
        "it still ends exactly once"
    );
}

#[test]
fn a_task_that_drops_the_last_handle_does_not_deadlock() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .shutdown_timeout(PATIENCE)
        .build()
        .unwrap();
    let m = manager.clone();
    let gate = Gate::new();
    let g = gate.clone();
    let task = manager.spawn(move |_| {
        g.wait();
        drop(m); // the last handle: the manager shuts down from inside its own worker
        Ok::<_, AppError>(())
    });
    drop(manager);
    let start = Instant::now();
    gate.open();
    assert!(task.wait_for(PATIENCE));
    assert!(
        start.elapsed() < PATIENCE,
        "shutdown waited for the task running it"
    );
    // Shutting down cancels every active task, the one that caused it included.
    assert!(task.join().unwrap_err().is_cancelled());
}

/// Dropping the last handle frees the manager itself, and with it everything it owns (here:
/// the error handler's captures), even though finished tasks were still listed in its
/// registry: each of those refers back to the manager.
#[test]
fn dropping_the_manager_frees_it_and_its_finished_tasks() {
    let marker = Arc::new(());
    let captured = marker.clone();
    let manager = TaskManager::builder()
        .max_threads(2)
        .error_handler(move |_| {
            let _ = &captured;
        })
        .build()
        .unwrap();
    for n in 0..100 {
        assert_eq!(
            manager.spawn(move |_| Ok::<_, AppError>(n)).join().unwrap(),
            n
        );
    }
    // A handle that outlives the manager keeps the manager only as long as it lives itself.
    let task = manager.spawn(|_| Ok::<_, AppError>(()));
    drop(manager);
    match task.join() {
        Ok(()) => {}
        Err(err) => assert!(err.is_cancelled(), "{err}"), // shut down before it ran
    }
    eventually("the manager to be freed", || {
        Arc::strong_count(&marker) == 1
    });
}

#[test]
fn shutdown_and_shutdown_timeout_accept_duration_max() {
    let manager = TaskManager::builder()
        .shutdown_timeout(Duration::MAX)
        .build()
        .unwrap();
    manager.spawn(|_| Ok::<_, AppError>(()));
    assert!(manager.shutdown(Duration::MAX));
    drop(manager); // Drop waits "forever" too: for bodies that return at once
}

/// The last handle dropped inside `on_started` (on the worker): the task does not wait for
/// itself for the whole `shutdown_timeout`.
#[test]
fn the_last_handle_dropped_inside_on_started_does_not_wait_for_its_own_task() {
    let manager = TaskManager::builder()
        .shutdown_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let slot = Arc::new(std::sync::Mutex::new(Some(manager)));
    let s = slot.clone();
    let dropped_in = Arc::new(std::sync::Mutex::new(None));
    let d = dropped_in.clone();
    let task = slot
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .task(|_| Ok::<_, AppError>(()))
        .on_started(move || {
            let manager = s.lock().unwrap().take();
            let started = Instant::now();
            drop(manager);
            *d.lock().unwrap() = Some(started.elapsed());
        })
        .start();
    assert!(task.wait_for(PATIENCE), "the task waited for itself");
    eventually("the drop to return", || {
        dropped_in.lock().unwrap().is_some()
    });
    let took = dropped_in.lock().unwrap().unwrap();
    assert!(took < Duration::from_secs(30), "dropping took {took:?}");
}

/// A body that shuts its own manager down does not wait for itself, nor for the task that
/// joined it inline (the pool is full, so the outer task runs the inner one on its own
/// worker); other running tasks are still waited for.
#[test]
fn shutdown_from_a_body_waits_for_others_not_for_itself() {
    let manager = TaskManager::builder()
        .max_threads(2)
        .shutdown_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // Ends only once the shutdown asked it to (a gate opened beside the shutdown could let it
    // complete first on a loaded machine: that failed once in the 100-run loop).
    let other = manager.spawn(move |ctx| {
        common::spin_until_cancelled(ctx);
        ctx.check_cancelled()?;
        Ok::<_, AppError>(())
    });
    eventually("the other task runs", || {
        other.state() == TaskState::Running
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let m = manager.clone();
    let outer = manager.spawn(move |_| {
        let m2 = m.clone();
        let inner = m.spawn(move |_| {
            let started = Instant::now();
            let done = m2.shutdown(PATIENCE);
            tx.send((done, started.elapsed())).unwrap();
            Ok::<_, AppError>(())
        });
        // Both threads are busy: this runs `inner` right here.
        inner.join()
    });
    let (done, took) = rx.recv_timeout(PATIENCE * 2).unwrap();
    assert!(done, "the shutdown did not see the other task end");
    assert!(
        took < PATIENCE,
        "the shutdown waited for the tasks running it: {took:?}"
    );
    assert!(
        outer.join().is_err(),
        "the outer task was cancelled by the shutdown"
    );
    assert!(
        other.join().is_err(),
        "the other task was cancelled and waited for"
    );
}
