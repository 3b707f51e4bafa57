//! Property (guarantee 10): publishes interleaved with drains and a cancel, in any order;
//! what `on_items` receives is exactly the items published before the cancel, in order, in
//! non-empty batches, all before the terminal callback.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::PATIENCE;
use proptest::prelude::*;
use task_runtime::{AppError, EventLoop, TaskState};

#[derive(Debug, Clone)]
enum Step {
    /// The body publishes this many items (with `publish_all` when `together`).
    Publish { count: u32, together: bool },
    /// The UI thread runs one `process_events`.
    Drain,
    /// The test cancels the task.
    Cancel,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..5u32, any::<bool>()).prop_map(|(count, together)| Step::Publish { count, together }),
        3 => Just(Step::Drain),
        1 => Just(Step::Cancel),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn delivered_items_are_exactly_those_published_before_the_cancel(
        steps in proptest::collection::vec(step(), 1..30)
    ) {
        let ui = EventLoop::new();
        let manager = common::ui_manager(&ui, 1);
        let events = Arc::new(Mutex::new(Vec::<Option<Vec<u32>>>::new()));
        // The body publishes on command and says when it has, so the order of publishes,
        // drains and the cancel is the order of the steps.
        let (command, commands) = mpsc::channel::<Option<(u32, u32, bool)>>();
        let (ack, acked) = mpsc::channel::<()>();
        let (on_items, on_end) = (events.clone(), events.clone());
        let task = manager
            .task_with_items(move |_, items| {
                while let Ok(Some((first, count, together))) = commands.recv() {
                    if together {
                        items.publish_all(first..first + count);
                    } else {
                        (first..first + count).for_each(|n| items.publish(n));
                    }
                    ack.send(()).unwrap();
                }
                Ok::<_, AppError>(())
            })
            .on_items(move |batch| on_items.lock().unwrap().push(Some(batch)))
            .on_complete(move |()| on_end.lock().unwrap().push(None))
            .start();
        // Running before the first step: a cancel then finds the body, not a queued task.
        common::eventually("the body to run", || task.state() == TaskState::Running);
        let mut next = 0;
        let mut before_cancel = Vec::new();
        let mut cancelled = false;
        for step in steps {
            match step {
                Step::Publish { count, together } => {
                    command.send(Some((next, count, together))).unwrap();
                    acked.recv_timeout(PATIENCE).unwrap();
                    if !cancelled {
                        before_cancel.extend(next..next + count);
                    }
                    next += count;
                }
                Step::Drain => {
                    ui.process_events();
                }
                Step::Cancel => {
                    task.cancel();
                    cancelled = true;
                }
            }
        }
        command.send(None).unwrap();
        prop_assert!(ui.run_until_idle(&manager, PATIENCE));
        let outcome = task.join();
        prop_assert_eq!(outcome.is_err(), cancelled);

        let events = events.lock().unwrap().clone();
        let batches: Vec<&Vec<u32>> = events.iter().flatten().collect();
        prop_assert!(batches.iter().all(|batch| !batch.is_empty()), "an empty batch");
        let delivered: Vec<u32> = batches.into_iter().flatten().copied().collect();
        prop_assert_eq!(delivered, before_cancel);
        if !cancelled {
            prop_assert_eq!(events.last(), Some(&None), "the end comes last");
        }
    }
}
