//! Items (guarantee 10): typed partial results arrive in publish order, batched, all before
//! the terminal callback, none published after cancellation; `max_pending_items` bounds
//! memory.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{
    AppError, EventLoop, Exclusive, Outcome, Progress, ProgressDisplay, TaskInfo, TaskManager,
};

/// Records every batch `on_items` receives.
#[derive(Clone, Default)]
struct Batches(Arc<Mutex<Vec<Vec<u32>>>>);

impl Batches {
    fn recorder(&self) -> impl FnMut(Vec<u32>) + Send + 'static {
        let batches = self.0.clone();
        move |batch| batches.lock().unwrap().push(batch)
    }

    fn all(&self) -> Vec<Vec<u32>> {
        self.0.lock().unwrap().clone()
    }

    fn flat(&self) -> Vec<u32> {
        self.all().concat()
    }
}

#[test]
fn items_arrive_in_order_in_batches_with_nothing_empty_and_all_before_the_end() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let batches = Batches::default();
    let log = Log::new();
    let seen = batches.clone();
    let gate = Gate::new();
    let g = gate.clone();
    let task = manager
        .task_with_items(move |_, items| {
            items.publish_all(0..100);
            g.wait(); // the UI takes a first batch meanwhile
            for n in 100..1000 {
                items.publish(n);
            }
            Ok::<_, AppError>(())
        })
        .on_items(batches.recorder())
        .on_complete({
            let log = log.clone();
            move |()| log.push(format!("complete after {} items", seen.flat().len()))
        })
        .start();
    assert!(ui.run_until(|| !batches.all().is_empty(), PATIENCE));
    assert_eq!(batches.all(), [(0..100).collect::<Vec<_>>()]);
    gate.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().is_ok());
    assert_eq!(
        batches.flat(),
        (0..1000).collect::<Vec<_>>(),
        "every item, in order"
    );
    assert!(
        batches.all().iter().all(|batch| !batch.is_empty()),
        "no empty batch"
    );
    assert_eq!(log.events(), ["complete after 1000 items"]);
}

#[test]
fn each_process_events_delivers_at_most_one_batch_per_task() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let batches = Batches::default();
    let record = batches.recorder();
    let mut record = record;
    let task = manager
        .task_with_items(|ctx, items| {
            // Publishes faster than the UI takes: items are always due again.
            let mut n = 0;
            while !ctx.is_cancelled() {
                items.publish(n);
                n += 1;
            }
            Ok::<_, AppError>(())
        })
        .on_items(move |batch| {
            record(batch);
            std::thread::sleep(Duration::from_millis(1)); // the body refills meanwhile
        })
        .start();
    for round in 0..5 {
        eventually("a delivery to be queued", || ui.pending() > 0);
        let before = batches.all().len();
        ui.process_events();
        assert_eq!(
            batches.all().len(),
            before + 1,
            "one batch in round {round}"
        );
    }
    task.cancel();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().unwrap_err().is_cancelled());
    let flat = batches.flat();
    assert_eq!(
        flat,
        (0..flat.len() as u32).collect::<Vec<_>>(),
        "in order, none missing"
    );
}

#[test]
fn items_published_after_cancellation_are_dropped_and_those_before_delivered() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let batches = Batches::default();
    let running = Gate::new();
    let cancelled = Arc::new(AtomicBool::new(false));
    let (r, c) = (running.clone(), cancelled.clone());
    let task = manager
        .task_with_items(move |ctx, items| {
            items.publish_all([1, 2, 3]);
            r.open();
            common::spin_until_cancelled(ctx);
            items.publish(4); // after the cancel: dropped
            c.store(items.is_cancelled(), Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .on_items(batches.recorder())
        .start();
    running.wait();
    assert!(task.cancel());
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().unwrap_err().is_cancelled());
    assert!(cancelled.load(Ordering::SeqCst));
    assert_eq!(
        batches.flat(),
        [1, 2, 3],
        "a cancelled search still shows what it found"
    );
}

#[test]
fn a_superseded_task_delivers_none_of_its_items() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let batches = Batches::default();
    let running = Gate::new();
    let r = running.clone();
    let old = manager
        .task_with_items(move |ctx, items| {
            items.publish(1);
            r.open();
            common::spin_until_cancelled(ctx);
            Ok::<_, AppError>(())
        })
        .name("search")
        .exclusive(Exclusive::CancelPrevious)
        .on_items(batches.recorder())
        .start();
    running.wait();
    let new = manager
        .task_with_items(|_, items| {
            items.publish(2);
            Ok::<_, AppError>(())
        })
        .name("search")
        .exclusive(Exclusive::CancelPrevious)
        .on_items(batches.recorder())
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(old.join().unwrap_err().is_cancelled());
    assert!(new.join().is_ok());
    assert_eq!(batches.flat(), [2], "only the latest query's items");
}

#[test]
fn a_closed_scope_delivers_none_of_its_tasks_items() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let batches = Batches::default();
    let scope = manager.scope();
    let published = Gate::new();
    let p = published.clone();
    let task = scope
        .task_with_items(move |ctx, items| {
            items.publish_all([1, 2]);
            p.open();
            common::spin_until_cancelled(ctx);
            Ok::<_, AppError>(())
        })
        .on_items(batches.recorder())
        .start();
    published.wait();
    drop(scope); // before the UI ran the pending delivery
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().unwrap_err().is_cancelled());
    assert!(
        batches.all().is_empty(),
        "the owner is gone: {:?}",
        batches.all()
    );
}

#[test]
fn max_pending_items_blocks_publish_until_a_delivery_makes_room() {
    let ui = EventLoop::new();
    let manager = TaskManager::builder()
        .max_threads(1)
        .thread_name("items-room")
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap();
    let batches = Batches::default();
    let published = Arc::new(AtomicUsize::new(0));
    let p = published.clone();
    let task = manager
        .task_with_items(move |_, items| {
            for n in 0..10 {
                items.publish(n);
                p.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, AppError>(())
        })
        .max_pending_items(3)
        .on_items(batches.recorder())
        .start();
    eventually("three published", || published.load(Ordering::SeqCst) == 3);
    // Nobody drains the UI: the fourth publish waits, asleep, for room.
    eventually("the publisher to wait for room", || {
        common::is_blocked("items-room-1")
    });
    assert_eq!(
        published.load(Ordering::SeqCst),
        3,
        "publish waits for room"
    );
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().is_ok());
    assert_eq!(batches.flat(), (0..10).collect::<Vec<_>>());
    assert!(batches.all().iter().all(|batch| batch.len() <= 3));
}

#[test]
fn cancellation_unblocks_a_publisher_waiting_for_room() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .thread_name("items-cancel")
        .build()
        .unwrap();
    let (done_tx, done) = mpsc::channel();
    let task = manager
        .task_with_items(move |_, items| {
            items.publish(1); // nobody takes it: the limit is reached
            items.publish(2); // waits until the cancel
            done_tx.send(()).unwrap();
            Ok::<_, AppError>(())
        })
        .max_pending_items(1)
        .start();
    eventually("the body to wait for room", || {
        task.state() == task_runtime::TaskState::Running && common::is_blocked("items-cancel-1")
    });
    assert!(done.try_recv().is_err(), "still waiting for room");
    task.cancel();
    done.recv_timeout(PATIENCE)
        .expect("the cancel unblocks publish");
    assert!(task.join().unwrap_err().is_cancelled());
}

#[test]
fn take_items_takes_what_waits_and_makes_room() {
    let manager = TaskManager::new(1);
    let mut task = manager
        .task_with_items(|_, items| {
            for n in 0..100u32 {
                items.publish(n);
            }
            Ok::<_, AppError>("done")
        })
        .max_pending_items(10)
        .start();
    let mut taken = Vec::new();
    let outcome = loop {
        taken.extend(task.take_items()); // a frame loop without callbacks
        if let Some(outcome) = task.try_take() {
            break outcome;
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    taken.extend(task.take_items());
    assert_eq!(outcome.unwrap(), "done");
    assert_eq!(taken, (0..100).collect::<Vec<_>>());
}

#[test]
fn a_local_on_items_runs_on_its_thread_with_rc_state() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let shown = Rc::new(RefCell::new(Vec::new()));
    let s = shown.clone();
    let here = std::thread::current().id();
    let task = manager
        .task_with_items(|_, items| {
            // A helper thread publishes through a clone.
            let helper = items.clone();
            std::thread::spawn(move || helper.publish_all(["a", "b"]))
                .join()
                .unwrap();
            items.publish("c");
            Ok::<_, AppError>(())
        })
        .local()
        .on_items(move |batch| {
            assert_eq!(std::thread::current().id(), here);
            s.borrow_mut().extend(batch);
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().is_ok());
    assert_eq!(*shown.borrow(), ["a", "b", "c"]);
}

#[test]
fn a_panicking_on_items_is_reported_and_later_batches_still_come() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = errors.clone();
    let ui = EventLoop::new();
    let manager = TaskManager::builder()
        .max_threads(1)
        .dispatcher(ui.dispatcher())
        .error_handler(move |error| e.lock().unwrap().push(error.code().to_owned()))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let gate = Gate::new();
    let g = gate.clone();
    let task = manager
        .task_with_items(move |_, items| {
            items.publish(1);
            g.wait();
            items.publish(2);
            Ok::<_, AppError>(())
        })
        .on_items(move |_: Vec<u32>| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("the UI's bug");
            }
        })
        .start();
    assert!(ui.run_until(|| calls.load(Ordering::SeqCst) == 1, PATIENCE));
    gate.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(task.join().is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(errors.lock().unwrap().as_slice(), ["ERR_CALLBACK_PANICKED"]);
}

/// Records the item counts a display is told.
#[derive(Default)]
struct Counts(Mutex<Vec<u64>>);

impl ProgressDisplay for Counts {
    fn task_started(&self, _: &TaskInfo) {}
    fn task_progress(&self, _: &TaskInfo, _: &Progress) {}
    fn task_finished(&self, _: &TaskInfo, _: &Outcome) {}
    fn task_items(&self, _: &TaskInfo, count: u64) {
        self.0.lock().unwrap().push(count);
    }
}

#[test]
fn a_shown_task_tells_the_display_how_many_items_it_has() {
    let counts = Arc::new(Counts::default());
    let manager = TaskManager::builder()
        .progress_display(counts.clone())
        .build()
        .unwrap();
    let task = manager
        .task_with_items(|_, items| {
            items.publish_all(0..5u32);
            Ok::<_, AppError>(())
        })
        .show_progress(true)
        .start();
    assert!(task.join().is_ok());
    drop(manager); // the display has shown everything once the manager is gone
    let counts = counts.0.lock().unwrap().clone();
    assert_eq!(counts.last(), Some(&5), "{counts:?}");
}

#[test]
fn publish_all_runs_its_iterator_outside_the_lock() {
    let manager = TaskManager::new(1);
    let task = manager
        .task_with_items(|_, items| {
            // An iterator that publishes too (re-entrant) must not deadlock.
            let inner = items.clone();
            items.publish_all((0..3u32).inspect(move |n| inner.publish(100 + n)));
            Ok::<_, AppError>(())
        })
        .start();
    assert!(task.wait_for(PATIENCE), "publish_all deadlocked");
    let mut items = task.take_items();
    items.sort_unstable();
    assert_eq!(items, [0, 1, 2, 100, 101, 102]);
}

#[test]
fn without_on_items_the_items_wait_for_take_items_after_the_end() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let log = Log::new();
    let l = log.clone();
    let task = manager
        .task_with_items(|_, items| {
            items.publish_all([1u32, 2, 3]);
            Ok::<_, AppError>(())
        })
        .on_complete(move |()| l.push("complete"))
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(log.events(), ["complete"], "the terminal callback ran");
    assert_eq!(
        task.take_items(),
        [1, 2, 3],
        "and the items are still there"
    );
    assert!(task.take_items().is_empty());
}

/// A publisher kept after its task ended (a helper thread's clone) is closed: what it is given
/// is dropped, and `is_closed` says so where `is_cancelled` cannot (the task was not
/// cancelled). A cancelled task's publisher and a closed scope's are closed too.
#[test]
fn a_publisher_says_it_is_closed_once_nothing_it_publishes_can_arrive() {
    let manager = TaskManager::new(2);
    let (keep, kept) = mpsc::channel();
    let ended = manager
        .task_with_items(move |_, items: &task_runtime::Publisher<u32>| {
            assert!(!items.is_closed(), "open while the body runs");
            keep.send(items.clone()).unwrap();
            Ok::<_, AppError>(())
        })
        .start();
    ended.join().unwrap();
    let after_the_end = kept.recv().unwrap();
    assert!(after_the_end.is_closed());
    assert!(!after_the_end.is_cancelled(), "the task completed");

    let (keep, kept) = mpsc::channel();
    let cancelled = manager
        .task_with_items(move |ctx, items: &task_runtime::Publisher<u32>| {
            keep.send(items.clone()).unwrap();
            common::spin_until_cancelled(ctx);
            Ok::<_, AppError>(())
        })
        .start();
    let publisher = kept.recv_timeout(PATIENCE).unwrap();
    assert!(!publisher.is_closed());
    cancelled.cancel();
    assert!(publisher.is_closed() && publisher.is_cancelled());

    let scope = manager.scope();
    let (keep, kept) = mpsc::channel();
    let gate = Gate::new();
    let held = gate.clone();
    let in_scope = scope
        .task_with_items(move |_, items: &task_runtime::Publisher<u32>| {
            keep.send(items.clone()).unwrap();
            held.wait();
            Ok::<_, AppError>(())
        })
        .on_items(|_| {})
        .start();
    let publisher = kept.recv_timeout(PATIENCE).unwrap();
    drop(scope);
    assert!(
        publisher.is_closed(),
        "its scope is gone: no item would be delivered"
    );
    gate.open();
    let _ = in_scope.join();
}
