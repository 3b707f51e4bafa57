//! [`Slot`]: the typed half of a task: its body, then its result, and who waits for it.
//!
//! Every terminal transition of the state machine (`TaskCore::decide`, `request_cancel`)
//! happens while this slot is locked, and the result is published in the same critical
//! section (see `cell`'s module docs).

use std::task::Waker;
use std::time::Instant;

use super::body::BoxBody;
use super::cell::{CancelRequest, TaskCore};
use crate::delivery::Terminal;
use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::{lock, Condvar, Mutex, MutexGuard};
use crate::{unwind, AppError, TaskContext, TaskError, TaskState};

/// The typed half of a task, reached through the type-erased `CellRef`.
pub(crate) trait AnySlot: Send + Sync {
    /// Runs the body (the task is already `Running`), decides the outcome and publishes it.
    fn run(&self, core: &TaskCore, ctx: &TaskContext) -> Terminal;
    /// Requests cancellation. For a queued task this decides `Cancelled`, publishes it and
    /// drops the body; the caller then delivers the outcome.
    fn cancel(&self, core: &TaskCore) -> CancelRequest;
    /// Fails a task that is still queued and can never run (no thread could start): decides
    /// `Failed` with `error`, publishes it and drops the body. Returns whether it was queued.
    fn abandon(&self, core: &TaskCore, error: &AppError) -> bool;
}

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
}

/// The body and the result are never there at once: one field holds either.
enum Stage<T> {
    /// Queued: the body waits for a worker.
    Waiting(BoxBody<T>),
    /// The body was taken to run (or to be dropped by a cancellation); no outcome yet.
    Running,
    /// The outcome, until the handle takes it.
    Ready(Result<T, TaskError>),
    /// The handle took the outcome, or was dropped: nothing more to read, ever.
    Taken,
}

impl<T> Stage<T> {
    fn is_published(&self) -> bool {
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

impl<T> Slot<T> {
    pub(crate) fn new(body: BoxBody<T>) -> Self {
        Slot {
            inner: Mutex::new(SlotInner {
                stage: Stage::Waiting(body),
                waker: None,
                joiners: 0,
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
    fn publish_value(
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
    fn publish_error(
        &self,
        core: &TaskCore,
        mut inner: MutexGuard<'_, SlotInner<T>>,
        error: TaskError,
    ) {
        inner.stage = Stage::Ready(Err(error));
        self.notify(core, inner);
    }

    /// The outcome is stored: wakes whoever waits for it. The waker is user code (an
    /// executor's): a panic in it is reported like a callback's, and the task's delivery goes
    /// on.
    fn notify(&self, core: &TaskCore, mut inner: MutexGuard<'_, SlotInner<T>>) {
        let waker = inner.waker.take();
        let notify = inner.joiners > 0;
        drop(inner);
        if notify {
            self.joined.notify_all();
        }
        if let Some(waker) = waker {
            if let Err(panic) = unwind::catch(move || waker.wake()) {
                core.manager
                    .report_user_panic("the waker of an awaited handle", core, &panic);
            }
        }
    }

    /// The handle's view: take the result if it is there.
    pub(crate) fn try_take(&self) -> Option<Result<T, TaskError>> {
        lock(&self.inner).stage.take_result()
    }

    /// Blocks until the result is published (or `deadline` passes); returns whether it was.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut inner = lock(&self.inner);
        while !inner.stage.is_published() {
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

    /// Takes the result for `join`: blocks until published.
    pub(crate) fn join(&self) -> Result<T, TaskError> {
        self.wait(None);
        match lock(&self.inner).stage.take_result() {
            Some(result) => result,
            None => panic!("Task::join called after the result was taken with try_take or .await"),
        }
    }

    /// The `Future` view: the result, or register `waker` for when it is published.
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
    /// Pairs with the worker's "decide, then is it detached?" in [`publish`](Self::publish):
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
    fn run(&self, core: &TaskCore, ctx: &TaskContext) -> Terminal {
        let body = lock(&self.inner).stage.take_body();
        let Some(body) = body else {
            // Unreachable: a task starts once and its body is only taken here or by a
            // cancellation of a queued task, which forbids the start.
            return Terminal::Cancelled;
        };
        let output = unwind::catch(|| body.run(ctx));
        // A failure gets its final form before the decision and outside the lock: the
        // manager's `map_error` is user code. (A task already cancelled is not mapped: its
        // outcome is `Cancelled` whatever it returned.)
        let failure = match &output {
            Ok(Ok(_)) => None,
            _ if core.is_cancelled() => None,
            Ok(Err(error)) => Some(core.manager.task_error(core, error.clone())),
            Err(panic) => Some(core.manager.task_error(
                core,
                AppError::panicked(core.name.as_str(), panic.message()),
            )),
        };
        let inner = lock(&self.inner);
        let state = core.decide(matches!(output, Ok(Ok(_))));
        match output {
            Ok(Ok((value, completion))) if state == TaskState::Completed => {
                if let Some(unread) = self.publish_value(core, inner, value) {
                    core.manager.drop_user_value(unread, core);
                }
                Terminal::Completed(completion)
            }
            Ok(Err(_)) | Err(_) if state == TaskState::Failed => {
                // The cancel bit never clears: a task decided `Failed` had none when its
                // failure was mapped above.
                let error = failure.expect("a failed task's error is mapped before it is decided");
                self.publish_error(core, inner, TaskError::Failed(error.clone()));
                Terminal::Failed(error)
            }
            output => {
                // Cancelled: whatever the body produced is dropped unread.
                self.publish_error(core, inner, TaskError::Cancelled);
                match output {
                    Ok(Ok(produced)) => core.manager.drop_user_value(produced, core),
                    Ok(Err(_)) => {}
                    Err(panic) => tracing::warn!(
                        panic = panic.message(),
                        "cancelled task panicked; its outcome stays cancelled"
                    ),
                }
                Terminal::Cancelled
            }
        }
    }

    fn cancel(&self, core: &TaskCore) -> CancelRequest {
        let inner = lock(&self.inner);
        let request = core.request_cancel();
        if request == CancelRequest::WasQueued {
            let mut inner = inner;
            let body = inner.stage.take_body();
            self.publish_error(core, inner, TaskError::Cancelled);
            if let Some(body) = body {
                core.manager.drop_user_value(body, core);
            }
        }
        request
    }

    fn abandon(&self, core: &TaskCore, error: &AppError) -> bool {
        let mut inner = lock(&self.inner);
        if !core.abandon() {
            return false;
        }
        let body = inner.stage.take_body();
        self.publish_error(core, inner, TaskError::Failed(error.clone()));
        if let Some(body) = body {
            core.manager.drop_user_value(body, core);
        }
        true
    }
}
