//! The testing kit: a manual manager runs bodies only when asked, on the calling thread; a
//! test clock moves instants and deadlines without wall time. Nothing here sleeps or waits
//! on a worker.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Log;
use task_runtime::{
    codes, AppError, EventLoop, Exclusive, TaskError, TaskManager, TaskState, TestClock,
};

fn manual(ui: &EventLoop) -> TaskManager {
    TaskManager::builder()
        .manual()
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap()
}

/// A manual manager on `clock`, delivering to `ui`.
fn manual_on(ui: &EventLoop, clock: &TestClock) -> TaskManager {
    TaskManager::builder()
        .manual()
        .clock(clock.clone())
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap()
}

#[test]
fn nothing_runs_until_asked_then_in_priority_order_on_this_thread() {
    let ui = EventLoop::new();
    let manager = manual(&ui);
    let log = Log::new();
    let here = std::thread::current().id();
    let tasks: Vec<_> = [(0, "low"), (5, "high"), (0, "low again")]
        .into_iter()
        .map(|(priority, name)| {
            let log = log.clone();
            manager
                .task(move |_| {
                    assert_eq!(std::thread::current().id(), here);
                    log.push(name);
                    Ok::<_, AppError>(())
                })
                .priority(priority)
                .start()
        })
        .collect();
    assert!(tasks.iter().all(|t| t.state() == TaskState::Queued));
    assert!(log.events().is_empty(), "no worker ran anything");
    assert_eq!(manager.active_count(), 3, "the registry lists them");
    assert_eq!(manager.worker_count(), 0);
    let completed = Log::new();
    let c = completed.clone();
    manager
        .signals()
        .task_completed
        .connect(move |info| c.push(info.name.clone()));
    assert!(manager.run_next());
    assert_eq!(log.events(), ["high"]);
    assert_eq!(manager.run_all(), 2);
    assert_eq!(log.events(), ["high", "low", "low again"]);
    assert!(!manager.run_next(), "nothing left");
    assert!(tasks.iter().all(|t| t.state() == TaskState::Completed));
    ui.process_events();
    assert_eq!(completed.len(), 3, "the signals: {:?}", completed.events());
    assert_eq!(manager.worker_count(), 0, "and still no thread");
}

#[test]
fn run_all_runs_bodies_queued_meanwhile_and_skips_cancelled_ones() {
    let ui = EventLoop::new();
    let manager = manual(&ui);
    let log = Log::new();
    let (m, l) = (manager.clone(), log.clone());
    manager.spawn(move |_| {
        let l2 = l.clone();
        m.spawn(move |_| {
            l2.push("child");
            Ok::<_, AppError>(())
        });
        l.push("parent");
        Ok::<_, AppError>(())
    });
    let cancelled = manager.spawn(|_| Ok::<_, AppError>(()));
    assert!(cancelled.cancel());
    assert_eq!(manager.run_all(), 2, "the parent and the child it queued");
    assert_eq!(log.events(), ["parent", "child"]);
    assert_eq!(cancelled.state(), TaskState::Cancelled);
}

#[test]
fn callbacks_go_through_the_dispatcher_and_join_runs_a_queued_task() {
    let ui = EventLoop::new();
    let manager = manual(&ui);
    let log = Log::new();
    let l = log.clone();
    let task = manager
        .task(|_| Ok::<_, AppError>(6 * 7))
        .on_cancelled(|| unreachable!())
        .start();
    let other = manager
        .task(|_| Ok::<_, AppError>(1))
        .on_complete(move |n| l.push(format!("complete {n}")))
        .start();
    // No worker will ever come: join runs the task here.
    assert_eq!(task.join().unwrap(), 42);
    assert_eq!(manager.run_all(), 1);
    assert!(other.is_finished());
    assert!(log.events().is_empty(), "queued on the dispatcher");
    ui.process_events();
    assert_eq!(log.events(), ["complete 1"]);
}

#[test]
fn a_scope_dropped_before_its_tasks_run_cancels_them() {
    let ui = EventLoop::new();
    let manager = manual(&ui);
    let panel = manager.scope();
    let scan = panel.spawn(|_| Ok::<_, AppError>(()));
    drop(panel);
    assert_eq!(manager.run_all(), 0);
    assert!(scan.join().unwrap_err().is_cancelled());
}

#[test]
fn latest_wins_among_queued_searches() {
    let ui = EventLoop::new();
    let manager = manual(&ui);
    let shown = Arc::new(Mutex::new(Vec::new()));
    for query in ["r", "ru", "rus"] {
        let shown = shown.clone();
        manager
            .task_with_items(move |_, results| {
                results.publish(format!("{query}: 1"));
                Ok::<_, AppError>(())
            })
            .name("search")
            .exclusive(Exclusive::CancelPrevious)
            .on_items(move |batch| shown.lock().unwrap().extend(batch))
            .start();
    }
    assert_eq!(manager.run_all(), 1);
    ui.process_events();
    assert_eq!(*shown.lock().unwrap(), ["rus: 1"]);
}

#[test]
fn a_deadline_fires_exactly_when_the_clock_passes_it() {
    let clock = TestClock::new();
    let ui = EventLoop::new();
    let manager = manual_on(&ui, &clock);
    let errors = Log::new();
    let e = errors.clone();
    let load = manager
        .task(|_| Ok::<_, AppError>("loaded"))
        .timeout(Duration::from_secs(2))
        .on_error(move |error| e.push(error.code()))
        .start();
    clock.advance(Duration::from_millis(1999));
    assert_eq!(load.state(), TaskState::Queued, "1 ms before the deadline");
    clock.advance(Duration::from_millis(1));
    assert_eq!(load.state(), TaskState::Failed, "decided during advance");
    ui.process_events();
    assert_eq!(errors.events(), [codes::ERR_TASK_TIMEOUT]);
    match load.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        other => panic!("{other:?}"),
    }
    assert_eq!(manager.run_all(), 0, "a timed-out task never runs");
}

#[test]
fn a_running_body_past_its_deadline_times_out_when_it_returns() {
    let clock = TestClock::new();
    let ui = EventLoop::new();
    let manager = manual_on(&ui, &clock);
    let c = clock.clone();
    let slow = manager
        .task(move |ctx| {
            c.advance(Duration::from_secs(3)); // the body "takes" three seconds
            Ok::<_, AppError>(ctx.is_cancelled())
        })
        .timeout(Duration::from_secs(2))
        .start();
    assert!(manager.run_next());
    match slow.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        other => panic!("{other:?}"),
    }
}

#[test]
fn snapshots_count_on_the_test_clock() {
    let clock = TestClock::new();
    let manager = common::manual_on(&clock);
    let start = clock.now();
    clock.advance(Duration::from_secs(60));
    let _task = manager.spawn(|_| Ok::<_, AppError>(()));
    let snapshot = manager.tasks().pop().expect("the queued task");
    assert_eq!(snapshot.queued_at - start, Duration::from_secs(60));
    assert_eq!(clock.elapsed(), Duration::from_secs(60));
    // Hostile steps: the clock saturates rather than panics.
    clock.advance(Duration::MAX);
    clock.advance(Duration::MAX);
    assert!(clock.now() >= start);
}

#[derive(Clone)]
struct Service {
    tasks: TaskManager,
    log: Log,
}

impl Service {
    #[task_runtime::run_in_background(manager = &self.tasks, on_complete = self.show)]
    fn count(&self, text: String) -> usize {
        text.split_whitespace().count()
    }

    fn show(&self, words: usize) {
        self.log.push(format!("{words} words"));
    }
}

#[test]
fn the_macros_run_on_a_manual_manager_unchanged() {
    let ui = EventLoop::new();
    let service = Service {
        tasks: manual(&ui),
        log: Log::new(),
    };
    let task = service.count("one two three".into());
    assert_eq!(task.state(), TaskState::Queued);
    assert_eq!(service.tasks.run_all(), 1);
    ui.process_events();
    assert_eq!(service.log.events(), ["3 words"]);
}

#[test]
fn idle_workers_expire_on_the_test_clock() {
    let clock = TestClock::new();
    let manager = TaskManager::builder()
        .max_threads(1)
        .thread_name("kit-idle")
        .idle_timeout(Duration::from_millis(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
    assert_eq!(manager.worker_count(), 1);
    // The worker is idle, waiting for work (on real time it would expire after 10 ms): the
    // test clock has not moved, so it stays.
    common::eventually("the worker to wait, idle", || {
        common::is_blocked("kit-idle-1")
    });
    assert_eq!(
        manager.worker_count(),
        1,
        "idle expiry follows the test clock"
    );
    clock.advance(Duration::from_millis(9));
    // The advance runs the expiry check on this thread, at once: nothing to wait for.
    assert_eq!(manager.worker_count(), 1, "1 ms short of the idle timeout");
    clock.advance(Duration::from_millis(1));
    common::eventually("the idle worker to exit", || manager.worker_count() == 0);
}
