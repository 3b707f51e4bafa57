//! Running a task on a worker, cancelling one, and failing one that can never run: the places
//! an outcome is decided. The slot counts each decision with the host as it stores the
//! outcome; each place then shows the end on the display and posts the terminal event.

use super::admit::TaskHost;
use super::cell::{Called, CancelRequest, CellRef, Silence, Start, Stop, Stopping};
use super::context::CurrentTask;
use super::delivery::{self, Terminal};
use super::travel::{self, HeldBack};
use crate::error::AppError;
use crate::host::Mark;
use crate::sync::thread_local;
use crate::vocabulary::{CancelReason, TaskState};
use std::cell::RefCell;
use std::sync::Arc;

/// Runs a queued task on the current thread: body, outcome, then delivery; whether the body
/// ran. Does nothing if the task is no longer queued (cancelled, or already run by a joining
/// worker), nor if a cancel round that began after it was queued stops it (that round
/// decides it; see `host::rounds`).
pub(crate) fn run(cell: &CellRef) -> bool {
    if !begin(cell) {
        return false;
    }
    let _entered = cell.core.enter_span();
    // From here until the outcome is decided the task runs on this thread: `current()` sees
    // it (in `on_started` too), and a shutdown from here does not wait for it.
    let running = CurrentTask::enter(cell);
    announce_start(cell);
    let called = cell.slot.call(cell);
    drop(running);
    called_back(cell, called);
    true
}

/// Starts a queued task with an `async` body without polling it here: it is `Running` from
/// now on, and its first poll is queued on its manager's pool (a combinator, which is
/// running from its `start()`, on the thread that started it). Whether it started.
pub(crate) fn start_waiting(cell: &CellRef) -> bool {
    if !begin(cell) {
        return false;
    }
    let _entered = cell.core.enter_span();
    let running = CurrentTask::enter(cell);
    announce_start(cell);
    drop(running);
    let called = cell.slot.start_waiting(cell);
    called_back(cell, called);
    true
}

/// Queued to running; whether the task may start. A task that is no longer queued is left
/// alone; one a cancel round stops is held for it or decided here (see `host::rounds`).
fn begin(cell: &CellRef) -> bool {
    let core = &cell.core;
    match core.try_start() {
        Start::Started => true,
        Start::NotQueued => false,
        Start::Held => {
            // Alive until the round that stopped it has it in its snapshot (see `host::rounds`).
            if core.host.rounds().snapshotting() {
                core.host.held().keep(Box::new(cell.clone()));
            }
            false
        }
        Start::Stopped => {
            let terminal = cell.slot.skip(core);
            let _entered = core.enter_span();
            tracing::debug!("task stopped before its body ran");
            decided(cell, terminal);
            false
        }
    }
}

/// The task started: `on_started` is posted and its features hear of it.
fn announce_start(cell: &CellRef) {
    tracing::debug!("task started");
    delivery::post_started(cell);
    for feature in cell.core.features() {
        feature.started(cell);
    }
}

/// Polls a polled body again, on the worker that took its `Job::Poll`; whether it did (a
/// cancellation may have decided the task since it was woken).
pub(crate) fn resume(cell: &CellRef) -> bool {
    let _entered = cell.core.enter_span();
    let running = CurrentTask::enter(cell);
    let Some(called) = cell.slot.resume(cell) else {
        return false;
    };
    drop(running);
    called_back(cell, called);
    true
}

/// What follows a call of the body: the decision, or, for a polled body that waits, nothing
/// until its waker is called (its next poll queued now if it was woken during this one).
fn called_back(cell: &CellRef, called: Called) {
    match called {
        Called::Decided(terminal) => {
            match &terminal {
                Terminal::Completed(_) => tracing::debug!("task completed"),
                // The failure goes to `on_error` or the error handler (by default, the one
                // `error` event): here it is only a step of the task's life.
                Terminal::Failed(error) => tracing::debug!(error = %error, "task failed"),
                Terminal::Cancelled => tracing::debug!("task cancelled"),
            }
            decided(cell, terminal);
        }
        Called::Waiting { again: true } => {
            let deferred = DEFERRED.with(|deferred| match &mut *deferred.borrow_mut() {
                Some(later) => {
                    later.push(cell.clone());
                    true
                }
                None => false,
            });
            if !deferred {
                schedule(cell);
            }
        }
        Called::Waiting { again: false } => {}
    }
}

/// A polled body's waker was called (from any thread, any number of times, also after the
/// task ended): a parked body's next poll is queued.
pub(crate) fn wake(cell: &CellRef) {
    if cell.slot.wake() && !travel::hold_back(|| HeldBack::Poll(cell.clone())) {
        schedule(cell);
    }
}

/// Queues the next poll of a polled body with its manager's pool.
fn schedule(cell: &CellRef) {
    // Without a manager, nothing can poll it: its shutdown cancelled every task, so this one
    // is decided (the poll it asked for would find nothing to do).
    if let Some(admission) = cell.core.host.admission() {
        admission.resume(cell.clone());
    }
}

/// Requests cancellation. A task that was still queued is finished here and now: its
/// decision is counted and its `on_cancelled` is delivered from this thread's dispatch.
pub(crate) fn cancel(cell: &CellRef) -> CancelRequest {
    cancel_because(cell, CancelReason::Requested)
}

/// [`cancel`] for `reason` (a scope closing, a newer task of the name, shutdown), which the
/// body reads with `ctx.cancel_reason()`.
pub(crate) fn cancel_because(cell: &CellRef, reason: CancelReason) -> CancelRequest {
    stop(cell, Stop::Cancel(reason), Silence::No)
}

/// One cancel round of `host` over `cells` (a scope's tasks, or all of the manager's): sets
/// `mark`, takes the snapshot, cancels every task of it; how many this call cancelled. With
/// `Silence::Yes`, the tasks it cancels deliver no callback from now on (a scope's `cancel`;
/// a task already decided keeps its callbacks). See `host::rounds`.
///
/// Every task of the snapshot is decided before anything is delivered: a callback delivered
/// inline (the worker-thread dispatcher) may wait for another task of the round, which only
/// this call decides.
pub(crate) fn cancel_round(
    host: &TaskHost,
    mark: &Mark,
    snapshot: impl FnOnce() -> Vec<CellRef>,
    silence: Silence,
    reason: CancelReason,
) -> usize {
    mark.set(host.rounds().begin());
    let cells = snapshot();
    host.rounds().snapshot_taken();
    // What the requests set travelling (a continuation reached, a combinator woken) waits for
    // them: the round reaches, counts and silences the tasks of its own snapshot itself.
    let (requests, held) = travel::holding_back(|| {
        cells
            .iter()
            .map(|cell| request_stop(cell, Stop::Cancel(reason), silence))
            .collect::<Vec<_>>()
    });
    let cancelled = requests
        .iter()
        .filter(|r| r.request.newly_cancelled())
        .count();
    for (cell, request) in cells.iter().zip(requests) {
        follow_up(cell, request, Stop::Cancel(reason));
    }
    for what in held {
        match what {
            HeldBack::Cancel(cell) => {
                cancel_because(&cell, reason);
            }
            HeldBack::Poll(cell) => schedule(&cell),
        }
    }
    host.held().release(|task| {
        task.downcast_ref::<CellRef>()
            .is_none_or(|cell| cell.core.state().is_terminal())
    });
    cancelled
}

/// The task's deadline passed: a queued task fails now with a timeout (and never runs); a
/// running one is asked to stop, and fails with a timeout once its body returns.
pub(crate) fn time_out(cell: &CellRef) -> CancelRequest {
    stop(cell, Stop::Deadline, Silence::No)
}

/// Part of the task's own work failed (an item of a map), and a feature of the task recorded
/// the failure ([`Feature::failure`](super::feature::Feature::failure)): the task stops as
/// for a deadline, its outcome that failure (unless a stop came first), and its body sees
/// itself cancelled meanwhile.
pub(crate) fn fail_running(cell: &CellRef) -> CancelRequest {
    stop(cell, Stop::Failed, Silence::No)
}

fn stop(cell: &CellRef, why: Stop, silence: Silence) -> CancelRequest {
    let stopping = request_stop(cell, why, silence);
    let request = stopping.request;
    follow_up(cell, stopping, why);
    request
}

/// The request itself: for a task still queued, or a polled body parked between polls, its
/// outcome is decided and stored here.
fn request_stop(cell: &CellRef, why: Stop, silence: Silence) -> Stopping {
    cell.slot.cancel(&cell.core, why, silence)
}

/// What follows a request: a task decided by it is delivered; a running one stops showing
/// progress and publishing, and its body's scopes close; a parked body goes to a worker to be
/// dropped (never here: this may be a UI thread).
fn follow_up(cell: &CellRef, stopping: Stopping, why: Stop) {
    let core = &cell.core;
    match stopping.request {
        CancelRequest::WasQueued => {
            let _entered = core.enter_span();
            let terminal = match why {
                Stop::Cancel(_) => {
                    tracing::debug!("task cancelled before it started");
                    Terminal::Cancelled
                }
                Stop::Deadline => {
                    tracing::debug!("task timed out before it started");
                    Terminal::Failed(core.stop_error())
                }
                Stop::Failed => {
                    tracing::debug!("task failed before it started");
                    Terminal::Failed(core.stop_error())
                }
            };
            decided(cell, terminal);
        }
        CancelRequest::WasRunning => {
            for feature in core.features() {
                feature.stop_requested(core);
            }
            // What the body started in scopes of its own stops with it.
            core.host.body_scopes().stop(core.id);
            if let Some((terminal, body)) = stopping.decided {
                let _entered = core.enter_span();
                tracing::debug!("task stopped while its body waited");
                match core.host.admission() {
                    Some(admission) => admission.dispose(cell.clone(), body),
                    None => core.host.drop_user_value(body, core.name()),
                }
                decided(cell, terminal);
            }
        }
        CancelRequest::AlreadyRequested | CancelRequest::Finished => {}
    }
}

/// Fails a task that is still queued and that no thread will ever run; delivered from this
/// thread's dispatch like a cancellation of a queued task.
pub(crate) fn abandon(cell: &CellRef, reason: &str) {
    let core = &cell.core;
    if core.state() != TaskState::Queued {
        return;
    }
    let name = core.name().as_str();
    let error = core
        .host
        .task_error(name, AppError::thread_spawn(name, reason));
    fail_queued(cell, error);
}

/// Fails a task that is still queued with `error` as it is (another task's failure, which a
/// continuation passes on): it never runs. Whether this call decided it.
pub(crate) fn fail_queued(cell: &CellRef, error: AppError) -> bool {
    let core = &cell.core;
    if !cell.slot.abandon(core, &error) {
        return false;
    }
    let _entered = core.enter_span();
    tracing::debug!(error = %error, "task failed before it started");
    decided(cell, Terminal::Failed(error));
    true
}

/// The outcome was just decided, stored and counted (by the slot): the task's features hear
/// of it, then it is delivered. Every decision, whoever made it, ends here.
fn decided(cell: &CellRef, terminal: Terminal) {
    for feature in cell.core.features() {
        feature.decided(cell, &terminal);
    }
    delivery::post_terminal(cell, terminal);
}

/// Called before `join` blocks: on one of the pool's own threads, run the task here if it is
/// still queued, instead of waiting for a worker that may never come free. (`wait_for` does
/// not: it must return by its deadline, and the task may run far longer.) A continuation
/// still waiting for its antecedent is never started early: the chain behind it is helped
/// instead, from its first task on (each run here opens the next one's gate).
///
/// On a manual manager the caller is the only one who can run anything: it runs the task, and
/// while it waits (a polled body parked, a continuation behind its gate), the manager's other
/// queued work, and panics when nothing queued is left and the task is still undecided (only
/// a wake from outside, such as `TestClock::advance`, could end it).
pub(crate) fn help_if_worker(cell: &CellRef) {
    let host = &cell.core.host;
    let here = host.is_pool_thread() || host.is_manual();
    // Only a task of this manager, and only one that may start: never one behind its gate.
    let startable = |task: &CellRef| {
        here && Arc::ptr_eq(&task.core.host, host)
            && task.core.state() == TaskState::Queued
            && waits_for(task).is_none()
    };
    if let Some(antecedent) = waits_for(cell) {
        // The chain behind the task, walked without recursion however long it is, then
        // helped from its first task on: each run here opens the next one's gate.
        let mut chain = vec![antecedent];
        while let Some(antecedent) = chain.last().and_then(waits_for) {
            chain.push(antecedent);
        }
        for task in chain.iter().rev() {
            if startable(task) {
                run(task);
            }
        }
    }
    // Only while it waits: a body being polled or run elsewhere (another thread driving the
    // manager) ends without this thread's help.
    let waits = || cell.slot.parked(&cell.core) || waits_for(cell).is_some();
    loop {
        if startable(cell) {
            run(cell);
        }
        if !host.is_manual() || !waits() {
            return;
        }
        let ran = host
            .admission()
            .is_some_and(|admission| admission.run_next());
        // Behind another manager's task: that manager ends it; then this thread runs the
        // task, which nobody else would on a manual manager.
        let elsewhere = waits_for(cell).is_some_and(|a| !Arc::ptr_eq(&a.core.host, host));
        if !ran && elsewhere {
            std::thread::sleep(std::time::Duration::from_micros(200));
            continue;
        }
        if !ran && waits() {
            panic!(
                "waiting for task `{}` on a manual manager (join, wait_for): it waits, and \
                 nothing queued can wake it; advance the TestClock (or wake what it awaits) \
                 before waiting for it",
                cell.core.name().as_str()
            );
        }
    }
}

/// Cancels `cell` because a cancel travels along a chain to it (from the task it follows, or
/// from the continuation that follows it), as a step [`travel::along_chain`]; during a cancel
/// round's requests on this thread, once they are made.
pub(crate) fn cancel_along_chain(cell: &CellRef) {
    if !travel::hold_back(|| HeldBack::Cancel(cell.clone())) {
        let cell = cell.clone();
        travel::along_chain(Box::new(move || {
            cancel(&cell);
        }));
    }
}

/// The task `cell` waits for before it may start (a continuation's antecedent), if any.
fn waits_for(cell: &CellRef) -> Option<CellRef> {
    cell.core
        .features()
        .iter()
        .find_map(|feature| feature.waits_for())
}

thread_local! {
    /// While `run_all` runs on this thread: the polled bodies that woke themselves during
    /// their poll, polled again in the next call, not this one.
    static DEFERRED: RefCell<Option<Vec<CellRef>>> = RefCell::new(None);
}

/// Runs `f` (a `run_all`) with the bodies that wake themselves during their poll deferred
/// until it returns, then queued: so `run_all` ends even if a body yields forever.
pub(crate) fn deferring_self_wakes<R>(f: impl FnOnce() -> R) -> R {
    let outer = DEFERRED.with(|deferred| deferred.borrow_mut().replace(Vec::new()));
    let result = f();
    let woken = DEFERRED.with(|deferred| std::mem::replace(&mut *deferred.borrow_mut(), outer));
    for cell in woken.into_iter().flatten() {
        schedule(&cell);
    }
    result
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::dispatch::Dispatcher;
    use crate::error::{codes, TaskError};
    use crate::task::testing::{task, Log, TestHost};

    fn host() -> TestHost {
        TestHost::new(Dispatcher::worker_thread())
    }

    #[test]
    fn a_run_decides_counts_and_delivers() {
        let test = host();
        let log = Log::default();
        let (handle, cell) = task(test.spec("ran", log.callbacks()), |ctx| {
            assert_eq!(
                crate::task::context::current().map(|c| c.id()),
                Some(ctx.id())
            );
            Ok(1)
        });
        assert!(!test.host.undecided().is_zero());
        run(&cell);
        assert!(test.host.undecided().is_zero(), "the decision is counted");
        assert_eq!(log.events(), ["started"]);
        assert_eq!(handle.join().unwrap(), 1);
        run(&cell); // a second run (a stale queue entry) does nothing
        assert_eq!(log.events(), ["started"]);
    }

    #[test]
    fn a_task_cancelled_while_queued_never_runs_its_body() {
        let test = host();
        let log = Log::default();
        let (handle, cell) = task::<(), _>(test.spec("queued", log.callbacks()), |_| {
            unreachable!("never runs")
        });
        assert_eq!(cancel(&cell), CancelRequest::WasQueued);
        assert_eq!(cancel(&cell), CancelRequest::Finished);
        run(&cell);
        assert_eq!(log.events(), ["cancelled"]);
        assert!(test.host.undecided().is_zero());
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
    }

    #[test]
    fn a_cancelled_running_task_is_cancelled_whatever_it_returns() {
        let test = host();
        let log = Log::default();
        let (handle, cell) = task(test.spec("running", log.callbacks()), |ctx| {
            let me = crate::task::context::current().expect("inside the body");
            assert!(!me.is_cancelled());
            Ok(ctx.id())
        });
        let canceller = cell.clone();
        let (handle2, cell2) = task(
            test.spec("canceller", Log::default().callbacks()),
            move |_| {
                // Cancels the first task while it runs (it is started below, inside this body).
                assert_eq!(canceller.core.try_start(), Start::Started);
                assert_eq!(cancel(&canceller), CancelRequest::WasRunning);
                assert_eq!(cancel(&canceller), CancelRequest::AlreadyRequested);
                Ok(())
            },
        );
        run(&cell2);
        handle2.join().unwrap();
        assert!(cell.core.is_cancelled());
        // The body of the first task returns a value; its outcome stays cancelled.
        let terminal = cell.slot.call(&cell);
        assert!(matches!(terminal, Called::Decided(Terminal::Cancelled)));
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
    }

    #[test]
    fn a_panicking_body_fails_its_task() {
        let test = host();
        let log = Log::default();
        let (handle, cell) =
            task::<(), _>(test.spec("panics", log.callbacks()), |_| panic!("body bug"));
        run(&cell);
        let error = handle.join().unwrap_err().into_app_error();
        assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
        assert!(error.message().contains("body bug"));
        assert_eq!(log.events(), ["started", "error ERR_TASK_PANICKED"]);
    }

    #[test]
    fn an_abandoned_task_fails_once_with_err_thread_spawn() {
        let test = host();
        let log = Log::default();
        let (handle, cell) =
            task::<(), _>(test.spec("stranded", log.callbacks()), |_| unreachable!());
        abandon(&cell, "no thread could start");
        abandon(&cell, "twice");
        assert_eq!(log.events(), ["error ERR_THREAD_SPAWN"]);
        let error = handle.join().unwrap_err().into_app_error();
        assert_eq!(error.code(), codes::ERR_THREAD_SPAWN);
        assert!(error.message().contains("no thread could start"));
        assert!(test.host.undecided().is_zero());
    }
}
