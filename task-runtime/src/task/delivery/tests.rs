//! The drain, on tasks built without a manager: a host of their own and a dispatcher whose
//! jobs the test runs or loses by hand.

use std::sync::Arc;

use crate::dispatch::Dispatcher;
use crate::error::{codes, AppError};
use crate::task::body::{Plain, WithCompletion};
use crate::task::context::TaskContext;
use crate::task::feature::Feature;
use crate::task::run;
use crate::task::testing::{submit, task, HeldJobs, Log, TestHost};
use crate::task::Task;

/// A task whose body reports progress 1..=5 and returns 42 to an `on_complete` that logs.
fn reporting(test: &TestHost, log: &Log, dispatcher: Option<Dispatcher>) -> Task<()> {
    let mut spec = test.spec("reporting", log.callbacks());
    if let Some(dispatcher) = dispatcher {
        spec.dispatch_on(dispatcher);
    }
    let body = Plain::new(|ctx: &TaskContext| {
        for current in 1..=5 {
            ctx.set_progress(current, 5);
        }
        Ok::<_, AppError>(42)
    });
    let done = log.clone();
    let body = WithCompletion::new(Box::new(body), move |value: i32| {
        done.push(format!("complete {value}"));
    });
    let (task, cell) = submit(spec, Box::new(body));
    run::run(&cell);
    task
}

#[test]
fn one_job_delivers_everything_due_in_order() {
    let jobs = HeldJobs::default();
    let test = TestHost::new(jobs.dispatcher());
    let log = Log::default();
    let task = reporting(&test, &log, None);
    assert!(
        task.is_finished(),
        "the handle sees the outcome before any callback"
    );
    assert_eq!(jobs.len(), 1, "one pending job however many events");
    assert_eq!(test.host.undelivered(), 1);
    assert_eq!(jobs.run(), 1);
    assert_eq!(
        log.events(),
        ["started", "progress 5", "complete 42"],
        "started, the latest progress, then the terminal callback"
    );
    assert_eq!(test.host.undelivered(), 0, "the delivery is over");
    assert_eq!(jobs.len(), 0, "nothing after the terminal callback");
    assert!(test.error_codes().is_empty());
}

#[test]
fn the_worker_thread_dispatcher_delivers_inline() {
    let test = TestHost::new(Dispatcher::worker_thread());
    let log = Log::default();
    reporting(&test, &log, None);
    let events = log.events();
    assert_eq!(events.first().map(String::as_str), Some("started"));
    assert_eq!(events.last().map(String::as_str), Some("complete 42"));
    assert!(events.contains(&"progress 5".to_owned()));
}

#[test]
fn a_task_dispatcher_of_its_own_wins_over_the_hosts() {
    let host_jobs = HeldJobs::default();
    let own_jobs = HeldJobs::default();
    let test = TestHost::new(host_jobs.dispatcher());
    let log = Log::default();
    reporting(&test, &log, Some(own_jobs.dispatcher()));
    assert_eq!((host_jobs.len(), own_jobs.len()), (0, 1));
    own_jobs.run();
    assert_eq!(log.events().last().map(String::as_str), Some("complete 42"));
}

#[test]
fn a_lost_job_is_reported_and_still_ends_the_delivery() {
    let jobs = HeldJobs::default();
    let test = TestHost::new(jobs.dispatcher());
    let log = Log::default();
    let (task, cell) = task::<(), _>(test.spec("lost", log.callbacks()), |ctx| {
        ctx.set_progress(1, 2);
        Err(AppError::new("ERR_BODY", "failed"))
    });
    run::run(&cell);
    assert_eq!(jobs.len(), 1);
    jobs.lose();
    assert_eq!(
        test.error_codes(),
        [codes::ERR_DELIVERY_LOST, "ERR_BODY"],
        "the loss, then the failure nobody could deliver"
    );
    assert!(log.events().is_empty(), "no callback ran");
    assert_eq!(test.host.undelivered(), 0);
    assert!(task.join().unwrap_err().app_error().is_some());
}

#[test]
fn events_after_a_lost_job_are_not_delivered_and_end_the_delivery() {
    let jobs = HeldJobs::default();
    let test = TestHost::new(jobs.dispatcher());
    let log = Log::default();
    let (_task, cell) = task::<(), _>(test.spec("late", log.callbacks()), |_| Ok(()));
    assert_eq!(cell.core.try_start(), crate::task::cell::Start::Started);
    super::post_started(&cell);
    jobs.lose(); // before the terminal event arrived
    test.host.decided();
    super::post_terminal(&cell, super::Terminal::Cancelled);
    assert_eq!(jobs.len(), 0, "no new job for a lost mailbox");
    assert!(log.events().is_empty());
    assert_eq!(test.error_codes(), [codes::ERR_DELIVERY_LOST]);
    assert_eq!(test.host.undelivered(), 0);
}

/// A feature that silences its task once told to (as a newer task of its name, or a closed
/// scope, does).
#[derive(Default)]
struct Silencer(std::sync::atomic::AtomicBool);

impl Feature for Silencer {
    fn silences(&self, _task: &crate::task::cell::TaskCore) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn a_silenced_task_runs_none_of_its_callbacks_but_signals_its_end() {
    let jobs = HeldJobs::default();
    let test = TestHost::new(jobs.dispatcher());
    let ended = Log::default();
    let heard = ended.clone();
    test.host
        .signals()
        .task_completed
        .connect(move |info| heard.push(format!("signal {}", info.name)));
    let silencer = Arc::new(Silencer::default());
    let log = Log::default();
    let mut spec = test.spec("search", log.callbacks());
    spec.carry(silencer.clone() as Arc<dyn Feature>);
    let (_task, cell) = task::<u8, _>(spec, |_| Ok(1));
    assert!(!cell.core.is_silenced());
    run::run(&cell);
    // A feature silences it (a newer task of its name was admitted, say).
    silencer.0.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(cell.core.is_silenced());
    jobs.run();
    assert!(log.events().is_empty(), "{:?}", log.events());
    assert_eq!(ended.events(), ["signal search"]);
}

#[test]
fn a_panicking_callback_is_reported_and_the_next_one_still_runs() {
    let jobs = HeldJobs::default();
    let test = TestHost::new(jobs.dispatcher());
    let log = Log::default();
    let mut callbacks = log.callbacks();
    callbacks.on_started = Some(Box::new(|| panic!("on_started bug")));
    let (_task, cell) = task::<(), _>(test.spec("panicky", callbacks), |ctx| {
        ctx.set_progress(1, 1);
        Err(AppError::new("ERR_BODY", "failed"))
    });
    run::run(&cell);
    jobs.run();
    assert_eq!(log.events(), ["progress 1", "error ERR_BODY"]);
    assert_eq!(test.error_codes(), [codes::ERR_CALLBACK_PANICKED]);
    let report = &test.errors()[0];
    assert!(report.message().contains("on_started bug"), "{report}");
    assert_eq!(report.context()["task"], "panicky");
}
