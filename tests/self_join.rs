//! Guarantee 18: a task that waits for itself from its own body gets an answer at once, never
//! a hang: `join` fails with `ERR_SELF_JOIN`, `wait_for` returns `false`, `.await` resolves to
//! that error; the task itself goes on and ends normally.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::PATIENCE;
use task_runtime::{codes, AppError, Task, TaskError, TaskManager};

/// Runs `check` inside the body of a task of a one-thread manager, with that task's own handle
/// and the manager; returns what `check` returned. Fails if `check` hangs, or if the task does
/// not end afterwards.
fn in_own_body<R: Send + 'static>(
    check: impl FnOnce(&TaskManager, Task<u32>) -> R + Send + 'static,
) -> R {
    let manager = TaskManager::new(1);
    let inside = manager.clone();
    let own: Arc<Mutex<Option<Task<u32>>>> = Arc::default();
    let (hand_over, handed_over) = mpsc::channel::<()>();
    let (report, reported) = mpsc::channel();
    let slot = own.clone();
    let task = manager
        .task(move |_| {
            handed_over.recv().unwrap();
            let me = slot
                .lock()
                .unwrap()
                .take()
                .expect("the handle was handed over");
            report.send(check(&inside, me)).unwrap();
            Ok::<_, AppError>(7)
        })
        .name("narcissus")
        .start();
    *own.lock().unwrap() = Some(task);
    hand_over.send(()).unwrap();
    let result = reported
        .recv_timeout(PATIENCE)
        .expect("a task that waits for itself hung");
    assert!(
        manager.wait_for_all(PATIENCE),
        "the task itself goes on and ends"
    );
    result
}

fn assert_self_join<T: std::fmt::Debug>(result: Result<T, TaskError>) {
    match result {
        Err(TaskError::Failed(err)) => {
            assert_eq!(err.code(), codes::ERR_SELF_JOIN, "{err}");
            assert_eq!(err.context()["task"], "narcissus");
            assert!(err.message().contains("waited for itself"), "{err}");
        }
        other => panic!("expected ERR_SELF_JOIN, got {other:?}"),
    }
}

#[test]
fn join_from_its_own_body_fails_at_once() {
    assert_self_join(in_own_body(|_, me| me.join()));
}

#[test]
fn wait_for_from_its_own_body_returns_false_at_once() {
    let waited = in_own_body(|_, me| {
        [Duration::MAX, Duration::from_secs(3600)].map(|timeout| me.wait_for(timeout))
    });
    assert_eq!(waited, [false, false]);
}

#[test]
fn awaiting_it_in_its_own_body_resolves_to_the_error() {
    assert_self_join(in_own_body(|_, me| futures::executor::block_on(me)));
}

#[test]
fn joining_its_cancel_on_drop_guard_fails_at_once() {
    assert_self_join(in_own_body(|_, me| me.cancel_on_drop().join()));
}

/// A body joins a task queued behind it, which its worker then runs inline (the manager has
/// one thread); that task's body joins the first one. Each would wait for the other forever;
/// the inner join is a wait for a task running on this very thread, so it fails at once, and
/// both tasks end.
#[test]
fn a_task_run_inline_that_joins_the_task_joining_it_fails_at_once() {
    let inner = in_own_body(|manager, me| {
        // Queued behind this body on the manager's one thread: `join` runs it right here.
        let inner = manager.spawn(move |_| Ok::<_, AppError>(me.join()));
        inner.join()
    });
    assert_self_join(inner.expect("the inner task completes"));
}
