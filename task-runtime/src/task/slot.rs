//! [`Slot`]: the typed half of a task: its body, then its result, and who waits for it.
//!
//! Every terminal transition of the state machine (`TaskCore::decide`, `request_stop`,
//! `abandon`) happens while this slot is locked, and the outcome is stored in the same
//! critical section (see `cell`'s module docs).

use std::task::Waker;
use std::time::Instant;

use std::sync::Arc;

use super::body::{BoxBody, Step};
use super::cell::{
    AnySlot, Called, CancelRequest, CellRef, Silence, Stop, Stopping, TaskCell, TaskCore, TaskSpec,
};
use super::context::TaskContext;
use super::delivery::Terminal;
use crate::error::{AppError, TaskError};
use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::{lock, Condvar, Mutex, MutexGuard};
use crate::unwind;
use crate::vocabulary::{CancelReason, TaskState};

pub(crate) struct Slot<T> {
    inner: Mutex<SlotInner<T>>,
    joined: Condvar,
    /// The handle is gone: nobody will read a value, so it is dropped at once. An atomic,
    /// so that dropping the handle of an undecided task (the common fire-and-forget case)
    /// takes no lock the worker is about to take.
    detached: AtomicBool,
}

struct SlotInner<T> {
    stage: Stage<T>,
    /// Boxed: only tasks that are awaited pay for it.
    waker: Option<Box<Waker>>,
    joiners: u32,
    /// Where a polled body is between its polls (a blocking body stays `Idle`).
    polling: Polling,
}

/// A polled body's part in the slot. Changed only under the slot's lock, as the stage is:
/// a waker, a worker and a canceller agree on who has the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polling {
    /// Not a parked body: a blocking body, or one not called yet.
    Idle,
    /// A polled body parked between polls, waiting for its waker.
    Parked,
    /// Woken: its next poll is queued (`Job::Poll`).
    Queued,
    /// A worker polls it now.
    Now,
    /// A worker polls it now, and its waker was called meanwhile: it is queued again after.
    NowWoken,
}

/// The body and the result are never there at once: one field holds either.
enum Stage<T> {
    /// Queued, the body waiting for a worker; or running, a polled body parked between
    /// polls.
    Waiting(BoxBody<T>),
    /// The body was taken to run (or to be dropped by a cancellation); no outcome yet.
    Running,
    /// The outcome, until the handle takes it.
    Ready(Result<T, TaskError>),
    /// The handle took the outcome, or was dropped: nothing more to read, ever.
    Taken,
}

impl<T> Stage<T> {
    fn is_stored(&self) -> bool {
        matches!(self, Stage::Ready(_) | Stage::Taken)
    }

    fn take_body(&mut self) -> Option<BoxBody<T>> {
        match std::mem::replace(self, Stage::Running) {
            Stage::Waiting(body) => Some(body),
            other => {
                *self = other;
                None
            }
        }
    }

    fn take_result(&mut self) -> Option<Result<T, TaskError>> {
        match std::mem::replace(self, Stage::Taken) {
            Stage::Ready(result) => Some(result),
            other => {
                *self = other;
                None
            }
        }
    }
}

impl<T: Send + 'static> TaskCell<Slot<T>> {
    /// A new queued task: one allocation.
    pub(crate) fn new(spec: TaskSpec, body: BoxBody<T>) -> Arc<Self> {
        Arc::new(TaskCell {
            core: TaskCore::new(spec),
            slot: Slot::new(body),
        })
    }
}

impl<T> Slot<T> {
    pub(crate) fn new(body: BoxBody<T>) -> Self {
        Slot {
            inner: Mutex::new(SlotInner {
                stage: Stage::Waiting(body),
                waker: None,
                joiners: 0,
                polling: Polling::Idle,
            }),
            joined: Condvar::new(),
            detached: AtomicBool::new(false),
        }
    }

    /// Stores the value and wakes whoever waits for it. With the handle gone, nobody will
    /// read it: it is returned for the caller to drop outside the lock.
    ///
    /// Always inlined: a large value must not be copied once more into an argument on the
    /// worker's stack.
    #[inline(always)]
    fn store_value(
        &self,
        core: &TaskCore,
        mut inner: MutexGuard<'_, SlotInner<T>>,
        value: T,
    ) -> Option<T> {
        // Ordered after the decision by `decided_fence`.
        let unread = if self.detached.load(Ordering::Relaxed) {
            inner.stage = Stage::Taken;
            Some(value)
        } else {
            inner.stage = Stage::Ready(Ok(value));
            None
        };
        self.notify(core, inner);
        unread
    }

    /// Stores a failure or cancellation and wakes whoever waits for it.
    fn store_error(
        &self,
        core: &TaskCore,
        mut inner: MutexGuard<'_, SlotInner<T>>,
        error: TaskError,
    ) {
        inner.stage = Stage::Ready(Err(error));
        self.notify(core, inner);
    }

    /// The outcome is stored: counts the decision with the host, then wakes whoever waits
    /// for it. The waker is user code (an executor's): a panic in it is reported like a
    /// callback's, and the task's delivery goes on.
    fn notify(&self, core: &TaskCore, mut inner: MutexGuard<'_, SlotInner<T>>) {
        // Counted before the lock is released: whoever sees the outcome (`join`, `try_take`)
        // sees the count without it, so `join` then `spawn` leaves an idle moment that
        // `wait_for_all` sees. (Counted after, a join could return and the next task be
        // submitted before the count dropped: no idle moment at all.)
        core.host.decided();
        let waker = inner.waker.take();
        let notify = inner.joiners > 0;
        drop(inner);
        if notify {
            self.joined.notify_all();
        }
        if let Some(waker) = waker {
            if let Err(panic) = unwind::catch(move || waker.wake()) {
                core.host.report_panic(
                    "the waker of an awaited handle",
                    core.name().as_str(),
                    &panic,
                );
            }
        }
    }

    /// Whether the outcome was taken (`try_take`, `.await`, `join`): nothing is left to wait for.
    pub(crate) fn is_taken(&self) -> bool {
        matches!(lock(&self.inner).stage, Stage::Taken)
    }

    /// The handle's view: take the result if it is there.
    pub(crate) fn try_take(&self) -> Option<Result<T, TaskError>> {
        lock(&self.inner).stage.take_result()
    }

    /// Blocks until the outcome is stored (or `deadline` passes); returns whether it was.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut inner = lock(&self.inner);
        while !inner.stage.is_stored() {
            inner.joiners += 1;
            inner = match deadline {
                None => crate::sync::wait(&self.joined, inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        inner.joiners -= 1;
                        return false;
                    }
                    crate::sync::wait_timeout(&self.joined, inner, deadline - now).0
                }
            };
            inner.joiners -= 1;
        }
        true
    }

    /// Takes the result for `join`: blocks until it is stored.
    pub(crate) fn join(&self) -> Result<T, TaskError> {
        self.wait(None);
        match lock(&self.inner).stage.take_result() {
            Some(result) => result,
            None => panic!("Task::join called after the result was taken with try_take or .await"),
        }
    }

    /// The `Future` view: the result, or register `waker` for when it is stored.
    pub(crate) fn poll(&self, waker: &Waker) -> Option<Result<T, TaskError>> {
        let mut inner = lock(&self.inner);
        if let Some(result) = inner.stage.take_result() {
            return Some(result);
        }
        assert!(
            !matches!(inner.stage, Stage::Taken),
            "Task polled after its result was taken"
        );
        match &mut inner.waker {
            Some(existing) if existing.will_wake(waker) => {}
            Some(existing) => (**existing).clone_from(waker),
            none => *none = Some(Box::new(waker.clone())),
        }
        None
    }

    /// The handle was dropped: an unread value is returned for the caller to drop.
    ///
    /// Pairs with the worker's "decide, then is it detached?" in [`store_value`](Self::store_value):
    /// if the task is not decided yet, the worker will see the flag and drop the value itself.
    pub(crate) fn detach(&self, core: &TaskCore) -> Option<Result<T, TaskError>> {
        self.detached.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst); // pairs with `decided_fence`
        if !core.state().is_terminal() {
            return None;
        }
        let mut inner = lock(&self.inner);
        let result = inner.stage.take_result();
        inner.stage = Stage::Taken;
        result
    }
}

impl<T: Send + 'static> AnySlot for Slot<T> {
    // The value moves as few times as it can on the worker's stack (a large one would
    // overflow it): it is matched in place and written straight into the slot.
    fn call(&self, cell: &CellRef) -> Called {
        let mut inner = lock(&self.inner);
        let body = inner.stage.take_body().expect(
            "a task starts once, and its body is taken only by its start or by a cancellation \
             of the queued task, which forbids the start",
        );
        inner.polling = Polling::Now;
        drop(inner);
        self.step(cell, body)
    }

    fn resume(&self, cell: &CellRef) -> Option<Called> {
        let mut inner = lock(&self.inner);
        // Not queued any more: a cancellation decided the task and took the body.
        if inner.polling != Polling::Queued {
            return None;
        }
        let body = inner.stage.take_body()?;
        inner.polling = Polling::Now;
        drop(inner);
        Some(self.step(cell, body))
    }

    fn start_waiting(&self, cell: &CellRef) -> Called {
        let mut inner = lock(&self.inner);
        let body = inner
            .stage
            .take_body()
            .expect("a task starts once, and only a started task gives its body away");
        // As if woken during a poll: `park` queues its first poll, or decides it if stopped.
        inner.polling = Polling::NowWoken;
        drop(inner);
        self.park(&cell.core, body)
    }

    fn wake(&self) -> bool {
        let mut inner = lock(&self.inner);
        match inner.polling {
            Polling::Now => inner.polling = Polling::NowWoken,
            Polling::Parked => {
                inner.polling = Polling::Queued;
                return true;
            }
            // Queued already, or decided: a waker called after the task ended does nothing.
            Polling::Idle | Polling::Queued | Polling::NowWoken => {}
        }
        false
    }

    fn parked(&self, core: &TaskCore) -> bool {
        let inner = lock(&self.inner);
        matches!(inner.polling, Polling::Parked | Polling::Queued)
            && core.state() == TaskState::Running
    }

    fn skip(&self, core: &TaskCore) -> Terminal {
        let mut inner = lock(&self.inner);
        let body = inner.stage.take_body();
        let terminal = self.stop_now(core, inner);
        if let Some(body) = body {
            core.host.drop_user_value(body, core.name());
        }
        terminal
    }

    fn cancel(&self, core: &TaskCore, why: Stop, silence: Silence) -> Stopping {
        let inner = lock(&self.inner);
        let request = core.request_stop(why);
        if silence == Silence::Yes && request.newly_cancelled() {
            // Before the outcome below is stored and posted, and before a running body's
            // outcome can be: none of its callbacks starts any more.
            core.silence();
        }
        let mut inner = inner;
        match request {
            CancelRequest::WasQueued => {
                let body = inner.stage.take_body();
                let outcome = match why {
                    Stop::Cancel(_) => TaskError::Cancelled,
                    Stop::Deadline | Stop::Failed => TaskError::Failed(core.stop_error()),
                };
                self.store_error(core, inner, outcome);
                if let Some(body) = body {
                    core.host.drop_user_value(body, core.name());
                }
                Stopping::from(request)
            }
            // A polled body parked between polls: nobody runs it, so the outcome is decided
            // here and now; its body goes to a worker to be dropped.
            CancelRequest::WasRunning
                if matches!(inner.polling, Polling::Parked | Polling::Queued) =>
            {
                let Some(body) = inner.stage.take_body() else {
                    return Stopping::from(request);
                };
                inner.polling = Polling::Idle;
                let terminal = self.stop_now(core, inner);
                Stopping {
                    request,
                    decided: Some((terminal, Box::new(body))),
                }
            }
            _ => Stopping::from(request),
        }
    }

    fn abandon(&self, core: &TaskCore, error: &AppError) -> bool {
        let mut inner = lock(&self.inner);
        if !core.abandon() {
            return false;
        }
        let body = inner.stage.take_body();
        self.store_error(core, inner, TaskError::Failed(error.clone()));
        if let Some(body) = body {
            core.host.drop_user_value(body, core.name());
        }
        true
    }
}

impl<T: Send + 'static> Slot<T> {
    /// Decides a task that was asked to stop, from whatever its stop request says: cancelled,
    /// or failed with the timeout; stores the outcome.
    fn stop_now(&self, core: &TaskCore, inner: MutexGuard<'_, SlotInner<T>>) -> Terminal {
        match core.decide(false) {
            TaskState::Failed => {
                let error = core.stop_error();
                self.store_error(core, inner, TaskError::Failed(error.clone()));
                Terminal::Failed(error)
            }
            _ => {
                self.store_error(core, inner, TaskError::Cancelled);
                Terminal::Cancelled
            }
        }
    }

    /// A polled body gave itself back, waiting: parked until its waker queues it, or decided
    /// now if a stop request came during the poll (the body is dropped here, on the worker).
    fn park(&self, core: &TaskCore, body: BoxBody<T>) -> Called {
        let mut inner = lock(&self.inner);
        if core.is_cancelled() {
            inner.polling = Polling::Idle;
            let terminal = self.stop_now(core, inner);
            core.host.drop_user_value(body, core.name());
            return Called::Decided(terminal);
        }
        inner.stage = Stage::Waiting(body);
        let again = inner.polling == Polling::NowWoken;
        inner.polling = if again {
            Polling::Queued
        } else {
            Polling::Parked
        };
        Called::Waiting { again }
    }

    /// Calls the body once (a polled body: polls it once), and decides the outcome if it
    /// returned.
    fn step(&self, cell: &CellRef, body: BoxBody<T>) -> Called {
        let core = &cell.core;
        let ctx = TaskContext::new(cell.clone());
        let mut passed = false;
        let output = match unwind::catch(|| body.call(&ctx)) {
            Ok(Step::Waiting(body)) => return self.park(core, body),
            Ok(Step::Done(output)) => Ok(output),
            Ok(Step::Passed(error)) => {
                passed = true;
                Ok(Err(error))
            }
            Err(panic) => Err(panic),
        };
        // A failure gets its final form before the decision and outside the lock: the
        // manager's `map_error` is user code. (A task already cancelled is not mapped: its
        // outcome is `Cancelled` whatever it returned.)
        // Read only where needed: an inline name is checked as UTF-8 on every read.
        let name = || core.name().as_str();
        let failure = match &output {
            Ok(Ok(_)) => None,
            _ if core.is_cancelled() => None,
            Ok(Err(error)) if error.is_cancellation() => None,
            Ok(Err(error)) if passed => Some(error.clone()),
            Ok(Err(error)) => Some(core.host.task_error(name(), error.clone())),
            Err(panic) => Some(
                core.host
                    .task_error(name(), AppError::panicked(name(), panic.message())),
            ),
        };
        let mut inner = lock(&self.inner);
        inner.polling = Polling::Idle;
        if matches!(&output, Ok(Err(error)) if error.is_cancellation()) {
            // The body returned a cancellation (an awaited task's, say): it ends cancelled, as
            // if asked to stop.
            core.request_stop(Stop::Cancel(CancelReason::Requested));
        }
        let state = core.decide(matches!(output, Ok(Ok(_))));
        Called::Decided(match output {
            output if state == TaskState::Failed && core.timed_out() => {
                // The deadline (or a failure of its own work) stopped it: whatever the body
                // produced is dropped unread.
                let error = core.stop_error();
                self.store_error(core, inner, TaskError::Failed(error.clone()));
                if let Ok(Ok(produced)) = output {
                    core.host.drop_user_value(produced, core.name());
                }
                Terminal::Failed(error)
            }
            Ok(Ok((value, completion))) if state == TaskState::Completed => {
                if let Some(unread) = self.store_value(core, inner, value) {
                    core.host.drop_user_value(unread, core.name());
                }
                Terminal::Completed(completion)
            }
            Ok(Err(_)) | Err(_) if state == TaskState::Failed => {
                // The cancel bit never clears: a task decided `Failed` had none when its
                // failure was mapped above.
                let error = failure.expect("a failed task's error is mapped before it is decided");
                self.store_error(core, inner, TaskError::Failed(error.clone()));
                Terminal::Failed(error)
            }
            output => {
                // Cancelled: whatever the body produced is dropped unread.
                self.store_error(core, inner, TaskError::Cancelled);
                match output {
                    Ok(Ok(produced)) => core.host.drop_user_value(produced, core.name()),
                    Ok(Err(_)) => {}
                    Err(panic) => tracing::warn!(
                        panic = panic.message(),
                        "cancelled task panicked; its outcome stays cancelled"
                    ),
                }
                Terminal::Cancelled
            }
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake};
    use std::time::Duration;

    use crate::dispatch::Dispatcher;
    use crate::error::{codes, AppError, TaskError};
    use crate::task::delivery::Callbacks;
    use crate::task::run;
    use crate::task::testing::{task, TestHost};
    use crate::vocabulary::TaskState;

    use super::Ordering;

    fn host() -> TestHost {
        TestHost::new(Dispatcher::worker_thread())
    }

    /// Counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_outcome_is_taken_once() {
        let test = host();
        let (mut handle, cell) = task(test.spec("once", Callbacks::default()), |_| Ok(7));
        assert!(handle.try_take().is_none(), "nothing before the decision");
        assert!(!handle.wait_for(Duration::ZERO));
        run::run(&cell);
        assert!(handle.wait_for(Duration::MAX));
        assert_eq!(handle.try_take().map(Result::unwrap), Some(7));
        assert!(handle.try_take().is_none());
    }

    #[test]
    fn a_detached_value_is_dropped_by_whoever_comes_last() {
        let test = host();
        let drops = Arc::new(AtomicUsize::new(0));
        // Detached before the decision: the worker drops the value.
        let counted = Counted(drops.clone());
        let (handle, cell) = task(test.spec("early", Callbacks::default()), move |_| {
            Ok(counted)
        });
        drop(handle);
        run::run(&cell);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // Detached after the decision: the handle's drop does.
        let counted = Counted(drops.clone());
        let (handle, cell) = task(test.spec("late", Callbacks::default()), move |_| {
            Ok(counted)
        });
        run::run(&cell);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "kept for the handle");
        drop(handle);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_queued_cancellation_drops_the_body_unrun() {
        let test = host();
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = Counted(drops.clone());
        let (handle, cell) = task(test.spec("unrun", Callbacks::default()), move |_| {
            let _kept = &counted;
            Ok(())
        });
        assert_eq!(
            cell.slot
                .cancel(
                    &cell.core,
                    crate::task::cell::Stop::Cancel(crate::vocabulary::CancelReason::Requested),
                    crate::task::cell::Silence::No
                )
                .request,
            crate::task::cell::CancelRequest::WasQueued
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the body went with its captures"
        );
        assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        assert_eq!(
            cell.core.try_start(),
            crate::task::cell::Start::NotQueued,
            "a cancelled task never starts"
        );
    }

    struct PanickingWaker;

    impl Wake for PanickingWaker {
        fn wake(self: Arc<Self>) {
            panic!("waker bug");
        }
    }

    #[test]
    fn a_panicking_waker_is_reported_and_the_outcome_stays() {
        let test = host();
        let (handle, cell) = task(test.spec("awaited", Callbacks::default()), |_| Ok(3));
        let waker = Arc::new(PanickingWaker).into();
        let mut cx = Context::from_waker(&waker);
        let mut handle = handle;
        assert!(std::pin::Pin::new(&mut handle).poll(&mut cx).is_pending());
        run::run(&cell);
        assert_eq!(cell.core.state(), TaskState::Completed);
        assert_eq!(test.error_codes(), [codes::ERR_CALLBACK_PANICKED]);
        assert!(test.errors()[0].message().contains("waker"));
        match std::pin::Pin::new(&mut handle).poll(&mut cx) {
            Poll::Ready(Ok(3)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failure_is_mapped_before_anyone_sees_it() {
        let test = host();
        let (handle, cell) = task::<(), _>(test.spec("mapped", Callbacks::default()), |_| {
            Err(AppError::new("ERR_BODY", "no"))
        });
        run::run(&cell);
        let error = handle.join().unwrap_err().into_app_error();
        assert_eq!(error.code(), "ERR_BODY");
        assert_eq!(error.context()["task"], "mapped", "with the task's context");
    }
}
