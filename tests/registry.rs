//! The registry of active tasks: counts, names, snapshots, cancel by name / all, and waiting
//! for all (guarantee 6: a task leaves the registry before its terminal callback runs).

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{AppError, Dispatcher, EventLoop, TaskManager, TaskState};

fn gated(manager: &TaskManager, name: &str, gate: &Gate) -> task_runtime::Task<()> {
    let g = gate.clone();
    manager
        .task(move |ctx| {
            ctx.report_progress(1, 2, "halfway");
            g.wait();
            Ok::<_, AppError>(())
        })
        .name(name)
        .start()
}

#[test]
fn counts_names_and_snapshots_while_queued_running_and_done() {
    let manager = TaskManager::new(1);
    assert_eq!(manager.active_count(), 0);
    let gate = Gate::new();
    let before = Instant::now();
    let first = gated(&manager, "first", &gate);
    let second = gated(&manager, "second", &gate);
    let third = gated(&manager, "first", &gate); // names need not be unique
    eventually("first running", || first.state() == TaskState::Running);
    eventually("first progress", || first.progress().is_some());

    assert_eq!(manager.active_count(), 3);
    assert_eq!(manager.active_tasks(), ["first", "second", "first"]);
    let snapshots = manager.tasks();
    let ids: Vec<_> = snapshots.iter().map(|s| s.id).collect();
    assert_eq!(ids, [first.id(), second.id(), third.id()]);
    let running = &snapshots[0];
    assert_eq!(running.state, TaskState::Running);
    assert_eq!(running.progress.as_ref().unwrap().message, "halfway");
    assert!(running.queued_at >= before);
    assert!(running.started_at.unwrap() >= running.queued_at);
    let queued = &snapshots[1];
    assert_eq!(
        (queued.name.as_str(), queued.state),
        ("second", TaskState::Queued)
    );
    assert!(queued.started_at.is_none() && queued.progress.is_none());

    gate.open();
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(manager.active_count(), 0);
    assert!(manager.active_tasks().is_empty() && manager.tasks().is_empty());
}

#[test]
fn cancel_task_cancels_every_active_task_of_the_name() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let a1 = gated(&manager, "a", &gate);
    let b = gated(&manager, "b", &gate);
    let a2 = gated(&manager, "a", &gate);
    eventually("a1 running", || a1.state() == TaskState::Running);
    assert!(manager.cancel_task("a"));
    assert!(a1.is_cancelled() && a2.is_cancelled() && !b.is_cancelled());
    // The queued one is gone at once, the running one once its body returns.
    assert_eq!(manager.active_tasks(), ["a", "b"]);
    assert!(
        !manager.cancel_task("nobody"),
        "false when no task has the name"
    );
    gate.open();
    assert!(a1.join().unwrap_err().is_cancelled());
    assert!(a2.join().unwrap_err().is_cancelled());
    b.join().unwrap();
    assert!(!manager.cancel_task("a"), "finished tasks are not active");
}

#[test]
fn cancel_all_with_one_running_and_fifty_queued() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let bodies = Arc::new(AtomicUsize::new(0));
    let cancelled = Log::new();
    let g = gate.clone();
    let running = manager
        .task(move |_| {
            g.wait();
            Ok::<_, AppError>(())
        })
        .on_cancelled(cancelled.recorder("running"))
        .start();
    eventually("running", || running.state() == TaskState::Running);
    let queued: Vec<_> = (0..50)
        .map(|i| {
            let n = bodies.clone();
            manager
                .task(move |_| {
                    n.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, AppError>(())
                })
                .on_cancelled(cancelled.recorder(&format!("queued {i}")))
                .start()
        })
        .collect();

    assert_eq!(manager.cancel_all(), 51);
    assert_eq!(
        cancelled.len(),
        50,
        "queued tasks are cancelled on the spot"
    );
    assert_eq!(
        manager.active_count(),
        1,
        "the running one until its body returns"
    );
    gate.open();
    assert!(running.join().unwrap_err().is_cancelled());
    for task in queued {
        assert!(task.join().unwrap_err().is_cancelled());
    }
    eventually("51 cancellations", || cancelled.len() == 51);
    assert_eq!(cancelled.count("running"), 1);
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(bodies.load(Ordering::SeqCst), 0, "no queued body ran");
    assert_eq!(manager.cancel_all(), 0);
}

#[test]
fn wait_for_all_returns_false_within_its_timeout_then_true() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let task = gated(&manager, "slow", &gate);
    let start = Instant::now();
    assert!(!manager.wait_for_all(Duration::from_millis(50)));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(50),
        "returned early: {waited:?}"
    );
    assert!(waited < PATIENCE);
    gate.open();
    assert!(manager.wait_for_all(PATIENCE));
    task.join().unwrap();
    assert!(manager.wait_for_all(Duration::ZERO));
}

/// What a terminal callback saw of the registry: active count and names.
type Observed = (usize, Vec<String>);

#[test]
fn a_task_leaves_the_registry_before_its_terminal_callback_runs() {
    let ui = EventLoop::new();
    // Worker-thread dispatch runs the callback right after the outcome, on the worker: the
    // tightest case. The event loop covers deferred delivery.
    for dispatcher in [Dispatcher::worker_thread(), ui.dispatcher()] {
        let manager = TaskManager::builder()
            .dispatcher(dispatcher)
            .build()
            .unwrap();
        let seen: Arc<Mutex<Vec<Observed>>> = Arc::default();
        for outcome in ["complete", "error", "cancel"] {
            let (m, s) = (manager.clone(), seen.clone());
            let observe = move || s.lock().unwrap().push((m.active_count(), m.active_tasks()));
            let gate = Gate::new();
            let g = gate.clone();
            let (observe2, observe3) = (observe.clone(), observe.clone());
            let task = manager
                .task(move |_| {
                    g.wait();
                    if outcome == "error" {
                        Err(AppError::new("E", "x"))
                    } else {
                        Ok(())
                    }
                })
                .name(outcome)
                .on_complete(move |()| observe())
                .on_error(move |_| observe2())
                .on_cancelled(observe3)
                .start();
            eventually("running", || task.state() == TaskState::Running);
            if outcome == "cancel" {
                task.cancel();
            }
            gate.open();
            assert!(ui.run_until_idle(&manager, PATIENCE));
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        for (count, names) in seen.iter() {
            assert_eq!((*count, names.len()), (0, 0), "{seen:?}");
        }
    }
}

#[test]
fn wait_for_all_accepts_duration_max() {
    let manager = TaskManager::new(1);
    manager.spawn(|_| Ok::<_, AppError>(()));
    assert!(manager.wait_for_all(Duration::MAX));
}

/// "True iff idle before the deadline": waiters that wake up late, when new work was already
/// submitted after an idle moment, still return `true` (waves of waiters and submitters, as in
/// threadpool's join test).
///
/// The waiters must be waiting before the idle moment: each is seen in its condvar's timed
/// wait (`/proc/<tid>/syscall`: a futex wait with a timeout; waiting for the lock before it
/// has none). A fixed 50 ms head start failed once in the 100-run loop on the loaded machine,
/// and so did "sleeping on two reads a millisecond apart" (a waiter blocked on the lock that
/// a preempted worker held, most likely).
#[test]
fn wait_for_all_sees_an_idle_moment_even_when_work_follows() {
    let manager = TaskManager::new(2);
    for wave in 0..20 {
        let gate = Gate::new();
        let task = common::gated(&manager, &gate);
        let started = Arc::new(AtomicUsize::new(0));
        let names: Vec<_> = (0..4).map(|i| format!("idle-w{wave}-{i}")).collect();
        let waiters: Vec<_> = names
            .iter()
            .map(|name| {
                let (m, started) = (manager.clone(), started.clone());
                std::thread::Builder::new()
                    .name(name.clone())
                    .spawn(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        m.wait_for_all(PATIENCE)
                    })
                    .unwrap()
            })
            .collect();
        eventually("the waiters to start", || {
            started.load(Ordering::SeqCst) == 4
        });
        eventually("the waiters to wait", || {
            names.iter().all(|name| common::is_in_timed_wait(name))
        });
        // Idle for an instant, then busy again until every waiter has answered.
        gate.open();
        task.join().unwrap();
        let next = Gate::new();
        let busy = common::gated(&manager, &next);
        for waiter in waiters {
            assert!(
                waiter.join().unwrap(),
                "wave {wave}: a waiter missed the idle moment"
            );
        }
        next.open();
        busy.join().unwrap();
    }
}

/// Whoever sees a task's outcome sees it counted: the waker of an awaited handle, woken as
/// the outcome is stored, finds the manager idle. (Counted after the store, a `join` could
/// return and the next task be submitted before the count dropped, leaving no idle moment
/// for `wait_for_all`: the test above failed that way on a loaded machine.)
#[test]
fn an_outcome_seen_is_an_outcome_counted() {
    struct Check {
        manager: TaskManager,
        idle: Mutex<Option<bool>>,
    }
    impl futures::task::ArcWake for Check {
        fn wake_by_ref(check: &Arc<Self>) {
            let idle = check.manager.wait_for_all(Duration::ZERO);
            *check.idle.lock().unwrap() = Some(idle);
        }
    }
    let manager = TaskManager::builder().manual().build().unwrap();
    let mut task = manager.spawn(|_| Ok::<_, AppError>(1));
    let check = Arc::new(Check {
        manager: manager.clone(),
        idle: Mutex::new(None),
    });
    let waker = futures::task::waker(Arc::clone(&check));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(std::pin::Pin::new(&mut task).poll(&mut cx).is_pending());
    assert!(manager.run_next());
    assert_eq!(
        *check.idle.lock().unwrap(),
        Some(true),
        "woken with the outcome, the waker found the task still undecided"
    );
    assert_eq!(task.try_take().unwrap().unwrap(), 1);
}

/// A thread waiting in `wait_for_all` costs the workers a counter per task, not a scan of the
/// registry: 100,000 trivial tasks finish while it waits (the quadratic version took seconds
/// per ten thousand; the benchmark row `throughput/with a waiter` measures the cost).
#[test]
fn a_waiter_does_not_make_the_pool_quadratic() {
    let manager = TaskManager::new(2);
    let gate = Gate::new();
    let blocker = common::gated(&manager, &gate);
    let waiter = {
        let m = manager.clone();
        std::thread::spawn(move || m.wait_for_all(PATIENCE))
    };
    let tasks: Vec<_> = (0..100_000)
        .map(|i| manager.spawn(move |_| Ok::<_, AppError>(i)))
        .collect();
    let done = Arc::new(AtomicUsize::new(0));
    for task in tasks {
        task.join().unwrap();
        done.fetch_add(1, Ordering::Relaxed);
    }
    gate.open();
    blocker.join().unwrap();
    assert!(waiter.join().unwrap());
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
}

/// The registry does not own its tasks: a detached task (handle dropped) is kept alive by the
/// queue or its worker, so it is still listed, counted and cancellable by id, and its
/// callbacks still run.
#[test]
fn detached_tasks_stay_listed_and_cancellable_by_id() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let running = gated(&manager, "running", &gate);
    eventually("the gated task runs", || {
        running.state() == TaskState::Running
    });
    let log = Log::new();
    let mut ids = Vec::new();
    for (name, priority) in [("queued", 0), ("ranked", 5)] {
        let detached = manager
            .task(|_| Ok::<_, AppError>(()))
            .name(name)
            .priority(priority)
            .on_cancelled(log.recorder(name))
            .start();
        ids.push(detached.id());
        drop(detached);
    }
    assert_eq!(manager.active_count(), 3);
    assert_eq!(manager.active_tasks(), ["running", "queued", "ranked"]);
    for id in &ids {
        assert!(
            manager.cancel(*id),
            "a detached queued task is still active"
        );
        assert!(!manager.cancel(*id), "and cancelled once");
    }
    assert_eq!(log.events(), ["queued", "ranked"]);
    assert_eq!(manager.active_count(), 1);
    // A detached running task is listed until it is decided.
    drop(running);
    assert_eq!(manager.active_tasks(), ["running"]);
    gate.open();
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(manager.active_count(), 0);
}
