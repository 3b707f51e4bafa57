//! A task's items without a manager: the task is started by hand (its body never runs), a
//! publisher is made for it as the body's would be, and deliveries go to a dispatcher whose
//! jobs the test runs.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Items;
use crate::sync::lock;
use crate::task::cell::{CellRef, Start};
use crate::task::delivery::Callbacks;
use crate::task::feature::Feature;
use crate::task::run;
use crate::task::testing::{task, HeldJobs, TestHost};

/// A running task carrying `items`, its callbacks on `jobs`.
fn running(items: &Arc<Items<u32>>, jobs: &HeldJobs) -> (TestHost, CellRef) {
    let test = TestHost::new(jobs.dispatcher());
    let mut spec = test.spec("publishes", Callbacks::default());
    spec.carry(Arc::clone(items) as _);
    let (_handle, cell) = task(spec, |_| Ok(()));
    assert_eq!(cell.core.try_start(), Start::Started);
    (test, cell)
}

/// Waits (30 s at most) until a publisher waits for room in a buffer holding `limit` items,
/// checking on the way that it never holds more.
fn until_a_publisher_waits(items: &Items<u32>, limit: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        {
            // A publisher woken by a `take` still counts as waiting until it holds the lock:
            // only a full buffer says it waits again.
            let buffer = lock(&items.buffer);
            assert!(buffer.pending.len() <= limit, "never more than the limit");
            if buffer.waiting == 1 && buffer.pending.len() == limit {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no publisher waited for room");
        std::thread::yield_now();
    }
}

#[test]
fn without_on_items_they_wait_in_order_for_take() {
    let (items, jobs) = (Items::new(), HeldJobs::default());
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    publisher.publish(0);
    publisher.publish_all(1..1000); // several chunks
    assert_eq!(jobs.len(), 0, "nobody listens: nothing is delivered");
    assert_eq!(items.take(), (0..1000).collect::<Vec<_>>());
    assert!(items.take().is_empty());
    assert_eq!(lock(&items.buffer).published, 1000);
}

#[test]
fn a_stop_request_drops_later_items_and_keeps_earlier_ones() {
    let (items, jobs) = (Items::new(), HeldJobs::default());
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    publisher.publish(1);
    assert!(!publisher.is_closed());
    assert!(run::cancel(&cell).newly_cancelled());
    assert!(publisher.is_cancelled() && publisher.is_closed());
    publisher.publish(2);
    publisher.publish_all([3, 4]);
    assert_eq!(items.take(), [1]);
}

#[test]
fn a_full_buffer_makes_publish_wait_for_room() {
    let (items, jobs) = (Items::new(), HeldJobs::default());
    items.limit(2);
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    let helper = std::thread::spawn(move || publisher.publish_all(0..5));
    until_a_publisher_waits(&items, 2);
    assert_eq!(items.take(), [0, 1]);
    until_a_publisher_waits(&items, 2);
    assert_eq!(items.take(), [2, 3]);
    helper.join().unwrap();
    assert_eq!(items.take(), [4]);
}

#[test]
fn a_stop_request_releases_a_publisher_waiting_for_room() {
    let (items, jobs) = (Items::new(), HeldJobs::default());
    items.limit(0); // at least one
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    let (done, returned) = mpsc::channel();
    std::thread::spawn(move || {
        publisher.publish(0);
        publisher.publish(1); // waits: the buffer holds one
        done.send(()).unwrap();
    });
    until_a_publisher_waits(&items, 1);
    run::cancel(&cell);
    returned
        .recv_timeout(Duration::from_secs(30))
        .expect("the cancel woke the publisher");
    assert_eq!(items.take(), [0], "the waiting item was dropped");
}

#[test]
fn on_items_gets_what_was_published_until_its_delivery_ran_as_one_batch() {
    let (items, jobs) = (Items::new(), HeldJobs::default());
    let batches = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&batches);
    items.listen(Box::new(move |batch| seen.lock().unwrap().push(batch)));
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    publisher.publish(1);
    publisher.publish_all([2, 3]);
    assert_eq!(jobs.len(), 1, "one delivery is pending for them all");
    assert_eq!(jobs.run(), 1);
    publisher.publish(4);
    assert_eq!(jobs.run(), 1);
    assert_eq!(*batches.lock().unwrap(), [vec![1, 2, 3], vec![4]]);
}

#[test]
fn a_silenced_delivery_drops_the_batch_unseen() {
    let (items, jobs) = (Items::new(), HeldJobs::default());
    let batches = Arc::new(Mutex::new(Vec::<Vec<u32>>::new()));
    let seen = Arc::clone(&batches);
    items.listen(Box::new(move |batch| seen.lock().unwrap().push(batch)));
    let (_test, cell) = running(&items, &jobs);
    items.publisher(&cell).publish(1);
    items.deliver(&cell.core, true);
    assert!(batches.lock().unwrap().is_empty());
    assert!(items.take().is_empty(), "taken out and dropped");
}

#[test]
fn closed_drops_what_on_items_would_have_had_but_keeps_what_take_may_want() {
    // With `on_items`: the pending items and the callback go, later items are dropped.
    let (items, jobs) = (Items::new(), HeldJobs::default());
    items.listen(Box::new(|_| unreachable!("no delivery after the end")));
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    publisher.publish(1);
    items.closed(&cell.core);
    assert!(publisher.is_closed());
    publisher.publish(2);
    assert!(items.take().is_empty());
    assert!(lock(&items.on_items).is_none(), "the callback was dropped");

    // Without: the pending items stay for `take_items`, later ones are dropped.
    let (items, jobs) = (Items::new(), HeldJobs::default());
    let (_test, cell) = running(&items, &jobs);
    let publisher = items.publisher(&cell);
    publisher.publish(1);
    items.closed(&cell.core);
    publisher.publish(2);
    assert_eq!(items.take(), [1]);
}
