//! The `Task` handle: `.await`, `try_take` for frame loops, `wait_for` deadlines, and the
//! `TaskContext` seen from the body, including `current()`.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{Gate, PATIENCE};
use task_runtime::{current, AppError, TaskManager};

#[test]
fn await_with_a_real_executor() {
    let manager = TaskManager::new(2);
    let a = manager.spawn(|_| Ok::<_, AppError>(40));
    let b = manager.spawn(|_| Ok::<_, AppError>(2));
    let sum = futures::executor::block_on(async { a.await.unwrap() + b.await.unwrap() });
    assert_eq!(sum, 42);
}

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_waker_is_woken_exactly_when_the_outcome_is_decided() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let mut task = manager.spawn(move |_| {
        g.wait();
        Ok::<_, AppError>("ready")
    });
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
    assert!(
        Pin::new(&mut task).poll(&mut cx).is_pending(),
        "re-polling is fine"
    );
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "not woken before the outcome"
    );
    gate.open();
    common::eventually("woken", || counter.0.load(Ordering::SeqCst) == 1);
    match Pin::new(&mut task).poll(&mut cx) {
        Poll::Ready(result) => assert_eq!(result.unwrap(), "ready"),
        Poll::Pending => panic!("woken but not ready"),
    }
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "woken exactly once");
}

#[test]
fn try_take_polls_without_blocking_and_yields_once() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let mut task = manager.spawn(move |_| {
        g.wait();
        Ok::<_, AppError>(vec!["frame", "loop"])
    });
    assert!(task.try_take().is_none());
    gate.open();
    let deadline = Instant::now() + PATIENCE;
    let result = loop {
        // A frame loop: draw, then poll.
        if let Some(result) = task.try_take() {
            break result;
        }
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    };
    assert_eq!(result.unwrap(), ["frame", "loop"]);
    assert!(task.try_take().is_none(), "the outcome is handed out once");
    assert!(task.is_finished());
}

#[test]
fn is_finished_implies_try_take_has_the_outcome() {
    let manager = TaskManager::new(4);
    for _ in 0..2_000 {
        let mut task = manager.spawn(|_| Ok::<_, AppError>(1u8));
        while !task.is_finished() {
            std::hint::spin_loop();
        }
        assert!(task.try_take().is_some(), "finished but no outcome yet");
    }
}

#[test]
fn wait_for_honours_its_deadline() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let task = manager.spawn(move |_| {
        g.wait();
        Ok::<_, AppError>(())
    });
    let start = Instant::now();
    assert!(!task.wait_for(Duration::from_millis(30)));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(30),
        "returned early: {waited:?}"
    );
    gate.open();
    assert!(task.wait_for(PATIENCE));
    assert!(
        task.wait_for(Duration::ZERO),
        "finished tasks answer at once"
    );
}

#[test]
#[should_panic(expected = "after the result was taken")]
fn join_after_try_take_panics_clearly() {
    let manager = TaskManager::new(1);
    let mut task = manager.spawn(|_| Ok::<_, AppError>(()));
    assert!(task.wait_for(PATIENCE));
    task.try_take().unwrap().unwrap();
    let _ = task.join();
}

#[test]
fn context_identifies_the_task() {
    let manager = TaskManager::new(1);
    let task = manager
        .task(|ctx| Ok::<_, AppError>((ctx.id(), ctx.name().to_owned(), ctx.is_cancelled())))
        .name("who-am-i")
        .start();
    let id = task.id();
    assert_eq!(task.name(), "who-am-i");
    let (seen_id, seen_name, cancelled) = task.join().unwrap();
    assert_eq!(
        (seen_id, seen_name.as_str(), cancelled),
        (id, "who-am-i", false)
    );
}

fn deep_helper() -> Option<(String, bool)> {
    current().map(|ctx| {
        ctx.set_progress(1, 1);
        (ctx.name().to_owned(), ctx.check_cancelled().is_ok())
    })
}

#[test]
fn current_reaches_the_running_task_from_deep_code() {
    assert!(current().is_none(), "no task on the test thread");
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_ctx| Ok::<_, AppError>(deep_helper()))
        .name("deep")
        .start();
    let id = task.id();
    assert_eq!(task.join().unwrap(), Some(("deep".to_owned(), true)));
    // And it is cleared once the body returns.
    let after = manager.spawn(|_| Ok::<_, AppError>(())).join();
    after.unwrap();
    let outside = manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(|()| assert!(current().is_none(), "callbacks are not inside the body"))
        .start();
    outside.join().unwrap();
    assert_ne!(id.as_u64(), 0);
}

#[test]
fn default_names_are_unique_per_manager() {
    let manager = TaskManager::new(2);
    let names: Vec<String> = (0..5)
        .map(|_| manager.spawn(|_| Ok::<_, AppError>(())).name().to_owned())
        .collect();
    assert_eq!(names, ["Task-1", "Task-2", "Task-3", "Task-4", "Task-5"]);
    let other = TaskManager::new(1);
    assert_eq!(other.spawn(|_| Ok::<_, AppError>(())).name(), "Task-1");
}

/// Every `Duration` is accepted (guarantee 12): `Duration::MAX` waits for as long as it takes
/// instead of panicking on `Instant + Duration`.
#[test]
fn wait_for_accepts_duration_max() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let task = common::gated(&manager, &gate);
    let opener = {
        let gate = gate.clone();
        std::thread::spawn(move || gate.open())
    };
    assert!(task.wait_for(Duration::MAX));
    opener.join().unwrap();
}

/// On a worker, `wait_for` honours its timeout: it does not run a long queued child inline
/// (only `join`, which has no deadline, helps that way).
#[test]
fn wait_for_on_a_worker_honours_its_timeout() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let m = manager.clone();
    let g = gate.clone();
    let parent = manager.spawn(move |_| {
        let child = common::gated(&m, &g);
        let started = Instant::now();
        let finished = child.wait_for(Duration::from_millis(50));
        let waited = started.elapsed();
        g.open();
        Ok::<_, AppError>((finished, waited, child.join().is_ok()))
    });
    let (finished, waited, child_ok) = parent.join().unwrap();
    assert!(
        !finished,
        "the child cannot have finished: its gate was closed"
    );
    assert!(
        waited < PATIENCE,
        "wait_for(50 ms) ran the child inline for {waited:?}"
    );
    assert!(child_ok);
}

/// `current()` sees the running task in its `on_started` too, when that runs on the worker.
#[test]
fn current_is_the_task_in_its_worker_side_on_started() {
    let manager = TaskManager::new(1);
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    let task = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("starting")
        .on_started(move || *s.lock().unwrap() = Some(current().map(|ctx| ctx.name().to_owned())))
        .start();
    task.join().unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(Some("starting".to_owned())));
    assert!(current().is_none());
}
