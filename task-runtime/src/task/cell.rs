//! The shared state of one task, and the state machine that gives it exactly one outcome.
//!
//! A task is one allocation, `Arc<TaskCell<Slot<T>>>`: the non-generic [`TaskCore`] (id,
//! name, state, delivery) followed by the typed [`Slot`] (body, then result). The registry,
//! the pool queue and [`TaskContext`] hold it type-erased as [`CellRef`]
//! (`Arc<TaskCell<dyn AnySlot>>`), and still reach `core` as a plain field.
//!
//! # Exactly one outcome
//!
//! `TaskCore::state` packs the phase (queued, running, completed, failed, cancelled) and a
//! cancel-requested bit into one atomic. Only two transitions leave a non-terminal phase:
//!
//! * queued -> cancelled, made by whoever cancels a task that has not started; that thread
//!   then owns the outcome (it publishes `Cancelled` and delivers `on_cancelled`);
//! * running -> completed | failed | cancelled, made by the worker once the body returned; it
//!   is `cancelled` whenever the cancel bit was set, whatever the body returned.
//!
//! Both compare-and-swap on the same atomic, so exactly one of them wins. Both happen while
//! holding the slot's lock and publish the result in the same critical section, so anyone who
//! sees a terminal phase and then locks the slot finds the result there.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::time::Instant;

use super::{TaskId, TaskState};
use crate::delivery::{Delivery, Terminal};
use crate::manager::ManagerCore;
use crate::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use crate::sync::{lock, Condvar, Mutex};
use crate::task::builder::{BoxBody, Done};
use crate::unwind;
use crate::{AppError, Exclusive, TaskContext, TaskError};

pub(crate) struct TaskCell<S: ?Sized> {
    pub(crate) core: TaskCore,
    pub(crate) slot: S,
}

/// A task with its result type erased.
pub(crate) type CellRef = Arc<TaskCell<dyn AnySlot>>;

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETED: u8 = 2;
const FAILED: u8 = 3;
const CANCELLED: u8 = 4;
const PHASE: u8 = 0b0111;
const CANCEL_REQUESTED: u8 = 0b1000;

/// What a cancellation request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelRequest {
    /// The task had not started; the caller decided its outcome (`Cancelled`).
    WasQueued,
    /// The task is running; the flag is now set and the worker will decide `Cancelled`.
    WasRunning,
    /// Cancellation had already been requested.
    AlreadyRequested,
    /// The outcome was already decided.
    Finished,
}

impl CancelRequest {
    /// Whether this request is the one that cancelled the task.
    pub(crate) fn newly_cancelled(self) -> bool {
        matches!(self, CancelRequest::WasQueued | CancelRequest::WasRunning)
    }
}

/// The non-generic part of a task.
pub(crate) struct TaskCore {
    pub(crate) id: TaskId,
    pub(crate) name: TaskName,
    pub(crate) priority: i32,
    // Stored now, read once progress displays exist.
    #[allow(dead_code)]
    pub(crate) show_progress: bool,
    pub(crate) exclusive: Option<Exclusive>,
    state: AtomicU8,
    /// A newer `Exclusive::CancelPrevious` task of this name started: deliver nothing more.
    superseded: AtomicBool,
    pub(crate) queued_at: Instant,
    started_at: OnceLock<Instant>,
    pub(crate) span: tracing::Span,
    pub(crate) manager: Arc<ManagerCore>,
    pub(crate) delivery: Delivery,
    #[cfg(feature = "debug-counters")]
    _live: crate::debug::LiveTask,
}

pub(crate) struct TaskCoreInit {
    pub(crate) id: TaskId,
    pub(crate) name: TaskName,
    pub(crate) priority: i32,
    pub(crate) show_progress: bool,
    pub(crate) exclusive: Option<Exclusive>,
    pub(crate) manager: Arc<ManagerCore>,
    pub(crate) delivery: Delivery,
}

impl TaskCore {
    pub(crate) fn new(init: TaskCoreInit) -> Self {
        let span = tracing::info_span!("task", id = init.id.as_u64(), name = %init.name);
        TaskCore {
            id: init.id,
            name: init.name,
            priority: init.priority,
            show_progress: init.show_progress,
            exclusive: init.exclusive,
            state: AtomicU8::new(QUEUED),
            superseded: AtomicBool::new(false),
            queued_at: Instant::now(),
            started_at: OnceLock::new(),
            span,
            manager: init.manager,
            delivery: init.delivery,
            #[cfg(feature = "debug-counters")]
            _live: crate::debug::LiveTask::new(),
        }
    }

    pub(crate) fn state(&self) -> TaskState {
        match self.state.load(Ordering::Acquire) & PHASE {
            QUEUED => TaskState::Queued,
            RUNNING => TaskState::Running,
            COMPLETED => TaskState::Completed,
            FAILED => TaskState::Failed,
            _ => TaskState::Cancelled,
        }
    }

    /// Whether cancellation was requested (or decided).
    pub(crate) fn is_cancelled(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & CANCEL_REQUESTED != 0 || s & PHASE == CANCELLED
    }

    pub(crate) fn mark_superseded(&self) {
        self.superseded.store(true, Ordering::Release);
    }

    pub(crate) fn is_superseded(&self) -> bool {
        self.superseded.load(Ordering::Acquire)
    }

    pub(crate) fn started_at(&self) -> Option<Instant> {
        self.started_at.get().copied()
    }

    /// queued -> running. Fails if the task was cancelled while queued (or already started,
    /// which happens when a joining worker ran it inline and the queue entry comes up later).
    pub(crate) fn try_start(&self) -> bool {
        let started = self
            .state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if started {
            let _ = self.started_at.set(Instant::now());
        }
        started
    }

    /// Must be called with the slot locked (see the module docs).
    ///
    /// Transitions are compare-and-swap first, guessing the common current state, rather than
    /// load-then-CAS: one atomic operation less on the usual path, and loom's DPOR only sees
    /// the race with a concurrent reader when the writer's first access is the write.
    fn request_cancel(&self) -> CancelRequest {
        let mut s = QUEUED;
        loop {
            let (next, result) = match s & PHASE {
                QUEUED => (CANCELLED | CANCEL_REQUESTED, CancelRequest::WasQueued),
                RUNNING if s & CANCEL_REQUESTED != 0 => return CancelRequest::AlreadyRequested,
                RUNNING => (s | CANCEL_REQUESTED, CancelRequest::WasRunning),
                _ => return CancelRequest::Finished,
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return result,
                Err(actual) => s = actual,
            }
        }
    }

    /// running -> terminal, once the body returned. Must be called with the slot locked.
    fn decide(&self, succeeded: bool) -> TaskState {
        let mut s = RUNNING; // the usual case: nobody asked to cancel
        loop {
            debug_assert_eq!(
                s & PHASE,
                RUNNING,
                "only a running task is decided by its worker"
            );
            let phase = if s & CANCEL_REQUESTED != 0 {
                CANCELLED
            } else if succeeded {
                COMPLETED
            } else {
                FAILED
            };
            match self.state.compare_exchange(
                s,
                phase | (s & CANCEL_REQUESTED),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        self.state()
    }
}

/// A task's name: given by the user, or `Task-<n>` numbered per manager and formatted only
/// when somebody asks for it (most tasks never have their name read).
pub(crate) struct TaskName {
    given: Option<String>,
    number: u64,
    formatted: OnceLock<String>,
}

impl TaskName {
    pub(crate) fn new(given: Option<String>, number: u64) -> Self {
        TaskName {
            given,
            number,
            formatted: OnceLock::new(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.given {
            Some(name) => name,
            None => self
                .formatted
                .get_or_init(|| format!("Task-{}", self.number)),
        }
    }

    pub(crate) fn is(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.given {
            Some(name) => f.write_str(name),
            None => write!(f, "Task-{}", self.number),
        }
    }
}

/// The typed half of a task, reached through the type-erased [`CellRef`].
pub(crate) trait AnySlot: Send + Sync {
    /// Runs the body (the task is already `Running`), decides the outcome and publishes it.
    fn run(&self, core: &TaskCore, ctx: &TaskContext) -> Terminal;
    /// Requests cancellation. For a queued task this decides `Cancelled`, publishes it and
    /// drops the body; the caller then delivers the outcome.
    fn cancel(&self, core: &TaskCore) -> CancelRequest;
}

pub(crate) struct Slot<T> {
    inner: Mutex<SlotInner<T>>,
    joined: Condvar,
}

struct SlotInner<T> {
    body: Option<BoxBody<T>>,
    result: Option<Result<T, TaskError>>,
    /// The handle took the result (or was dropped): `result` stays empty for good.
    taken: bool,
    /// The handle is gone: nobody will read a value, so it is dropped at once.
    detached: bool,
    waker: Option<Waker>,
    joiners: usize,
}

impl<T> Slot<T> {
    pub(crate) fn new(body: BoxBody<T>) -> Self {
        Slot {
            inner: Mutex::new(SlotInner {
                body: Some(body),
                result: None,
                taken: false,
                detached: false,
                waker: None,
                joiners: 0,
            }),
            joined: Condvar::new(),
        }
    }

    /// Stores the outcome and wakes whoever waits for it. Returns a value nobody will read,
    /// for the caller to drop outside the lock.
    fn publish(
        &self,
        mut inner: crate::sync::MutexGuard<'_, SlotInner<T>>,
        result: Result<T, TaskError>,
    ) -> Option<T> {
        let unread = match result {
            Ok(value) if inner.detached => Some(value),
            result => {
                inner.result = Some(result);
                None
            }
        };
        let waker = inner.waker.take();
        let notify = inner.joiners > 0;
        drop(inner);
        if notify {
            self.joined.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
        unread
    }

    /// The handle's view: take the result if it is there.
    pub(crate) fn try_take(&self) -> Option<Result<T, TaskError>> {
        let mut inner = lock(&self.inner);
        let result = inner.result.take();
        inner.taken |= result.is_some();
        result
    }

    /// Blocks until the result is published (or `deadline` passes); returns whether it was.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut inner = lock(&self.inner);
        while inner.result.is_none() && !inner.taken {
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
        let mut inner = lock(&self.inner);
        match inner.result.take() {
            Some(result) => {
                inner.taken = true;
                result
            }
            None => panic!("Task::join called after the result was taken with try_take or .await"),
        }
    }

    /// The `Future` view: the result, or register `waker` for when it is published.
    pub(crate) fn poll(&self, waker: &Waker) -> Option<Result<T, TaskError>> {
        let mut inner = lock(&self.inner);
        if let Some(result) = inner.result.take() {
            inner.taken = true;
            return Some(result);
        }
        assert!(!inner.taken, "Task polled after its result was taken");
        match &inner.waker {
            Some(existing) if existing.will_wake(waker) => {}
            _ => inner.waker = Some(waker.clone()),
        }
        None
    }

    /// The handle was dropped: an unread value is returned for the caller to drop.
    pub(crate) fn detach(&self) -> Option<Result<T, TaskError>> {
        let mut inner = lock(&self.inner);
        inner.detached = true;
        inner.taken = true;
        inner.result.take()
    }
}

impl<T: Send + 'static> AnySlot for Slot<T> {
    fn run(&self, core: &TaskCore, ctx: &TaskContext) -> Terminal {
        let body = lock(&self.inner).body.take();
        let Some(body) = body else {
            // Unreachable: a task starts once and its body is only taken here or by a
            // cancellation of a queued task, which forbids the start.
            return Terminal::Cancelled;
        };
        let output = unwind::catch(|| body(ctx));
        let inner = lock(&self.inner);
        let succeeded = matches!(output, Ok(Ok(_)));
        match (core.decide(succeeded), output) {
            (TaskState::Completed, Ok(Ok(Done { value, deliver }))) => {
                if let Some(unread) = self.publish(inner, Ok(value)) {
                    core.manager.drop_user_value(unread, core);
                }
                Terminal::Completed(deliver)
            }
            (TaskState::Failed, Ok(Err(error))) => {
                let error = error.with_context("task", &core.name);
                self.publish(inner, Err(TaskError::Failed(error.clone())));
                Terminal::Failed(error)
            }
            (TaskState::Failed, Err(panic)) => {
                let error = AppError::panicked(core.name.as_str(), panic.message())
                    .with_context("task", &core.name);
                self.publish(inner, Err(TaskError::Failed(error.clone())));
                Terminal::Failed(error)
            }
            (_, output) => {
                // Cancelled: whatever the body produced is dropped unread.
                self.publish(inner, Err(TaskError::Cancelled));
                match output {
                    Ok(Ok(done)) => core.manager.drop_user_value(done, core),
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
            let body = inner.body.take();
            self.publish(inner, Err(TaskError::Cancelled));
            if let Some(body) = body {
                core.manager.drop_user_value(body, core);
            }
        }
        request
    }
}
