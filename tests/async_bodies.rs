//! `async` bodies (`task_async`, `spawn_async`): polled on the manager's workers, holding none
//! while they wait, and cancelled by never being polled again (guarantee 13).

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{eventually, Gate, PATIENCE};
use task_runtime::{codes, AppError, TaskError, TaskManager, TaskState, TestClock};

/// A future-side gate: `wait()` is pending until `open()`, from any thread.
#[derive(Clone, Default)]
struct Signal(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Signal {
    fn open(&self) {
        let wakers = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether a body waits on it (registered its waker).
    fn has_waiters(&self) -> bool {
        !self.0.lock().unwrap().1.is_empty()
    }

    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let signal = self.clone();
        std::future::poll_fn(move |cx| {
            let mut state = signal.0.lock().unwrap();
            if state.0 {
                return Poll::Ready(());
            }
            state.1.push(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// Records where (on which thread) and whether it was dropped.
struct DropProbe(mpsc::Sender<String>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        let _ = self.0.send(name);
    }
}

/// Returns once every queued job of a one-thread manager before this call has run: the async
/// body started before it was polled and parked (its worker moved on).
fn settle(manager: &TaskManager) {
    manager
        .spawn(|_| Ok::<_, AppError>(()))
        .wait_for(PATIENCE)
        .then_some(())
        .expect("the worker came free");
}

#[test]
fn an_async_body_completes_fails_and_panics_like_a_blocking_one() {
    let manager = TaskManager::new(2);
    let done = manager.spawn_async(|ctx| async move {
        ctx.yield_now().await;
        let current = task_runtime::current().expect("current() inside a poll");
        assert_eq!(current.id(), ctx.id());
        Ok::<_, AppError>(ctx.name().len())
    });
    assert_eq!(done.join().unwrap(), "Task-1".len());

    let failed = manager.spawn_async(|_| async { Err::<(), _>(AppError::new("E_OWN", "no")) });
    match failed.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), "E_OWN"),
        other => panic!("expected a failure, got {other:?}"),
    }

    let panicked = manager.spawn_async(|ctx| async move {
        ctx.yield_now().await;
        if ctx.id().as_u64() > 0 {
            panic!("inside poll");
        }
        Ok::<_, AppError>(())
    });
    match panicked.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_PANICKED),
        other => panic!("expected a panic, got {other:?}"),
    }
    // The workers survived.
    assert_eq!(manager.spawn(|_| Ok::<_, AppError>(7)).join().unwrap(), 7);
}

#[test]
fn waiting_bodies_hold_no_worker() {
    let manager = TaskManager::new(2);
    let signal = Signal::default();
    let waiting: Vec<_> = (0..1000u32)
        .map(|n| {
            let signal = signal.clone();
            manager.spawn_async(move |_| async move {
                signal.wait().await;
                Ok::<_, AppError>(n)
            })
        })
        .collect();
    // A thousand bodies wait, and a blocking task still finds a worker.
    let blocking = manager.spawn(|_| Ok::<_, AppError>("ran"));
    assert!(blocking.wait_for(PATIENCE), "a waiting body held a worker");
    assert!(waiting
        .iter()
        .all(|task| task.state() == TaskState::Running || task.state() == TaskState::Queued));
    signal.open();
    for (n, task) in waiting.into_iter().enumerate() {
        assert_eq!(task.join().unwrap(), n as u32);
    }
}

#[test]
fn a_cancel_of_a_waiting_body_is_decided_before_cancel_returns() {
    let manager = TaskManager::new(1);
    let signal = Signal::default();
    let (dropped, drops) = mpsc::channel();
    let polls = Arc::new(AtomicUsize::new(0));
    let task = {
        let (signal, polls) = (signal.clone(), Arc::clone(&polls));
        manager.spawn_async(move |_| async move {
            let _probe = DropProbe(dropped);
            polls.fetch_add(1, Ordering::SeqCst);
            signal.wait().await;
            polls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
    };
    settle(&manager);
    assert!(signal.has_waiters(), "the body waits on the signal");
    assert!(task.cancel());
    assert!(task.is_finished(), "decided inside cancel()");
    assert!(task.join().unwrap_err().is_cancelled());
    // Dropped by the worker, not by this thread (which cancelled it).
    let dropped_on = drops
        .recv_timeout(PATIENCE)
        .expect("the future was dropped");
    assert_ne!(dropped_on, std::thread::current().name().unwrap_or("?"));
    assert!(dropped_on.starts_with("task-worker"), "{dropped_on}");
    // Never polled again, even when what it waited for comes.
    signal.open();
    settle(&manager);
    assert_eq!(polls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_cancel_during_a_poll_is_decided_right_after_that_poll() {
    let manager = TaskManager::new(1);
    let inside = Gate::new();
    let release = Gate::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let task = {
        let (inside, release, polls) = (inside.clone(), release.clone(), Arc::clone(&polls));
        manager.spawn_async(move |_| {
            std::future::poll_fn(move |_cx| {
                polls.fetch_add(1, Ordering::SeqCst);
                inside.open();
                release.wait(); // a long poll
                Poll::<Result<(), AppError>>::Pending // and no waker kept: it would wait forever
            })
        })
    };
    inside.wait();
    assert!(task.cancel());
    assert!(!task.is_finished(), "the poll is still running");
    release.open();
    assert!(
        task.join().unwrap_err().is_cancelled(),
        "decided after that poll"
    );
    assert_eq!(polls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_waker_called_after_the_task_ended_does_nothing() {
    let manager = TaskManager::new(2);
    let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
    let task = {
        let kept = Arc::clone(&kept);
        manager.spawn_async(move |_| {
            let mut first = true;
            std::future::poll_fn(move |cx| {
                *kept.lock().unwrap() = Some(cx.waker().clone());
                if std::mem::take(&mut first) {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Ok::<_, AppError>(5))
            })
        })
    };
    assert_eq!(task.join().unwrap(), 5);
    let waker = kept.lock().unwrap().take().unwrap();
    let wakers: Vec<_> = (0..4).map(|_| waker.clone()).collect();
    let threads: Vec<_> = wakers
        .into_iter()
        .map(|waker| std::thread::spawn(move || (0..100).for_each(|_| waker.wake_by_ref())))
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    waker.wake();
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(manager.active_count(), 0);
}

#[test]
fn wakes_from_many_threads_each_lead_to_a_poll_and_one_outcome() {
    let manager = TaskManager::new(2);
    let wakes = Arc::new(AtomicUsize::new(0));
    let task = {
        let wakes = Arc::clone(&wakes);
        manager.spawn_async(move |_| {
            let wakes = Arc::clone(&wakes);
            std::future::poll_fn(move |cx| {
                if wakes.load(Ordering::SeqCst) >= 2000 {
                    return Poll::Ready(Ok::<_, AppError>(()));
                }
                // Woken from another thread, often while this poll still runs.
                let (waker, wakes) = (cx.waker().clone(), Arc::clone(&wakes));
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        wakes.fetch_add(1, Ordering::SeqCst);
                        waker.wake_by_ref();
                    }
                });
                Poll::Pending
            })
        })
    };
    task.join().unwrap();
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn a_woken_body_goes_ahead_of_never_started_tasks() {
    let manager = TaskManager::builder().manual().build().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let log = |what: &'static str| {
        let order = Arc::clone(&order);
        move || order.lock().unwrap().push(what)
    };
    let (first, second) = (log("async, first poll"), log("async, second poll"));
    let yielding = manager.spawn_async(move |ctx| async move {
        first();
        ctx.yield_now().await;
        second();
        Ok::<_, AppError>(())
    });
    let blocking = manager.spawn({
        let ran = log("blocking");
        move |_| {
            ran();
            Ok::<_, AppError>(())
        }
    });
    assert_eq!(
        manager.run_all(),
        2,
        "a body that woke itself is polled in the next call"
    );
    assert_eq!(*order.lock().unwrap(), ["async, first poll", "blocking"]);
    assert_eq!(manager.run_all(), 1);
    assert!(yielding.is_finished() && blocking.is_finished());
    assert_eq!(
        *order.lock().unwrap(),
        ["async, first poll", "blocking", "async, second poll"]
    );
}

#[test]
fn a_deadline_ends_a_waiting_body() {
    let clock = TestClock::new();
    let manager = TaskManager::builder()
        .max_threads(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let signal = Signal::default();
    let (dropped, drops) = mpsc::channel();
    let task = {
        let signal = signal.clone();
        manager
            .task_async(move |_| async move {
                let _probe = DropProbe(dropped);
                signal.wait().await;
                Ok::<_, AppError>(())
            })
            .timeout(Duration::from_millis(300))
            .start()
    };
    settle(&manager);
    clock.advance(Duration::from_millis(300));
    match task.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        other => panic!("expected a timeout, got {other:?}"),
    }
    drops
        .recv_timeout(PATIENCE)
        .expect("the future was dropped");
}

#[test]
fn dropping_the_scope_stops_its_waiting_bodies() {
    let manager = TaskManager::new(1);
    let scope = manager.scope();
    let signal = Signal::default();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let signal = signal.clone();
            scope.spawn_async(move |_| async move {
                signal.wait().await;
                Ok::<_, AppError>(())
            })
        })
        .collect();
    eventually("every body waits", || {
        tasks.iter().all(|t| t.state() == TaskState::Running) && settle_quietly(&manager)
    });
    drop(scope);
    for task in &tasks {
        assert!(task.is_finished(), "decided when the scope was dropped");
    }
    assert!(manager.wait_for_all(PATIENCE));
}

/// `settle` as a condition.
fn settle_quietly(manager: &TaskManager) -> bool {
    settle(manager);
    true
}

#[test]
fn join_on_a_manual_manager_drives_the_body_and_names_a_hopeless_wait() {
    let manager = TaskManager::builder().manual().build().unwrap();
    let task = manager.spawn_async(|ctx| async move {
        for _ in 0..3 {
            ctx.yield_now().await;
        }
        Ok::<_, AppError>(3)
    });
    assert_eq!(task.join().unwrap(), 3);

    let signal = Signal::default();
    let stuck = manager.spawn_async({
        let signal = signal.clone();
        move |_| async move {
            signal.wait().await;
            Ok::<_, AppError>(())
        }
    });
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stuck.join()));
    let message = joined.expect_err("a hopeless join panics");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("nothing queued can wake it"), "{message}");

    // `wait_for` drives it the same way.
    let yielding = manager.spawn_async(|ctx| async move {
        ctx.yield_now().await;
        Ok::<_, AppError>(())
    });
    assert!(yielding.wait_for(Duration::ZERO), "run by the wait itself");
}

#[test]
fn ten_thousand_sleeping_bodies_on_two_threads_all_wake() {
    let manager = TaskManager::new(2);
    let tasks: Vec<_> = (0..10_000u32)
        .map(|n| {
            manager.spawn_async(move |ctx| async move {
                ctx.sleep(Duration::from_millis(20)).await;
                Ok::<_, AppError>(n)
            })
        })
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        assert!(task.wait_for(PATIENCE), "body {n} never woke");
        assert_eq!(task.join().unwrap(), n as u32);
    }
}

#[test]
fn sleep_follows_the_test_clock_on_a_manual_manager() {
    let clock = TestClock::new();
    let manager = TaskManager::builder()
        .manual()
        .clock(clock.clone())
        .build()
        .unwrap();
    let task = manager.spawn_async(|ctx| async move {
        ctx.sleep(Duration::from_millis(300)).await;
        ctx.sleep(Duration::ZERO).await;
        Ok::<_, AppError>("slept")
    });
    assert_eq!(manager.run_all(), 1, "polled once, then it sleeps");
    clock.advance(Duration::from_millis(299));
    assert_eq!(manager.run_all(), 0, "not yet");
    assert!(!task.is_finished());
    clock.advance(Duration::from_millis(1));
    assert_eq!(manager.run_all(), 1);
    assert_eq!(task.join().unwrap(), "slept");
}

#[test]
fn a_body_sleeping_forever_ends_with_its_cancel() {
    let manager = TaskManager::new(1);
    let task = manager.spawn_async(|ctx| async move {
        ctx.sleep(Duration::MAX).await;
        Ok::<_, AppError>(())
    });
    settle(&manager);
    assert_eq!(task.state(), TaskState::Running);
    assert!(task.cancel());
    assert!(task.is_finished(), "decided inside cancel()");
    assert!(task.join().unwrap_err().is_cancelled());
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn publish_async_waits_for_room_without_holding_a_worker() {
    let manager = TaskManager::new(1);
    let (published, progress) = mpsc::channel();
    let task = manager
        .task_async_with_items(move |_, items: task_runtime::Publisher<u32>| async move {
            for n in 0..3 {
                items.publish_async(n).await;
                published.send(n).unwrap();
            }
            Ok::<_, AppError>(())
        })
        .max_pending_items(1)
        .start();
    assert_eq!(progress.recv_timeout(PATIENCE).unwrap(), 0);
    // The second waits for room: the worker is free for others meanwhile.
    let other = manager.spawn(|_| Ok::<_, AppError>("ran"));
    assert_eq!(other.join().unwrap(), "ran");
    assert!(progress.try_recv().is_err(), "no room yet");
    let mut taken = Vec::new();
    eventually("every item arrives, room made by each take", || {
        taken.extend(task.take_items());
        taken.len() >= 3
    });
    assert_eq!(taken, [0, 1, 2]);
    task.join().unwrap();
}

#[test]
fn a_body_waiting_for_room_is_cancelled_at_once() {
    let manager = TaskManager::new(1);
    let task = manager
        .task_async_with_items(|_, items: task_runtime::Publisher<u32>| async move {
            while !items.is_closed() {
                items.publish_async(7).await;
            }
            Ok::<_, AppError>(())
        })
        .max_pending_items(2)
        .start();
    common::eventually("the buffer fills", || {
        task.state() == TaskState::Running && settle_quietly(&manager)
    });
    assert!(task.cancel());
    assert!(task.is_finished(), "decided inside cancel()");
    assert!(task.join().unwrap_err().is_cancelled());
}

#[test]
fn a_background_method_may_be_async() {
    let manager = TaskManager::new(1);
    let (sent, received) = mpsc::channel();
    let sent = Mutex::new(sent);
    let halve = task_runtime::BackgroundMethod::new_async("halve", |ctx, n: u32| async move {
        ctx.yield_now().await;
        if n % 2 == 1 {
            return Err(AppError::new("E_ODD", format!("{n} is odd")));
        }
        Ok(n / 2)
    })
    .on_complete(move |half| sent.lock().unwrap().send(half).unwrap())
    .manager(&manager);
    halve.call(8).join().unwrap();
    assert_eq!(received.recv_timeout(PATIENCE).unwrap(), 4);
    match halve.call(3).join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), "E_ODD"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let task = halve.call(10);
    assert_eq!(task.name(), "halve");
    task.join().unwrap();
}

#[test]
fn question_mark_on_an_awaited_task_keeps_its_error_and_its_cancellation() {
    let manager = TaskManager::new(2);
    let failing = manager.spawn(|_| Err::<u32, _>(AppError::new("E_LOAD", "no such file")));
    let chained = manager.spawn_async(move |_| async move {
        let value = failing.await?; // TaskError -> its AppError, unchanged
        Ok::<_, AppError>(value + 1)
    });
    match chained.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), "E_LOAD"),
        other => panic!("expected the antecedent's error, got {other:?}"),
    }

    let gate = Gate::new();
    let g = gate.clone();
    let antecedent = manager.spawn(move |ctx| {
        g.wait();
        ctx.check_cancelled()?;
        Ok::<_, AppError>(1u32)
    });
    antecedent.cancel();
    gate.open();
    let follower = manager.spawn_async(move |_| async move {
        let value = antecedent.await?;
        Ok::<_, AppError>(value + 1)
    });
    assert!(
        follower.join().unwrap_err().is_cancelled(),
        "a cancelled antecedent ends the body cancelled, not failed"
    );
}

#[test]
fn the_function_of_a_task_cancelled_while_queued_is_never_called() {
    let manager = TaskManager::builder().manual().build().unwrap();
    let called = Arc::new(AtomicUsize::new(0));
    let task = {
        let called = Arc::clone(&called);
        manager.spawn_async(move |_| {
            called.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, AppError>(()) }
        })
    };
    assert!(task.cancel());
    assert_eq!(manager.run_all(), 0);
    assert!(task.join().unwrap_err().is_cancelled());
    assert_eq!(called.load(Ordering::SeqCst), 0);
}
