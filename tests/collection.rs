//! Work over a collection (`map`, `for_each` and their async forms): one task for many items,
//! with the rules of DESIGN.md (guarantee 15).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Gate, PATIENCE};
use task_runtime::{codes, AppError, CancelReason, EventLoop, TaskError, TaskManager, TaskState};

fn failed(result: Result<impl std::fmt::Debug, TaskError>) -> AppError {
    match result {
        Err(TaskError::Failed(error)) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The most items running at once, counted by the items themselves.
#[derive(Clone, Default)]
struct Concurrency {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Concurrency {
    fn enter(&self) -> impl Drop + '_ {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        Leave(&self.now)
    }
}

struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn map_gives_every_result_in_input_order() {
    let manager = TaskManager::new(4);
    let squares = manager
        .map(0..10_000u64, |_, n| Ok::<_, AppError>(n * n))
        .start();
    let expected: Vec<u64> = (0..10_000u64).map(|n| n * n).collect();
    assert_eq!(squares.join().unwrap(), expected);
}

#[test]
fn a_map_is_one_task_however_many_items() {
    let manager = TaskManager::new(2);
    let gate = Gate::new();
    let waiting = gate.clone();
    let map = manager
        .map(0..1_000u32, move |_, n| {
            waiting.wait();
            Ok::<_, AppError>(n)
        })
        .name("many")
        .start();
    eventually("the map runs", || map.state() == TaskState::Running);
    assert_eq!(manager.active_tasks(), ["many"], "one registry entry");
    gate.open();
    assert_eq!(map.join().unwrap().len(), 1_000);
}

#[test]
fn an_empty_input_completes_at_once() {
    let manager = TaskManager::new(2);
    let none: Vec<u32> = manager
        .map(Vec::<u32>::new(), |_, n| Ok::<_, AppError>(n))
        .start()
        .join()
        .unwrap();
    assert!(none.is_empty());
    manager
        .for_each(std::iter::empty::<u32>(), |_, _| Ok::<_, AppError>(()))
        .start()
        .join()
        .unwrap();
    let none: Vec<u32> = manager
        .map_async(
            Vec::<u32>::new(),
            |_, n| async move { Ok::<_, AppError>(n) },
        )
        .start()
        .join()
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn progress_counts_items_of_the_exact_length_and_ends_at_n_of_n() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seeing = Arc::clone(&seen);
    let map = manager
        .map(0..500u32, |_, n| {
            std::thread::sleep(Duration::from_micros(200));
            Ok::<_, AppError>(n)
        })
        .on_progress(move |progress| {
            seeing
                .lock()
                .unwrap()
                .push((progress.current, progress.total))
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(map.join().unwrap().len(), 500);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|&(_, total)| total == 500), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "never backwards: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&(500, 500)));
}

#[test]
fn an_input_of_unknown_length_counts_the_items_taken_so_far() {
    let manager = TaskManager::new(2);
    let map = manager
        .map((0..300u32).filter(|n| n % 3 == 0), |_, n| {
            std::thread::sleep(Duration::from_micros(100));
            Ok::<_, AppError>(n)
        })
        .start();
    let mut seen = Vec::new();
    while !map.is_finished() {
        if let Some(progress) = map.progress() {
            assert!(progress.current <= progress.total, "{progress:?}");
            seen.push(progress.total);
        }
        std::thread::yield_now();
    }
    assert_eq!(
        map.progress().map(|p| (p.current, p.total)),
        Some((100, 100))
    );
    assert_eq!(map.join().unwrap().len(), 100);
}

#[test]
fn each_result_is_published_once_at_its_index_when_someone_listens() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 3);
    let got = Arc::new(Mutex::new(Vec::new()));
    let getting = Arc::clone(&got);
    let batches = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&batches);
    let map = manager
        .map(0..2_000u32, |_, n| Ok::<_, AppError>(n * 2))
        .on_items(move |items| {
            counting.fetch_add(1, Ordering::Relaxed);
            getting.lock().unwrap().extend(items);
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(map.join().unwrap().len(), 2_000);
    let mut got = got.lock().unwrap().clone();
    got.sort();
    let expected: Vec<_> = (0..2_000u32).map(|n| (n as usize, n * 2)).collect();
    assert_eq!(got, expected);
    assert!(
        batches.load(Ordering::Relaxed) < 2_000,
        "delivered in batches"
    );
}

#[test]
fn nothing_is_buffered_without_a_listener() {
    let manager = TaskManager::new(2);
    let map = manager.map(0..100u32, |_, n| Ok::<_, AppError>(n)).start();
    assert!(map.wait_for(PATIENCE));
    assert!(map.take_items().is_empty());
    let bounded = manager
        .map(0..100u32, |_, n| Ok::<_, AppError>(n))
        .max_pending_items(1_000)
        .start();
    assert!(bounded.wait_for(PATIENCE));
    assert_eq!(
        bounded.take_items().len(),
        100,
        "max_pending_items asks for them"
    );
}

#[test]
fn the_first_failure_fails_the_map_with_its_index_and_nothing_starts_after_it() {
    let manager = TaskManager::new(2);
    let started = Arc::new(Mutex::new(BTreeSet::new()));
    let starting = Arc::clone(&started);
    let map = manager
        .map(0..10_000u32, move |_, n| {
            starting.lock().unwrap().insert(n);
            if n == 100 {
                return Err(AppError::new("ERR_BAD_ITEM", "item 100 is broken"));
            }
            Ok(n)
        })
        .parallelism(1)
        .start();
    let error = failed(map.join());
    assert_eq!(error.code(), "ERR_BAD_ITEM");
    assert_eq!(error.context()["item"], "100");
    let started = started.lock().unwrap();
    assert_eq!(
        started.last(),
        Some(&100),
        "one at a time: none after the failure"
    );
}

#[test]
fn after_a_failure_the_items_still_running_see_the_map_cancelled() {
    let manager = TaskManager::new(2);
    let (reason, told) = std::sync::mpsc::channel();
    let reason = Mutex::new(reason);
    let map = manager
        .map(0..2u32, move |ctx, n| {
            if n == 0 {
                std::thread::sleep(Duration::from_millis(20));
                return Err(AppError::new("ERR_FIRST", "the first item fails"));
            }
            while !ctx.is_cancelled() {
                std::thread::yield_now();
            }
            reason.lock().unwrap().send(ctx.cancel_reason()).unwrap();
            Ok(n)
        })
        .start();
    assert_eq!(failed(map.join()).code(), "ERR_FIRST");
    assert_eq!(
        told.recv_timeout(PATIENCE).unwrap(),
        Some(CancelReason::Failed)
    );
}

#[test]
fn a_panicking_item_fails_the_map_with_its_index() {
    let manager = TaskManager::new(2);
    let map = manager
        .map(0..50u32, |_, n| {
            if n == 7 {
                panic!("item seven");
            }
            Ok::<_, AppError>(n)
        })
        .parallelism(1)
        .start();
    let error = failed(map.join());
    assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(error.context()["item"], "7");
    assert!(error.message().contains("item seven"), "{error}");
    let asynchronous = manager
        .map_async(0..5u32, |_, n| async move {
            assert_ne!(n, 3, "item three");
            Ok::<_, AppError>(n)
        })
        .start();
    let error = failed(asynchronous.join());
    assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(error.context()["item"], "3");
}

#[test]
fn a_panicking_input_fails_the_map() {
    let manager = TaskManager::new(2);
    let input = (0..100u32).inspect(|&n| assert!(n < 40, "the input broke"));
    let error = failed(
        manager
            .map(input, |_, n| Ok::<_, AppError>(n))
            .start()
            .join(),
    );
    assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(error.context()["item"], "40");
}

#[test]
fn a_cancel_stops_an_endless_input_and_every_item_started_ends() {
    let manager = TaskManager::new(2);
    let (started, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (starting, ending) = (Arc::clone(&started), Arc::clone(&ended));
    let map = manager
        .for_each(0u64.., move |_, _| {
            starting.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(50));
            ending.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .start();
    eventually("items run", || started.load(Ordering::SeqCst) > 100);
    assert!(map.cancel());
    assert!(map.join().unwrap_err().is_cancelled());
    eventually("the items running then end", || {
        started.load(Ordering::SeqCst) == ended.load(Ordering::SeqCst)
    });
    let after = started.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        started.load(Ordering::SeqCst),
        after,
        "none starts after the cancel"
    );
}

#[test]
fn a_deadline_stops_an_endless_input_with_a_timeout() {
    let manager = TaskManager::new(2);
    let map = manager
        .map(0u64.., |_, n| {
            std::thread::sleep(Duration::from_micros(20));
            Ok::<_, AppError>(n)
        })
        .timeout(Duration::from_millis(50))
        .start();
    assert_eq!(failed(map.join()).code(), codes::ERR_TASK_TIMEOUT);
}

#[test]
fn the_input_is_consumed_lazily() {
    let manager = TaskManager::new(2);
    let pulled = Arc::new(AtomicUsize::new(0));
    let pulling = Arc::clone(&pulled);
    let input = (0..1_000_000u32).inspect(move |_| {
        pulling.fetch_add(1, Ordering::Relaxed);
    });
    let map = manager
        .map(input, |_, n| {
            std::thread::sleep(Duration::from_millis(1));
            Ok::<_, AppError>(n)
        })
        .start();
    std::thread::sleep(Duration::from_millis(30));
    map.cancel();
    let _ = map.join();
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(pulled < 10_000, "pulled {pulled} of a million");
}

#[test]
fn parallelism_bounds_the_items_running_at_once() {
    let manager = TaskManager::new(4);
    for parallelism in [1, 2, 3] {
        let concurrency = Concurrency::default();
        let counting = concurrency.clone();
        manager
            .for_each(0..200u32, move |_, _| {
                let _in = counting.enter();
                std::thread::sleep(Duration::from_micros(300));
                Ok::<_, AppError>(())
            })
            .parallelism(parallelism)
            .start()
            .join()
            .unwrap();
        let most = concurrency.most.load(Ordering::SeqCst);
        assert!(
            most <= parallelism,
            "{most} at once with parallelism {parallelism}"
        );
    }
    let concurrency = Concurrency::default();
    let counting = concurrency.clone();
    manager
        .for_each_async(0..100u32, move |ctx, _| {
            let counting = counting.clone();
            async move {
                let _in = counting.enter();
                ctx.sleep(Duration::from_millis(1)).await;
                Ok::<_, AppError>(())
            }
        })
        .parallelism(5)
        .start()
        .join()
        .unwrap();
    let most = concurrency.most.load(Ordering::SeqCst);
    assert!(
        (2..=5).contains(&most),
        "{most} futures in flight with parallelism 5"
    );
}

#[test]
#[should_panic(expected = "parallelism(0)")]
fn a_parallelism_of_zero_panics() {
    let manager = TaskManager::new(1);
    let _ = manager
        .map(0..3u32, |_, n| Ok::<_, AppError>(n))
        .parallelism(0);
}

#[test]
fn a_manual_manager_runs_every_item_in_run_all_and_counts_the_map_once() {
    let manager = TaskManager::builder().manual().build().unwrap();
    let map = manager
        .map(0..1_000u32, |_, n| Ok::<_, AppError>(n + 1))
        .start();
    assert_eq!(manager.run_all(), 1);
    assert_eq!(map.join().unwrap().len(), 1_000);
}

#[test]
fn a_map_joined_from_a_body_on_one_worker_completes() {
    let manager = TaskManager::new(1);
    let sum = manager.spawn(|ctx| {
        let scope = ctx.scope(); // the body's: cancelled with it
        let parts = scope
            .map(0..200_000u64, |_, n| {
                std::hint::black_box(n);
                Ok::<_, AppError>(n)
            })
            .start();
        let values = parts.join().map_err(TaskError::into_app_error)?;
        Ok::<_, AppError>(values.iter().sum::<u64>())
    });
    assert_eq!(sum.join().unwrap(), (0..200_000u64).sum::<u64>());
}

#[test]
fn map_async_keeps_the_futures_in_flight_and_the_order() {
    let manager = TaskManager::new(1);
    let pages = manager
        .map_async((0..40u64).rev(), |ctx, n| async move {
            ctx.sleep(Duration::from_millis(n % 7)).await;
            Ok::<_, AppError>(n)
        })
        .parallelism(8)
        .start();
    let expected: Vec<u64> = (0..40u64).rev().collect();
    assert_eq!(pages.join().unwrap(), expected);
}

#[test]
fn an_async_item_failure_fails_the_map_with_its_index() {
    let manager = TaskManager::new(2);
    let map = manager
        .map_async(0..20u32, |_, n| async move {
            if n == 11 {
                return Err(AppError::new("ERR_ELEVEN", "eleven"));
            }
            Ok(n)
        })
        .parallelism(3)
        .start();
    let error = failed(map.join());
    assert_eq!(error.code(), "ERR_ELEVEN");
    assert_eq!(error.context()["item"], "11");
}

#[test]
fn a_map_in_a_scope_is_cancelled_with_it() {
    let manager = TaskManager::new(2);
    let scope = manager.scope();
    let map = scope
        .for_each(0u64.., |_, _| {
            std::thread::sleep(Duration::from_micros(50));
            Ok::<_, AppError>(())
        })
        .start();
    eventually("the map runs", || map.state() == TaskState::Running);
    drop(scope);
    assert!(map.join().unwrap_err().is_cancelled());
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn the_map_error_of_the_manager_runs_once_on_an_items_failure() {
    let mapped = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&mapped);
    let manager = TaskManager::builder()
        .max_threads(2)
        .map_error(move |error| {
            counting.fetch_add(1, Ordering::SeqCst);
            error.with_context("mapped", "yes")
        })
        .build()
        .unwrap();
    let error = failed(
        manager
            .map(0..10u32, |_, n| {
                if n == 4 {
                    Err(AppError::new("ERR_FOUR", "four"))
                } else {
                    Ok(n)
                }
            })
            .start()
            .join(),
    );
    assert_eq!(error.context()["mapped"], "yes");
    assert_eq!(error.context()["item"], "4");
    assert_eq!(mapped.load(Ordering::SeqCst), 1);
}

#[test]
fn hostile_settings_are_taken_as_they_come() {
    let manager = TaskManager::new(2);
    // The most parallelism there is, over an endless input: the async map still yields, so
    // the deadline lands; the blocking one runs no more items at once than there are workers.
    let endless = manager
        .for_each_async(0u64.., |_, _| async { Ok::<_, AppError>(()) })
        .parallelism(usize::MAX)
        .timeout(Duration::from_millis(50))
        .start();
    assert_eq!(failed(endless.join()).code(), codes::ERR_TASK_TIMEOUT);
    let concurrency = Concurrency::default();
    let counting = concurrency.clone();
    manager
        .for_each(0..100u32, move |_, _| {
            let _in = counting.enter();
            std::thread::sleep(Duration::from_micros(200));
            Ok::<_, AppError>(())
        })
        .parallelism(usize::MAX)
        .timeout(Duration::MAX)
        .start()
        .join()
        .unwrap();
    assert!(concurrency.most.load(Ordering::SeqCst) <= 2);
    // A result whose clone panics, published: the item fails the map, at its index.
    #[derive(Debug)]
    struct Brittle(u32);
    impl Clone for Brittle {
        fn clone(&self) -> Self {
            assert_ne!(self.0, 5, "cannot clone five");
            Brittle(self.0)
        }
    }
    let brittle = manager
        .map(0..10u32, |_, n| Ok::<_, AppError>(Brittle(n)))
        .parallelism(1)
        .max_pending_items(100)
        .start();
    let error = failed(brittle.join());
    assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(error.context()["item"], "5");
}

#[test]
fn a_long_map_takes_turns_with_the_managers_other_tasks() {
    // One worker, taken by a map without end: a task started meanwhile still runs, between
    // two of the map's turns, while the map goes on.
    let manager = TaskManager::new(1);
    let map = manager
        .for_each(0u64.., |_, _| {
            std::thread::sleep(Duration::from_micros(100));
            Ok::<_, AppError>(())
        })
        .start();
    eventually("the map runs", || {
        map.progress().is_some_and(|progress| progress.current > 0)
    });
    let other = manager.spawn(|_| Ok::<_, AppError>("ran"));
    assert!(
        other.wait_for(PATIENCE),
        "the other task waited for the map"
    );
    assert_eq!(other.join().unwrap(), "ran");
    assert!(!map.is_finished(), "the map went on");
    map.cancel();
    assert!(map.join().unwrap_err().is_cancelled());
}
