//! Guarantee 16: a scope's `cancel()` or drop, and the manager's `cancel_all()`, race with
//! nothing. A task still queued when the call begins never runs its body, even though the
//! running tasks the call cancels first free their workers while it works through the queue;
//! a task that completed before the call reached it keeps its outcome and `on_complete`; each
//! call returns exactly how many tasks it cancelled.
//!
//! Each test queues thousands of tasks behind two running ones that return as soon as they
//! are cancelled: the freed workers then race the call for the queue, which is what went
//! wrong before (a walk that cancelled the running tasks first let the workers start the
//! queued ones it had not reached yet).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{eventually, PATIENCE};
use task_runtime::{
    AppError, EventLoop, ScopeHandle, Task, TaskContext, TaskError, TaskManager, TaskState,
};

/// Tasks queued behind the two running ones: enough that the call's walk takes long enough
/// for freed workers to reach the queue.
const QUEUED: usize = 5_000;

type Body = Box<dyn FnOnce(&TaskContext) -> Result<(), AppError> + Send>;

/// Two tasks running until cancelled (they return at once then, freeing their workers), and
/// `queued` tasks behind them that count their bodies in `ran`.
struct Load {
    running: Vec<Task<()>>,
    queued: Vec<Task<()>>,
    ran: Arc<AtomicUsize>,
}

fn load(queued: usize, start: impl Fn(Body) -> Task<()>) -> Load {
    let running: Vec<_> = (0..2)
        .map(|_| {
            start(Box::new(|ctx: &TaskContext| {
                while !ctx.is_cancelled() {
                    std::thread::yield_now();
                }
                Ok(())
            }))
        })
        .collect();
    eventually("both long tasks to run", || {
        running.iter().all(|t| t.state() == TaskState::Running)
    });
    let ran = Arc::new(AtomicUsize::new(0));
    let queued = (0..queued)
        .map(|_| {
            let ran = ran.clone();
            start(Box::new(move |_: &TaskContext| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }))
        })
        .collect();
    Load {
        running,
        queued,
        ran,
    }
}

impl Load {
    /// Every task ended cancelled, and no queued body ran.
    fn assert_all_cancelled_none_ran(self, manager: &TaskManager) {
        assert!(manager.wait_for_all(PATIENCE));
        assert_eq!(
            self.ran.load(Ordering::SeqCst),
            0,
            "bodies of tasks queued when the call began ran"
        );
        for task in self.running.into_iter().chain(self.queued) {
            assert!(matches!(task.join(), Err(TaskError::Cancelled)));
        }
    }
}

fn in_scope(scope: &ScopeHandle) -> impl Fn(Body) -> Task<()> + '_ {
    |body| scope.spawn(body)
}

#[test]
fn a_dropped_scope_never_runs_a_task_queued_in_it() {
    for _ in 0..3 {
        let manager = TaskManager::new(2);
        let scope = manager.scope();
        let load = load(QUEUED, in_scope(&scope));
        drop(scope);
        load.assert_all_cancelled_none_ran(&manager);
    }
}

#[test]
fn scope_cancel_runs_no_queued_task_and_counts_every_task_it_cancelled() {
    for _ in 0..3 {
        let manager = TaskManager::new(2);
        let signalled = Arc::new(AtomicUsize::new(0));
        let counter = signalled.clone();
        manager.signals().task_cancelled.connect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let scope = manager.scope();
        let load = load(QUEUED, in_scope(&scope));
        assert_eq!(
            scope.cancel(),
            QUEUED + 2,
            "every active task, counted once"
        );
        load.assert_all_cancelled_none_ran(&manager);
        // Signals follow the outcomes (after them, on the worker that decided the last two).
        eventually("a task_cancelled signal per task", || {
            signalled.load(Ordering::SeqCst) == QUEUED + 2
        });
        assert_eq!(signalled.load(Ordering::SeqCst), QUEUED + 2);
        assert!(!scope.is_closed(), "cancel leaves the scope usable");
    }
}

#[test]
fn cancel_all_runs_no_queued_task_and_counts_every_task_it_cancelled() {
    let queued = 10 * QUEUED;
    let manager = TaskManager::new(2);
    let load = load(queued, |body| manager.spawn(body));
    assert_eq!(manager.cancel_all(), queued + 2);
    load.assert_all_cancelled_none_ran(&manager);
}

/// A body of a child scope's task is stopped by its parent's cancel round as well.
#[test]
fn a_parent_scopes_cancel_stops_the_tasks_queued_in_its_children() {
    let manager = TaskManager::new(2);
    let parent = manager.scope();
    let child = parent.child();
    let load = load(QUEUED, in_scope(&child));
    assert_eq!(parent.cancel(), QUEUED + 2);
    load.assert_all_cancelled_none_ran(&manager);
}

/// Tasks that complete while `scope.cancel()` works through the others keep their
/// `on_complete` (before, every task active when the call began was silenced, completed or
/// not); the tasks it cancels run no callback at all.
#[test]
fn tasks_that_complete_while_a_scope_is_cancelled_keep_their_on_complete() {
    const TASKS: usize = 20_000;
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let scope = manager.scope();
    let completed = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<Task<()>> = (0..TASKS)
        .map(|n| {
            let completed = completed.clone();
            let cancelled = cancelled.clone();
            scope
                .task(move |_| {
                    // A little work, as hashing a small file would be.
                    let mut h = n as u64;
                    for i in 0..2_000u64 {
                        h = h.wrapping_mul(31).wrapping_add(i);
                    }
                    Ok::<_, AppError>(h)
                })
                .on_complete(move |_| {
                    completed.fetch_add(1, Ordering::SeqCst);
                })
                .on_cancelled(move || {
                    cancelled.fetch_add(1, Ordering::SeqCst);
                })
                .start()
        })
        .collect();
    eventually("some tasks to finish", || scope.progress().finished >= 500);
    let cancelled_by_call = scope.cancel();
    assert!(ui.run_until_idle(&manager, PATIENCE));

    let mut done = 0;
    let mut stopped = 0;
    for task in tasks {
        match task.join() {
            Ok(()) => done += 1,
            Err(TaskError::Cancelled) => stopped += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(done + stopped, TASKS);
    assert_eq!(
        stopped, cancelled_by_call,
        "cancel counts what it cancelled"
    );
    assert_eq!(
        completed.load(Ordering::SeqCst),
        done,
        "a completed task's on_complete was silenced"
    );
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        0,
        "cancelled tasks are silenced"
    );
}

/// A running task whose body started subtasks in its own scope (`ctx.scope()`), still queued:
/// the scope's `cancel()` counts them too (cancelling the task closes its body's scope, which
/// cancelled them first and hid them from the count: "returned 5 for 6 active tasks").
#[test]
fn scope_cancel_counts_the_subtasks_a_running_body_started() {
    const PARTS: usize = 3;
    let manager = TaskManager::new(1);
    let scope = manager.scope();
    let (ready, started) = std::sync::mpsc::channel();
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let task = scope.spawn(move |ctx| {
        let parts = ctx.scope();
        let handles: Vec<_> = (0..PARTS)
            .map(|_| {
                let ran = counted.clone();
                parts.spawn(move |_| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, AppError>(())
                })
            })
            .collect();
        ready.send(()).unwrap();
        while !ctx.is_cancelled() {
            std::thread::yield_now();
        }
        drop(handles);
        Ok::<_, AppError>(())
    });
    started.recv_timeout(common::PATIENCE).unwrap();
    assert_eq!(scope.active_count(), 1 + PARTS);
    assert_eq!(
        scope.cancel(),
        1 + PARTS,
        "the task and its queued subtasks"
    );
    assert!(manager.wait_for_all(PATIENCE));
    assert!(matches!(task.join(), Err(TaskError::Cancelled)));
    assert_eq!(ran.load(Ordering::SeqCst), 0, "no subtask ran");
}

/// A task's `on_cancelled`, delivered inline by `cancel_all` (the worker-thread dispatcher),
/// joins another task of the same call: it gets its outcome, without waiting for a walk that
/// is waiting for the callback.
#[test]
fn a_callback_of_cancel_all_can_join_another_task_it_cancels() {
    let manager = TaskManager::new(2);
    let load = load(0, |body| manager.spawn(body));
    let later: Arc<std::sync::Mutex<Option<Task<()>>>> = Arc::default();
    let (joined, outcome) = std::sync::mpsc::channel();
    let slot = later.clone();
    let first = manager
        .task(|_| Ok::<_, AppError>(()))
        .on_cancelled(move || {
            let later = slot.lock().unwrap().take().expect("handed over");
            joined.send(later.join().is_err()).unwrap();
        })
        .start();
    *later.lock().unwrap() = Some(manager.spawn(|_| Ok::<_, AppError>(())));
    assert_eq!(manager.cancel_all(), 4);
    assert!(
        outcome.recv_timeout(PATIENCE).unwrap(),
        "the joined task was cancelled"
    );
    drop(first);
    load.assert_all_cancelled_none_ran(&manager);
}

/// A task started on one manager in a scope of another runs on the scope's manager, whatever
/// that scope's cancel rounds were: it neither hangs nor is stopped by a round it never saw.
#[test]
fn a_task_started_in_a_scope_of_another_manager_runs_there() {
    let ours = TaskManager::new(1);
    let theirs = TaskManager::new(1);
    let scope = theirs.scope();
    assert_eq!(scope.cancel(), 0); // a round of `theirs` before the task
    ours.spawn(|_| Ok::<_, AppError>(())).join().unwrap(); // and none of `ours`
    let task = ours
        .task(|_| Ok::<_, AppError>(std::thread::current().name().map(str::to_owned)))
        .scope(&scope)
        .start();
    assert!(task.wait_for(PATIENCE), "the task hung");
    assert_eq!(scope.progress().finished, 1);
    let _ = task.join().unwrap();
}
