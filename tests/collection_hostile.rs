//! Hostile tests of work over a collection (`map`, `for_each`, `map_async`,
//! `for_each_async`, `parallelism`): panicking user code in every slot, maps inside maps,
//! self-joins, cancels from odd places, lying iterators, manual managers and test clocks.
//! DESIGN.md, "Work over a collection" and guarantee 15.
//!
//! Several tests pin a map's items to a *helper* (a pool job, not the map's body): on a
//! manager of one worker, the body runs items for one turn (a few milliseconds) and then
//! hands the rest to a helper; an item 0 that sleeps longer than that turn makes every later
//! item run on a helper.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{eventually, Gate, PATIENCE};
use task_runtime::{
    codes, current, AppError, Cancelled, EventLoop, Task, TaskError, TaskManager, TaskScope,
    TaskState, TestClock,
};

/// How long a test waits for something that should take milliseconds before it calls the
/// map wedged (shorter than `PATIENCE`, so that a wedged map fails the test quickly).
const WEDGED: Duration = Duration::from_secs(10);

/// Longer than the turn a map's body runs items itself before it hands them to a helper.
const PAST_THE_BODY_TURN: Duration = Duration::from_millis(25);

fn failed(result: Result<impl std::fmt::Debug, TaskError>) -> AppError {
    match result {
        Err(TaskError::Failed(error)) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A manager whose error handler keeps what it is given.
fn recording_manager(threads: usize) -> (TaskManager, Arc<Mutex<Vec<AppError>>>) {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let keeping = Arc::clone(&reported);
    let manager = TaskManager::builder()
        .max_threads(threads)
        .error_handler(move |error| keeping.lock().unwrap().push(error.clone()))
        .build()
        .unwrap();
    (manager, reported)
}

/// An input that can panic in `next` (at item `panic_at`) and in its `Drop`, with the size
/// hint of an iterator of unknown length.
struct Brittle {
    next: u32,
    end: u32,
    panic_at: Option<u32>,
    drop_panics: bool,
}

impl Iterator for Brittle {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if Some(self.next) == self.panic_at {
            panic!("the input broke at {}", self.next);
        }
        if self.next == self.end {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
}

impl Drop for Brittle {
    fn drop(&mut self) {
        if self.drop_panics && !std::thread::panicking() {
            panic!("the input's drop broke");
        }
    }
}

/// An input whose size hint says whatever it is told.
struct Liar {
    inner: std::ops::Range<u32>,
    hint: (usize, Option<usize>),
}

impl Iterator for Liar {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.hint
    }
}

/// A result whose clone panics for one value.
#[derive(Debug)]
struct BadClone(u32);

impl Clone for BadClone {
    fn clone(&self) -> Self {
        assert_ne!(self.0, 5, "cannot clone five");
        BadClone(self.0)
    }
}

// ----- defects: items that run on a helper are not "inside" the map -----

#[test]
fn an_item_run_by_a_helper_sees_its_map_as_the_current_task() {
    // DESIGN: `current()` is "the running task's context, from deep code"; an item is the
    // map's code wherever it runs.
    let manager = TaskManager::new(1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seeing = Arc::clone(&seen);
    manager
        .for_each(0..4u32, move |ctx, n| {
            if n == 0 {
                std::thread::sleep(PAST_THE_BODY_TURN);
            }
            let here = current().map(|c| c.id());
            seeing.lock().unwrap().push((n, here == Some(ctx.id())));
            Ok::<_, AppError>(())
        })
        .start()
        .join()
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|&(_, current)| current),
        "current() inside items (index, is the map): {seen:?}"
    );
}

/// The handle of a map of `u32`s.
type MapHandle = Task<Vec<u32>, (usize, u32)>;

#[test]
fn an_item_that_joins_its_own_map_gets_err_self_join_also_on_a_helper() {
    // Guarantee 18: a task that waits for itself from its own body gets an answer at once.
    // Item 2 runs on a helper: there the join waits for a map that waits for the item.
    let manager = TaskManager::new(1);
    let own: Arc<Mutex<Option<MapHandle>>> = Arc::default();
    let slot = Arc::clone(&own);
    let go = Gate::new();
    let going = go.clone();
    let (answer, answered) = mpsc::channel::<Result<usize, String>>();
    let answer = Mutex::new(answer);
    let map = manager
        .map(0..4u32, move |_, n| {
            if n == 0 {
                going.wait();
                std::thread::sleep(PAST_THE_BODY_TURN);
            }
            if n == 2 {
                let me = slot.lock().unwrap().take().expect("the handle is there");
                let joined = me
                    .join()
                    .map(|values| values.len())
                    .map_err(|error| error.into_app_error().code().to_owned());
                let _ = answer.lock().unwrap().send(joined);
            }
            Ok::<_, AppError>(n)
        })
        .start();
    let id = map.id();
    *own.lock().unwrap() = Some(map);
    go.open();
    let got = answered.recv_timeout(WEDGED);
    if got.is_err() {
        manager.cancel(id); // unwedges the join, so the manager can be dropped
    }
    assert_eq!(
        got,
        Ok(Err(codes::ERR_SELF_JOIN.to_owned())),
        "an item joining its own map from a helper must get ERR_SELF_JOIN, not hang"
    );
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn a_map_inside_a_map_item_completes_on_one_worker() {
    // DESIGN: "From a body, ctx.scope().map(..) runs a collection as subtasks". An item on a
    // helper that joins an inner map runs it inline, but not to its end (it does not count
    // as nested): the inner map parks with its rest queued behind the only worker, which the
    // join holds.
    let manager = TaskManager::new(1);
    let outer = manager
        .for_each(0..3u32, |ctx, n| {
            if n == 0 {
                std::thread::sleep(PAST_THE_BODY_TURN);
                return Ok(());
            }
            let parts = ctx.scope();
            parts
                .for_each(0..40u32, |_, _| {
                    std::thread::sleep(Duration::from_micros(500));
                    Ok::<_, AppError>(())
                })
                .start()
                .join()
                .map_err(TaskError::into_app_error)
        })
        .start();
    let ended = outer.wait_for(WEDGED);
    if !ended {
        outer.cancel(); // cancels the inner maps too (the items' scopes), unwedging the join
    }
    assert!(
        ended,
        "a map joined from an item of a map run by a helper deadlocks its one worker"
    );
    outer.join().unwrap();
}

// ----- defects: panicking input on a helper wedges the map -----

#[test]
fn an_input_whose_drop_panics_on_a_helper_never_wedges_the_map() {
    // The helper takes the last (short) chunk, counts it as running, then drops the input
    // outside any catch: the panic leaves the chunk counted forever, so the body never wakes.
    let (manager, reported) = recording_manager(1);
    let input = Brittle {
        next: 0,
        end: 3,
        panic_at: None,
        drop_panics: true,
    };
    let map = manager
        .map(input, |_, n| {
            if n == 0 {
                std::thread::sleep(PAST_THE_BODY_TURN);
            }
            Ok::<_, AppError>(n)
        })
        .start();
    let ended = map.wait_for(WEDGED);
    let state = map.state();
    if !ended {
        map.cancel(); // unwedges it, so the manager can be dropped
    }
    assert!(
        ended,
        "the map never ended (state {state:?}); reported: {:?}",
        reported.lock().unwrap()
    );
    // Whatever the outcome, the panic is not lost.
    let outcome = map.join();
    let in_outcome =
        matches!(&outcome, Err(TaskError::Failed(e)) if e.code() == codes::ERR_TASK_PANICKED);
    assert!(
        in_outcome || !reported.lock().unwrap().is_empty(),
        "{outcome:?}"
    );
}

#[test]
fn an_input_whose_next_and_drop_panic_on_a_helper_never_wedges_the_map() {
    // `next` panics on a helper: the map is flagged stopped under the lock, then the input is
    // dropped outside any catch before the failure is recorded. Its `Drop` panics: no failure,
    // no decision, and a stopped map whose body waits forever.
    let (manager, reported) = recording_manager(1);
    let input = Brittle {
        next: 0,
        end: 100,
        panic_at: Some(1),
        drop_panics: true,
    };
    let map = manager
        .map(input, |_, n| {
            if n == 0 {
                std::thread::sleep(PAST_THE_BODY_TURN);
            }
            Ok::<_, AppError>(n)
        })
        .start();
    let ended = map.wait_for(WEDGED);
    let state = map.state();
    if !ended {
        map.cancel(); // unwedges it, so the manager can be dropped
    }
    assert!(
        ended,
        "the map never ended (state {state:?}); reported: {:?}",
        reported.lock().unwrap()
    );
    let error = failed(map.join());
    assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(error.context()["item"], "1");
}

// ----- defects: outcomes that differ from the rules -----

#[test]
fn an_item_returning_a_cancellation_ends_both_forms_alike() {
    // A body that returns the error `Cancelled` converts to ends Cancelled, not Failed, and
    // map_error never sees a cancellation. map_async follows that rule; map must too.
    let mapped = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&mapped);
    let manager = TaskManager::builder()
        .max_threads(2)
        .map_error(move |error| {
            counting.fetch_add(1, Ordering::SeqCst);
            error
        })
        .build()
        .unwrap();
    let item = |n: u32| -> Result<u32, AppError> {
        if n == 3 {
            Err(Cancelled.into())
        } else {
            Ok(n)
        }
    };
    let asynchronous = manager
        .map_async(0..10u32, move |_, n| async move { item(n) })
        .parallelism(1)
        .start()
        .join();
    let blocking = manager
        .map(0..10u32, move |_, n| item(n))
        .parallelism(1)
        .start()
        .join();
    assert!(
        matches!(asynchronous, Err(TaskError::Cancelled)),
        "map_async: {asynchronous:?}"
    );
    let mapped = mapped.load(Ordering::SeqCst);
    assert!(
        matches!(blocking, Err(TaskError::Cancelled)),
        "map ends unlike map_async and unlike a body: {blocking:?} (map_error ran {mapped} times)"
    );
    assert_eq!(mapped, 0, "map_error saw a cancellation");
}

#[test]
fn a_panicking_clone_of_an_async_result_names_its_item() {
    // The blocking form fails at the item (tests/collection.rs); the async form clones
    // outside its item's catch, so the panic loses the item's index.
    let manager = TaskManager::new(2);
    let brittle = manager
        .map_async(
            0..10u32,
            |_, n| async move { Ok::<_, AppError>(BadClone(n)) },
        )
        .parallelism(1)
        .max_pending_items(100)
        .start();
    let error = failed(brittle.join());
    assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(
        error.context().get("item").map(String::as_str),
        Some("5"),
        "{error}"
    );
}

#[test]
fn the_first_failure_is_not_replaced_by_a_panic_dropping_the_next_items() {
    // Item 5 fails; item 6, claimed in the same chunk and never started, panics when the
    // chunk's rest is dropped. The map's outcome must be item 5's error (DESIGN: "the
    // AppError of that item").
    struct Bomb {
        n: u32,
        armed: Arc<AtomicBool>,
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.n == 6 && self.armed.load(Ordering::SeqCst) && !std::thread::panicking() {
                panic!("item six blew up when dropped");
            }
        }
    }
    let (manager, _reported) = recording_manager(2);
    let armed = Arc::new(AtomicBool::new(false));
    let bombs: Vec<Bomb> = (0..100)
        .map(|n| Bomb {
            n,
            armed: Arc::clone(&armed),
        })
        .collect();
    let arming = Arc::clone(&armed);
    let map = manager
        .map(bombs, move |_, bomb| {
            if bomb.n == 5 {
                arming.store(true, Ordering::SeqCst);
                return Err(AppError::new("ERR_FIVE", "item five failed"));
            }
            Ok(bomb.n)
        })
        .parallelism(1)
        .start();
    let error = failed(map.join());
    assert_eq!(error.context()["item"], "5");
    assert_eq!(error.code(), "ERR_FIVE", "{error}");
}

#[test]
fn shutdown_waits_for_the_items_still_running() {
    // DESIGN: shutdown is "cancel_all, then wait" (the code: "waits for their bodies to
    // return"); a map's items are its body. Here the map's body is parked and one item runs
    // on a helper: the cancel decides the map at once and shutdown returns while the item
    // still runs.
    let manager = TaskManager::new(1);
    let running = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&running);
    let map = manager
        .for_each(0..3u32, move |_, n| {
            if n == 0 {
                std::thread::sleep(PAST_THE_BODY_TURN);
                return Ok(());
            }
            counting.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            counting.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .start();
    eventually("an item runs on the helper", || {
        running.load(Ordering::SeqCst) == 1
    });
    assert!(manager.shutdown(PATIENCE));
    assert_eq!(
        running.load(Ordering::SeqCst),
        0,
        "shutdown returned while an item of the map still ran"
    );
    assert!(map.join().unwrap_err().is_cancelled());
}

// ----- hostile inputs that must work -----

#[test]
fn empty_and_single_inputs_in_every_form_on_pool_and_manual() {
    let pool = TaskManager::new(2);
    let manual = TaskManager::builder().manual().build().unwrap();
    for manager in [&pool, &manual] {
        let is_manual = std::ptr::eq(manager, &manual);
        let run = |m: &TaskManager| {
            if is_manual {
                m.run_all();
            }
        };
        let none = manager
            .map(std::iter::empty::<u32>(), |_, n| Ok::<_, AppError>(n))
            .start();
        run(manager);
        assert_eq!(none.join().unwrap(), Vec::<u32>::new());
        let one = manager
            .map(std::iter::once(41u32), |_, n| Ok::<_, AppError>(n + 1))
            .start();
        run(manager);
        assert_eq!(one.join().unwrap(), [42]);
        let one_fails = manager
            .map(std::iter::once(1u32), |_, _| {
                Err::<u32, _>(AppError::new("ERR_ONE", "the only item"))
            })
            .start();
        run(manager);
        let error = failed(one_fails.join());
        assert_eq!(
            (error.code(), error.context()["item"].as_str()),
            ("ERR_ONE", "0")
        );
        let each = manager
            .for_each(std::iter::once(()), |_, ()| Ok::<_, AppError>(()))
            .start();
        run(manager);
        each.join().unwrap();
        let none = manager
            .map_async(
                Vec::<u32>::new(),
                |_, n| async move { Ok::<_, AppError>(n) },
            )
            .start();
        run(manager);
        assert_eq!(none.join().unwrap(), Vec::<u32>::new());
        let one = manager
            .map_async([7u32], |_, n| async move { Ok::<_, AppError>(n * 2) })
            .start();
        run(manager);
        assert_eq!(one.join().unwrap(), [14]);
        let each = manager
            .for_each_async(std::iter::empty::<u8>(), |_, _| async {
                Ok::<_, AppError>(())
            })
            .start();
        run(manager);
        each.join().unwrap();
    }
}

#[test]
fn lying_size_hints_change_no_result_and_progress_ends_at_n_of_n() {
    let manager = TaskManager::new(2);
    let cases: [(u32, (usize, Option<usize>)); 6] = [
        (500, (3, Some(3))),
        (5, (1_000, Some(1_000))),
        (300, (0, Some(0))),
        (50, (usize::MAX, None)),
        (50, (usize::MAX, Some(usize::MAX))),
        (0, (10, Some(10))),
    ];
    for (len, hint) in cases {
        let expected: Vec<u32> = (0..len).map(|n| n * 3).collect();
        let input = Liar {
            inner: 0..len,
            hint,
        };
        let map = manager.map(input, |_, n| Ok::<_, AppError>(n * 3)).start();
        assert!(map.wait_for(PATIENCE), "{hint:?}");
        if len > 0 {
            assert_eq!(
                map.progress().map(|p| (p.current, p.total)),
                Some((u64::from(len), u64::from(len))),
                "{hint:?}"
            );
        }
        assert_eq!(map.join().unwrap(), expected, "map, {hint:?}");
        let input = Liar {
            inner: 0..len,
            hint,
        };
        let values = manager
            .map_async(input, |_, n| async move { Ok::<_, AppError>(n * 3) })
            .parallelism(4)
            .start()
            .join()
            .unwrap();
        assert_eq!(values, expected, "map_async, {hint:?}");
    }
}

#[test]
fn huge_inputs_and_indices() {
    let manager = TaskManager::new(2);
    // The most items there can be, cut by a deadline; the total is the exact length.
    let endless = manager
        .for_each(0..usize::MAX, |_, _| Ok::<_, AppError>(()))
        .timeout(Duration::from_millis(30))
        .start();
    assert!(endless.wait_for(PATIENCE));
    if let Some(progress) = endless.progress() {
        assert_eq!(progress.total, usize::MAX as u64);
        assert!(progress.current < progress.total);
    }
    assert_eq!(failed(endless.join()).code(), codes::ERR_TASK_TIMEOUT);
    // Values at the top of the range.
    let top = manager
        .map((0..usize::MAX).skip(usize::MAX - 3), |_, n| {
            Ok::<_, AppError>(n)
        })
        .start()
        .join()
        .unwrap();
    assert_eq!(top, [usize::MAX - 3, usize::MAX - 2, usize::MAX - 1]);
    // An endless async map with a huge parallelism, cancelled by hand.
    let endless = manager
        .map_async(0u64.., |ctx, n| async move {
            ctx.yield_now().await;
            Ok::<_, AppError>(n)
        })
        .parallelism(usize::MAX)
        .start();
    eventually("the async map runs", || {
        endless.state() == TaskState::Running
    });
    std::thread::sleep(Duration::from_millis(5));
    assert!(endless.cancel());
    assert!(endless.join().unwrap_err().is_cancelled());
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn panicking_callbacks_never_change_the_outcome() {
    let (manager, reported) = recording_manager(2);
    let done = manager
        .map(0..200u32, |_, n| Ok::<_, AppError>(n))
        .on_items(|_| panic!("on_items broke"))
        .on_progress(|_| panic!("on_progress broke"))
        .on_started(|| panic!("on_started broke"))
        .on_complete(|_| panic!("on_complete broke"))
        .start();
    done.join().unwrap();
    let failing = manager
        .map(0..10u32, |_, n| {
            if n == 4 {
                Err(AppError::new("ERR_FOUR", "four"))
            } else {
                Ok(n)
            }
        })
        .parallelism(1)
        .on_error(|_| panic!("on_error broke"))
        .start();
    let error = failed(failing.join());
    assert_eq!(
        (error.code(), error.context()["item"].as_str()),
        ("ERR_FOUR", "4")
    );
    eventually("the panicking callbacks are reported", || {
        let reported = reported.lock().unwrap();
        let says = |what: &str| reported.iter().any(|e| e.to_string().contains(what));
        says("on_complete broke") && says("on_error broke") && says("on_items broke")
    });
    assert!(reported
        .lock()
        .unwrap()
        .iter()
        .all(|e| e.code() == codes::ERR_CALLBACK_PANICKED));
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn a_panicking_map_error_keeps_the_items_error_and_index() {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let keeping = Arc::clone(&reported);
    let manager = TaskManager::builder()
        .max_threads(2)
        .map_error(|_| panic!("map_error broke"))
        .error_handler(move |error| keeping.lock().unwrap().push(error.code().to_owned()))
        .build()
        .unwrap();
    for asynchronous in [false, true] {
        let item = |n: u32| {
            if n == 4 {
                Err(AppError::new("ERR_FOUR", "four"))
            } else {
                Ok(n)
            }
        };
        let map = if asynchronous {
            manager
                .map_async(0..10u32, move |_, n| async move { item(n) })
                .parallelism(1)
                .start()
        } else {
            manager
                .map(0..10u32, move |_, n| item(n))
                .parallelism(1)
                .start()
        };
        let error = failed(map.join());
        assert_eq!(error.code(), "ERR_FOUR", "async: {asynchronous}");
        assert_eq!(error.context()["item"], "4", "async: {asynchronous}");
    }
    eventually("map_error's panics are reported", || {
        reported.lock().unwrap().len() >= 2
    });
}

// ----- stops from odd places -----

#[test]
fn on_a_manual_manager_a_deadline_reached_inside_an_item_starts_no_item_after_it() {
    let clock = TestClock::new();
    let manager = common::manual_on(&clock);
    let started = Arc::new(Mutex::new(Vec::new()));
    let starting = Arc::clone(&started);
    let advancing = clock.clone();
    let map = manager
        .map(0..100u32, move |_, n| {
            starting.lock().unwrap().push(n);
            if n == 10 {
                advancing.advance(Duration::from_secs(2));
            }
            Ok::<_, AppError>(n)
        })
        .timeout(Duration::from_secs(1))
        .start();
    assert_eq!(manager.run_all(), 1, "the map counts once");
    let error = failed(map.join());
    assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT);
    assert_eq!(*started.lock().unwrap(), (0..=10).collect::<Vec<_>>());
}

#[test]
fn on_a_manual_manager_a_cancel_or_a_failure_inside_an_item_starts_no_item_after_it() {
    let manager = TaskManager::builder().manual().build().unwrap();
    // A cancel from an item, by id.
    let started = Arc::new(Mutex::new(Vec::new()));
    let starting = Arc::clone(&started);
    let cancelling = manager.clone();
    let map = manager
        .for_each(0..100u32, move |ctx, n| {
            starting.lock().unwrap().push(n);
            if n == 20 {
                assert!(cancelling.cancel(ctx.id()));
            }
            Ok::<_, AppError>(())
        })
        .start();
    manager.run_all();
    assert!(map.join().unwrap_err().is_cancelled());
    assert_eq!(*started.lock().unwrap(), (0..=20).collect::<Vec<_>>());
    // A failure, then a deadline reached by a later... nothing: no item runs after it.
    let started = Arc::new(Mutex::new(Vec::new()));
    let starting = Arc::clone(&started);
    let map = manager
        .map(0..100u32, move |_, n| {
            starting.lock().unwrap().push(n);
            if n == 30 {
                return Err(AppError::new("ERR_THIRTY", "thirty"));
            }
            Ok(n)
        })
        .start();
    manager.run_all();
    let error = failed(map.join());
    assert_eq!(
        (error.code(), error.context()["item"].as_str()),
        ("ERR_THIRTY", "30")
    );
    assert_eq!(*started.lock().unwrap(), (0..=30).collect::<Vec<_>>());
}

#[test]
fn a_manual_map_async_runs_on_the_test_clock_and_keeps_the_order() {
    let clock = TestClock::new();
    let manager = common::manual_on(&clock);
    let map = manager
        .map_async(0..6u64, |ctx, n| async move {
            ctx.sleep(Duration::from_millis(10 * (6 - n))).await;
            Ok::<_, AppError>(n * 10)
        })
        .parallelism(3)
        .start();
    manager.run_all();
    assert_eq!(map.state(), TaskState::Running, "waiting on the test clock");
    for _ in 0..40 {
        if map.is_finished() {
            break;
        }
        clock.advance(Duration::from_millis(10));
        manager.run_all();
    }
    assert!(map.is_finished(), "the map follows the test clock");
    assert_eq!(map.join().unwrap(), [0, 10, 20, 30, 40, 50]);
}

#[test]
fn a_cancel_from_on_items_stops_the_map_and_no_item_is_delivered_twice() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let got = Arc::new(Mutex::new(Vec::new()));
    let getting = Arc::clone(&got);
    let cancelling = manager.clone();
    let map = manager
        .map(0u32.., |_, n| {
            std::thread::sleep(Duration::from_micros(50));
            Ok::<_, AppError>(u64::from(n) * 2)
        })
        .name("cancelled-from-on-items")
        .on_items(move |items| {
            getting.lock().unwrap().extend(items);
            cancelling.cancel_task("cancelled-from-on-items");
        })
        .start();
    assert!(ui.run_until(|| map.is_finished(), PATIENCE));
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(map.state(), TaskState::Cancelled);
    let got = got.lock().unwrap().clone();
    assert!(!got.is_empty());
    let indices: BTreeSet<usize> = got.iter().map(|&(i, _)| i).collect();
    assert_eq!(indices.len(), got.len(), "an item delivered twice: {got:?}");
    assert!(got.iter().all(|&(i, v)| v == i as u64 * 2), "{got:?}");
}

#[test]
fn a_scope_dropped_from_an_item_cancels_the_map_silently() {
    let manager = TaskManager::new(2);
    let scope = manager.scope();
    let holder: Arc<Mutex<Option<TaskScope>>> = Arc::default();
    let dropping = Arc::clone(&holder);
    let callbacks = Arc::new(AtomicUsize::new(0));
    let (on_cancelled, on_error) = (Arc::clone(&callbacks), Arc::clone(&callbacks));
    let (started, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (starting, ending) = (Arc::clone(&started), Arc::clone(&ended));
    let map = scope
        .for_each(0u64.., move |_, n| {
            starting.fetch_add(1, Ordering::SeqCst);
            if n == 200 {
                drop(dropping.lock().unwrap().take());
            }
            std::thread::sleep(Duration::from_micros(50));
            ending.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .on_cancelled(move || {
            on_cancelled.fetch_add(1, Ordering::SeqCst);
        })
        .on_error(move |_| {
            on_error.fetch_add(1, Ordering::SeqCst);
        })
        .start();
    *holder.lock().unwrap() = Some(scope);
    assert!(map.wait_for(PATIENCE));
    assert_eq!(map.state(), TaskState::Cancelled);
    eventually("the items running then end", || {
        started.load(Ordering::SeqCst) == ended.load(Ordering::SeqCst)
    });
    let after = started.load(Ordering::SeqCst);
    assert!(manager.wait_for_all(PATIENCE));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        started.load(Ordering::SeqCst),
        after,
        "items started after the stop"
    );
    assert_eq!(
        callbacks.load(Ordering::SeqCst),
        0,
        "a callback after the scope closed"
    );
}

#[test]
fn set_max_threads_during_a_map_keeps_every_result() {
    let manager = TaskManager::new(4);
    let changing = manager.clone();
    let map = manager
        .map(0..3_000u32, move |_, n| {
            match n {
                100 => changing.set_max_threads(1),
                2_000 => changing.set_max_threads(3),
                _ => {}
            }
            if n % 100 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok::<_, AppError>(n * 3)
        })
        .start();
    let expected: Vec<u32> = (0..3_000u32).map(|n| n * 3).collect();
    assert!(map.wait_for(PATIENCE));
    assert_eq!(map.join().unwrap(), expected);
}

#[test]
fn dropping_the_manager_while_a_map_runs_cancels_it_and_waits_for_its_items() {
    let manager = TaskManager::builder()
        .max_threads(2)
        .shutdown_timeout(PATIENCE)
        .build()
        .unwrap();
    let (started, running) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (starting, counting) = (Arc::clone(&started), Arc::clone(&running));
    let map = manager
        .for_each(0u64.., move |_, _| {
            starting.fetch_add(1, Ordering::SeqCst);
            counting.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            counting.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .start();
    eventually("items run", || started.load(Ordering::SeqCst) > 20);
    drop(manager);
    assert_eq!(
        running.load(Ordering::SeqCst),
        0,
        "an item still ran after the manager was dropped"
    );
    assert!(map.join().unwrap_err().is_cancelled());
}

#[test]
fn a_failure_racing_the_deadline_gives_one_outcome_and_one_callback() {
    let manager = TaskManager::new(2);
    for round in 0..20u32 {
        let terminal = Arc::new(Mutex::new(Vec::new()));
        let (on_error, on_cancelled) = (Arc::clone(&terminal), Arc::clone(&terminal));
        let on_complete = Arc::clone(&terminal);
        let fail_at = 20 + round * 10;
        let map = manager
            .map(0u32.., move |_, n| {
                std::thread::sleep(Duration::from_micros(100));
                if n == fail_at {
                    return Err(AppError::new("ERR_RACE", "racing the deadline"));
                }
                Ok(n)
            })
            .timeout(Duration::from_millis(2 + u64::from(round % 4)))
            .on_error(move |e| on_error.lock().unwrap().push(e.code().to_owned()))
            .on_cancelled(move || on_cancelled.lock().unwrap().push("cancelled".to_owned()))
            .on_complete(move |_| on_complete.lock().unwrap().push("completed".to_owned()))
            .start();
        assert!(map.wait_for(PATIENCE));
        let outcome = map.join();
        let code = failed(outcome).code().to_owned();
        assert!(
            code == "ERR_RACE" || code == codes::ERR_TASK_TIMEOUT,
            "round {round}: {code}"
        );
        assert!(manager.wait_for_all(PATIENCE));
        eventually("the terminal callback", || {
            !terminal.lock().unwrap().is_empty()
        });
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(*terminal.lock().unwrap(), [code], "round {round}");
    }
}

#[test]
fn under_a_failure_every_item_delivered_is_delivered_once_at_its_index() {
    for asynchronous in [false, true] {
        let ui = EventLoop::new();
        let manager = common::ui_manager(&ui, 3);
        let got = Arc::new(Mutex::new(Vec::new()));
        let getting = Arc::clone(&got);
        let item = |n: u32| {
            if n == 15_000 {
                Err(AppError::new("ERR_LATE", "a late item fails"))
            } else {
                Ok(u64::from(n) * 7)
            }
        };
        let builder = if asynchronous {
            manager
                .map_async(0..20_000u32, move |_, n| async move { item(n) })
                .parallelism(16)
        } else {
            manager.map(0..20_000u32, move |_, n| item(n))
        };
        let map = builder
            .on_items(move |items| getting.lock().unwrap().extend(items))
            .start();
        assert!(ui.run_until_idle(&manager, PATIENCE));
        let error = failed(map.join());
        assert_eq!(error.context()["item"], "15000");
        let got = got.lock().unwrap().clone();
        let indices: BTreeSet<usize> = got.iter().map(|&(i, _)| i).collect();
        assert_eq!(
            indices.len(),
            got.len(),
            "async {asynchronous}: delivered twice"
        );
        assert!(!indices.contains(&15_000));
        assert!(
            got.iter().all(|&(i, v)| v == i as u64 * 7),
            "async {asynchronous}: a value at the wrong index"
        );
    }
}

#[test]
fn a_queued_map_that_is_cancelled_or_times_out_never_runs_an_item() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let blocker = common::occupy(&manager, &gate);
    let ran = Arc::new(AtomicUsize::new(0));
    let (a, b) = (Arc::clone(&ran), Arc::clone(&ran));
    let timed = manager
        .map(0..10u32, move |_, n| {
            a.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(n)
        })
        .timeout(Duration::from_millis(20))
        .start();
    let cancelled = manager
        .for_each_async(0..10u32, move |_, _| {
            b.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, AppError>(()) }
        })
        .start();
    assert!(cancelled.cancel());
    assert_eq!(failed(timed.join()).code(), codes::ERR_TASK_TIMEOUT);
    gate.open();
    blocker.join().unwrap();
    assert!(cancelled.join().unwrap_err().is_cancelled());
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn no_reference_cycle_keeps_a_map_alive() {
    let manager = TaskManager::new(2);
    let token = Arc::new(());
    let held = || Arc::clone(&token);
    // Completed.
    let t = held();
    manager
        .map(0..1_000u32, move |_, n| {
            let _ = &t;
            Ok::<_, AppError>(n)
        })
        .start()
        .join()
        .unwrap();
    // Failed.
    let t = held();
    let _ = manager
        .map(0..1_000u32, move |_, n| {
            let _ = &t;
            if n == 500 {
                return Err(AppError::new("ERR_X", "x"));
            }
            Ok(n)
        })
        .max_pending_items(10_000)
        .start()
        .join();
    // Cancelled while its body waits for its helpers; its handle dropped before.
    let t = held();
    let endless = manager
        .for_each(0u64.., move |_, _| {
            let _ = &t;
            std::thread::sleep(Duration::from_micros(50));
            Ok::<_, AppError>(())
        })
        .start();
    let id = endless.id();
    eventually("the map runs", || endless.state() == TaskState::Running);
    std::thread::sleep(Duration::from_millis(20));
    drop(endless);
    assert!(manager.cancel(id));
    // An async map cancelled while its items wait.
    let t = held();
    let waiting = manager
        .map_async(0..100u32, move |ctx, n| {
            let t = Arc::clone(&t);
            async move {
                let _ = &t;
                ctx.sleep(Duration::from_secs(3_600)).await;
                Ok::<_, AppError>(n)
            }
        })
        .parallelism(10)
        .start();
    eventually("the async map waits", || {
        waiting.state() == TaskState::Running
    });
    std::thread::sleep(Duration::from_millis(10));
    assert!(waiting.cancel());
    drop(waiting);
    assert!(manager.wait_for_all(PATIENCE));
    eventually("every map let go of what its function holds", || {
        Arc::strong_count(&token) == 1
    });
}

#[test]
fn a_local_map_delivers_its_items_on_the_loop_thread() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let getting = std::rc::Rc::clone(&got);
    let map = manager
        .map(0..500u32, |_, n| Ok::<_, AppError>(n))
        .parallelism(2)
        .local()
        .on_items(move |items| getting.borrow_mut().extend(items))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(map.join().unwrap().len(), 500);
    let mut got = got.borrow().clone();
    got.sort_unstable();
    assert_eq!(
        got,
        (0..500u32).map(|n| (n as usize, n)).collect::<Vec<_>>()
    );
}

/// The most items running at once, counted by the items themselves.
#[derive(Clone, Default)]
struct Concurrency {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Concurrency {
    fn item(&self, took: Duration) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(took);
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

#[test]
fn parallelism_set_after_on_complete_still_bounds_the_items() {
    let manager = TaskManager::new(4);
    let concurrency = Concurrency::default();
    let counting = concurrency.clone();
    let (done, told) = mpsc::channel();
    manager
        .for_each(0..100u32, move |_, _| {
            counting.item(Duration::from_micros(300));
            Ok::<_, AppError>(())
        })
        .on_complete(move |()| done.send(()).unwrap())
        .parallelism(1)
        .start()
        .join()
        .unwrap();
    told.recv_timeout(PATIENCE).unwrap();
    assert_eq!(concurrency.most(), 1);
    let concurrency = Concurrency::default();
    let counting = concurrency.clone();
    manager
        .map_async(0..40u32, move |ctx, n| {
            let counting = counting.clone();
            async move {
                let now = counting.now.fetch_add(1, Ordering::SeqCst) + 1;
                counting.most.fetch_max(now, Ordering::SeqCst);
                ctx.sleep(Duration::from_millis(1)).await;
                counting.now.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, AppError>(n)
            }
        })
        .on_complete(|values| assert_eq!(values.len(), 40))
        .parallelism(2)
        .start()
        .join()
        .unwrap();
    assert!(concurrency.most() <= 2, "{}", concurrency.most());
}

#[test]
fn a_map_started_and_joined_from_a_body_runs_its_items_in_parallel() {
    // DESIGN: at most `parallelism` items at once, by default max_threads; "From a body,
    // ctx.scope().map(..) runs a collection as subtasks". A join on a worker finds the map
    // still queued and runs it inline "to its end", on that one thread, while the other
    // workers stay idle.
    // The pool is busy when the map starts, and free from its first item on: the other
    // three workers then have nothing to do.
    let manager = TaskManager::new(4);
    common::assert_parallel_capacity(&manager, 4);
    let busy = Gate::new();
    let others: Vec<_> = (0..3).map(|_| common::occupy(&manager, &busy)).collect();
    let concurrency = Concurrency::default();
    let counting = concurrency.clone();
    manager
        .spawn(move |ctx| {
            let parts = ctx.scope();
            let counting = counting.clone();
            let freeing = busy.clone();
            let map = parts
                .for_each(0..200u32, move |_, _| {
                    freeing.open();
                    counting.item(Duration::from_millis(1));
                    Ok::<_, AppError>(())
                })
                .start();
            map.join().map_err(TaskError::into_app_error)
        })
        .join()
        .unwrap();
    for other in others {
        other.join().unwrap();
    }
    assert!(
        concurrency.most() >= 2,
        "a map joined from a body ran its 200 items one at a time on 4 idle workers"
    );
}

#[test]
fn no_item_starts_while_map_error_maps_the_first_failure() {
    // DESIGN: "The first failed item fails the whole ... and no item starts after it". The
    // stop flag is set only once the manager's map_error (user code, here slow) returned:
    // meanwhile the other workers go on starting items.
    let failed_at = Arc::new(AtomicBool::new(false));
    let manager = TaskManager::builder()
        .max_threads(2)
        .map_error(|error| {
            std::thread::sleep(Duration::from_millis(200));
            error
        })
        .build()
        .unwrap();
    let (started_after, failing) = (Arc::new(AtomicUsize::new(0)), Arc::clone(&failed_at));
    let counting = Arc::clone(&started_after);
    let go = Gate::new();
    let going = go.clone();
    let map = manager
        .map(0..100_000u32, move |_, n| {
            going.wait();
            if failing.load(Ordering::SeqCst) {
                counting.fetch_add(1, Ordering::SeqCst);
            }
            if n == 50 {
                failing.store(true, Ordering::SeqCst);
                return Err(AppError::new("ERR_FIFTY", "fifty"));
            }
            std::thread::sleep(Duration::from_micros(500));
            Ok(n)
        })
        .parallelism(2)
        .start();
    go.open();
    let error = failed(map.join());
    assert_eq!(error.context()["item"], "50");
    assert!(manager.wait_for_all(PATIENCE));
    // A start racing the failure by a few instructions is unavoidable; a stream is not.
    let after = started_after.load(Ordering::SeqCst);
    assert!(after <= 2, "{after} items started after the first failure");
}
