//! Deliveries that can no longer run because their `EventLoop` is gone (queued in it when it
//! was dropped, or posted after) are reported coalesced: at most one `ERR_DELIVERY_LOST`
//! report per loop is pending at a time, with the count in its context (`lost = <n>`), never
//! one per task; the reported counts add up to every loss. Handles keep their outcomes.

mod common;

use std::sync::{Arc, Mutex};

use common::PATIENCE;
use task_runtime::{codes, AppError, Dispatcher, EventLoop, TaskManager};

/// What the error handler heard: the `lost` count of each `ERR_DELIVERY_LOST`, in order.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<u64>>>);

impl Heard {
    fn manager(&self, dispatcher: Dispatcher) -> TaskManager {
        let heard = self.0.clone();
        TaskManager::builder()
            .max_threads(2)
            .dispatcher(dispatcher)
            .error_handler(move |error: &AppError| {
                assert_eq!(error.code(), codes::ERR_DELIVERY_LOST, "{error}");
                heard
                    .lock()
                    .unwrap()
                    .push(error.context()["lost"].parse().unwrap());
            })
            .build()
            .unwrap()
    }

    fn reports(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

const TASKS: usize = 10_000;

#[test]
fn dropping_a_loop_with_deliveries_queued_reports_them_once_with_the_count() {
    let heard = Heard::default();
    let ui = EventLoop::new();
    let manager = heard.manager(ui.dispatcher());
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| {
            manager
                .task(move |_| Ok::<_, AppError>(n))
                .on_complete(|_| unreachable!("the loop is never drained"))
                .start()
        })
        .collect();
    assert!(manager.wait_for_all(PATIENCE));
    // A delivery is posted just after its task is decided: wait until all are queued.
    common::eventually("every delivery queued", || ui.pending() == TASKS);
    assert!(heard.reports().is_empty());
    drop(ui);
    assert_eq!(
        heard.reports(),
        [TASKS as u64],
        "one report, with the count"
    );
    for task in tasks {
        assert!(task.join().is_ok(), "the handles keep their outcomes");
    }
}

#[test]
fn deliveries_posted_after_the_loop_is_gone_are_reported_coalesced_and_all_counted() {
    let heard = Heard::default();
    let ui = EventLoop::new();
    let manager = heard.manager(ui.dispatcher());
    drop(ui);
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| {
            manager
                .task(move |_| Ok::<_, AppError>(n))
                .on_complete(|_| unreachable!("the loop is gone"))
                .start()
        })
        .collect();
    assert!(manager.wait_for_all(PATIENCE));
    let reports = heard.reports();
    assert!(
        !reports.is_empty() && reports.len() <= 16,
        "a few reports, not one per task: {} of them",
        reports.len()
    );
    assert_eq!(reports[0], 1, "the first loss is reported at once");
    for task in tasks {
        assert!(task.join().is_ok(), "the handles keep their outcomes");
    }
    // The last dispatcher of the loop goes with the manager: what is still pending is reported.
    drop(manager);
    common::eventually("every loss counted", || {
        heard.reports().iter().sum::<u64>() == TASKS as u64
    });
}

#[test]
fn a_dispatcher_that_drops_its_jobs_is_reported_coalesced() {
    let heard = Heard::default();
    let manager = heard.manager(Dispatcher::from_fn(drop));
    for n in 0..TASKS {
        manager
            .task(move |_| Ok::<_, AppError>(n))
            .on_complete(|_| unreachable!("the dispatcher drops every job"))
            .start();
    }
    assert!(manager.wait_for_all(PATIENCE));
    let reports = heard.reports();
    assert!(reports.len() <= 16, "{} reports", reports.len());
    drop(manager);
    common::eventually("every loss counted", || {
        heard.reports().iter().sum::<u64>() == TASKS as u64
    });
}
