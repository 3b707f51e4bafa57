//! The task's state machine, transition by transition: queued -> running -> decided, and every
//! way a stop request, an abandonment or a second start meets each state. (The races between
//! them are loom's: `tests/loom.rs`. A start held by a cancel round is `tests/cancel_races.rs`.)

use super::{CancelRequest, CellRef, Start, Stop};
use crate::dispatch::Dispatcher;
use crate::task::delivery::Callbacks;
use crate::task::testing::{task, TestHost};
use crate::vocabulary::CancelReason;
use crate::vocabulary::TaskState::{self, Cancelled, Completed, Failed, Queued, Running};

/// A queued task of a host of its own (the host must outlive the cell's use).
fn queued() -> (TestHost, CellRef) {
    let test = TestHost::new(Dispatcher::worker_thread());
    let (_handle, cell) = task(test.spec("states", Callbacks::default()), |_| Ok(()));
    (test, cell)
}

/// A task that has started.
fn running() -> (TestHost, CellRef) {
    let (test, cell) = queued();
    assert_eq!(cell.core.try_start(), Start::Started);
    (test, cell)
}

/// A task decided with `state`, each by the path that decides it.
fn decided(state: TaskState) -> (TestHost, CellRef) {
    let (test, cell) = match state {
        Cancelled => {
            let (test, cell) = queued();
            assert_eq!(
                cell.core
                    .request_stop(Stop::Cancel(CancelReason::Requested)),
                CancelRequest::WasQueued
            );
            (test, cell)
        }
        Completed | Failed => {
            let (test, cell) = running();
            cell.core.decide(state == Completed);
            (test, cell)
        }
        Queued | Running => unreachable!("not a decided state"),
    };
    assert_eq!(cell.core.state(), state);
    (test, cell)
}

#[test]
fn a_queued_task_starts_once() {
    let (_test, cell) = queued();
    assert_eq!(cell.core.state(), Queued);
    assert_eq!(cell.core.started_at(), None);
    assert_eq!(cell.core.try_start(), Start::Started);
    assert_eq!(cell.core.state(), Running);
    assert!(cell.core.started_at().is_some(), "the start is timed");
    // A joining worker ran it already; its queue entry comes up later.
    assert_eq!(cell.core.try_start(), Start::NotQueued);
    assert_eq!(cell.core.state(), Running);
}

#[test]
fn a_queued_task_is_decided_by_the_request_that_stops_it() {
    let (_test, cell) = queued();
    assert_eq!(
        cell.core
            .request_stop(Stop::Cancel(CancelReason::Requested)),
        CancelRequest::WasQueued
    );
    assert_eq!(cell.core.state(), Cancelled);
    assert!(cell.core.is_cancelled());
    assert!(!cell.core.timed_out());
    assert_eq!(cell.core.try_start(), Start::NotQueued, "it never runs");

    let (_test, cell) = queued();
    assert_eq!(
        cell.core.request_stop(Stop::Deadline),
        CancelRequest::WasQueued
    );
    assert_eq!(cell.core.state(), Failed, "a timeout is a failure");
    assert!(cell.core.timed_out());
    assert!(
        cell.core.is_cancelled(),
        "its token says stop, as for a cancel"
    );
    assert_eq!(cell.core.try_start(), Start::NotQueued);
}

#[test]
fn an_abandoned_task_fails_only_if_it_was_still_queued() {
    let (_test, cell) = queued();
    assert!(cell.core.abandon());
    assert_eq!(cell.core.state(), Failed);
    assert!(!cell.core.timed_out());
    assert!(!cell.core.abandon(), "once");

    let (_test, cell) = running();
    assert!(!cell.core.abandon(), "a running task has its thread");
    assert_eq!(cell.core.state(), Running);
}

#[test]
fn a_running_task_is_decided_by_its_worker_from_what_its_body_returned() {
    for (succeeded, outcome) in [(true, Completed), (false, Failed)] {
        let (_test, cell) = running();
        assert_eq!(cell.core.decide(succeeded), outcome);
        assert_eq!(cell.core.state(), outcome);
        assert!(!cell.core.is_cancelled());
    }
}

#[test]
fn a_stop_request_to_a_running_task_only_flags_it() {
    for (why, outcome, timed_out) in [
        (Stop::Cancel(CancelReason::Requested), Cancelled, false),
        (Stop::Deadline, Failed, true),
    ] {
        // Whatever the body returned, the request decides the outcome.
        for succeeded in [true, false] {
            let (_test, cell) = running();
            assert_eq!(cell.core.request_stop(why), CancelRequest::WasRunning);
            assert_eq!(cell.core.state(), Running, "the body is still running");
            assert!(cell.core.is_cancelled(), "its token says stop");
            assert_eq!(cell.core.request_stop(why), CancelRequest::AlreadyRequested);
            assert_eq!(cell.core.decide(succeeded), outcome);
            assert_eq!(cell.core.timed_out(), timed_out);
        }
    }
}

#[test]
fn the_first_stop_request_names_the_outcome() {
    use CancelRequest::{AlreadyRequested, Finished, WasQueued, WasRunning};
    // Started or not, two requests in order: what each returns, the outcome, a timeout?
    let cases = [
        (
            true,
            [Stop::Cancel(CancelReason::Requested), Stop::Deadline],
            [WasRunning, AlreadyRequested],
            Cancelled,
            false,
        ),
        (
            true,
            [Stop::Deadline, Stop::Cancel(CancelReason::Requested)],
            [WasRunning, AlreadyRequested],
            Failed,
            true,
        ),
        (
            false,
            [Stop::Cancel(CancelReason::Requested), Stop::Deadline],
            [WasQueued, Finished],
            Cancelled,
            false,
        ),
        (
            false,
            [Stop::Deadline, Stop::Cancel(CancelReason::Requested)],
            [WasQueued, Finished],
            Failed,
            true,
        ),
    ];
    for (started, requests, returned, outcome, timed_out) in cases {
        let (_test, cell) = if started { running() } else { queued() };
        let got = requests.map(|why| cell.core.request_stop(why));
        assert_eq!(got, returned, "{requests:?}, started: {started}");
        if started {
            cell.core.decide(true);
        }
        assert_eq!(
            cell.core.state(),
            outcome,
            "{requests:?}, started: {started}"
        );
        assert_eq!(cell.core.timed_out(), timed_out);
    }
}

#[test]
fn a_decided_task_never_changes() {
    for state in [Completed, Failed, Cancelled] {
        let (_test, cell) = decided(state);
        let cancelled = cell.core.is_cancelled();
        assert_eq!(
            cell.core
                .request_stop(Stop::Cancel(CancelReason::Requested)),
            CancelRequest::Finished
        );
        assert_eq!(
            cell.core.request_stop(Stop::Deadline),
            CancelRequest::Finished
        );
        assert_eq!(cell.core.try_start(), Start::NotQueued);
        assert!(!cell.core.abandon());
        assert_eq!(cell.core.state(), state, "{state:?} stays");
        assert_eq!(cell.core.is_cancelled(), cancelled);
        assert!(!cell.core.timed_out());
    }
}

#[test]
fn only_the_request_that_stops_the_task_is_new() {
    let requests = [
        CancelRequest::WasQueued,
        CancelRequest::WasRunning,
        CancelRequest::AlreadyRequested,
        CancelRequest::Finished,
    ];
    let cancelled: Vec<bool> = requests.iter().map(|r| r.newly_cancelled()).collect();
    assert_eq!(cancelled, [true, true, false, false]);
}

#[test]
fn the_first_stop_request_names_the_reason_in_every_phase_after() {
    use CancelReason::{Deadline, Requested, ScopeClosed, Shutdown, Superseded};
    for reason in [Requested, ScopeClosed, Superseded, Shutdown] {
        // A queued task, decided by the request.
        let (_test, cell) = queued();
        assert_eq!(cell.core.cancel_reason(), None);
        cell.core.request_stop(Stop::Cancel(reason));
        assert_eq!(cell.core.cancel_reason(), Some(reason));
        // A running task: the request, then a later one, then the decision.
        let (_test, cell) = running();
        cell.core.request_stop(Stop::Cancel(reason));
        cell.core.request_stop(Stop::Cancel(Requested));
        cell.core.request_stop(Stop::Deadline);
        assert_eq!(cell.core.cancel_reason(), Some(reason));
        assert_eq!(cell.core.decide(true), Cancelled);
        assert_eq!(
            cell.core.cancel_reason(),
            Some(reason),
            "kept by the decision"
        );
    }
    let (_test, cell) = running();
    cell.core.request_stop(Stop::Deadline);
    assert_eq!(cell.core.cancel_reason(), Some(Deadline));
    assert_eq!(cell.core.decide(true), Failed);
    assert_eq!(cell.core.cancel_reason(), Some(Deadline));
    let (_test, cell) = running();
    assert_eq!(cell.core.decide(true), Completed);
    assert_eq!(cell.core.cancel_reason(), None);
}

#[test]
fn a_failure_of_its_own_work_stops_a_task_as_a_failure_unless_a_stop_came_first() {
    // A map's failed item: the body sees itself cancelled, for that reason, and the
    // decision is a failure whatever the body returns.
    let (_test, cell) = running();
    assert_eq!(
        cell.core.request_stop(Stop::Failed),
        CancelRequest::WasRunning
    );
    assert!(cell.core.is_cancelled());
    assert_eq!(cell.core.cancel_reason(), Some(CancelReason::Failed));
    cell.core.request_stop(Stop::Deadline);
    assert_eq!(cell.core.cancel_reason(), Some(CancelReason::Failed));
    assert_eq!(cell.core.decide(true), Failed);
    assert_eq!(cell.core.cancel_reason(), Some(CancelReason::Failed));
    // A cancel first: the failure changes nothing.
    let (_test, cell) = running();
    cell.core
        .request_stop(Stop::Cancel(CancelReason::Requested));
    assert_eq!(
        cell.core.request_stop(Stop::Failed),
        CancelRequest::AlreadyRequested
    );
    assert_eq!(cell.core.decide(false), Cancelled);
    // A deadline first: a timeout.
    let (_test, cell) = running();
    cell.core.request_stop(Stop::Deadline);
    cell.core.request_stop(Stop::Failed);
    assert_eq!(cell.core.cancel_reason(), Some(CancelReason::Deadline));
}
