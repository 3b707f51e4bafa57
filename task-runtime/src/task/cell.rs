//! The shared state of one task, and the state machine that gives it exactly one outcome.
//!
//! A task is one allocation, `Arc<TaskCell<Slot<T>>>`: the non-generic [`TaskCore`] (id,
//! name, state, mailbox) followed by the typed [`Slot`](super::slot::Slot) (body, then
//! result). The registry, the pool queue and [`TaskContext`](crate::TaskContext) hold it
//! type-erased as [`CellRef`] (`Arc<TaskCell<dyn AnySlot>>`), and still reach `core` as a
//! plain field. The registry holds it weakly, so a finished task is freed once its handle,
//! its context clones and its last delivery are gone.
//!
//! (Two allocations of at most 120 bytes each, glibc's fast-bin sizes, were measured
//! against this one of 200: no difference beyond the noise in `examples/compare/`, and 8
//! bytes more per task; see BENCHMARKS.md.)
//!
//! A task points at its host ([`TaskHost`]), never at its manager: it reaches the manager's
//! admission only through the host's typed weak handle (`task::admit`).
//!
//! The cell is kept small, since every queued task costs one: what most tasks do not use
//! (a dispatcher of their own, an enabled tracing span, its features: a scope, items, a line
//! in the progress display, the latest of its name, a deadline) is boxed behind one pointer,
//! names are inline, and instants are stored as offsets from the host's creation. The core
//! knows the features only through the [`Feature`] seam (see `README.md` beside this file).
//!
//! # Exactly one outcome
//!
//! `TaskCore::state` packs the phase (queued, running, completed, failed, cancelled), a
//! cancel-requested bit and a timed-out bit (set with it by the deadline) into one atomic.
//! Only three transitions leave a non-terminal phase:
//!
//! * queued -> cancelled, made by whoever cancels a task that has not started (or queued ->
//!   failed, made by the deadline timer); that thread then owns the outcome (it stores
//!   `Cancelled`, or the timeout, and delivers `on_cancelled` or `on_error`);
//! * running -> completed | failed | cancelled, made by the worker once the body returned; it
//!   is `cancelled` whenever the cancel bit was set, whatever the body returned, and `failed`
//!   with the timeout when the timed-out bit was;
//! * queued -> failed, when no worker thread can ever run the task (the pool could start
//!   none); whoever abandons it then owns the outcome, as a canceller does.
//!
//! One step goes back: queued -> running -> queued, made by a worker that finds, right after
//! starting a task, that a cancel round began after the task was queued (see `host::rounds`);
//! the task never ran and the round decides it. If a stop request came in that moment, the
//! step back fails and the worker decides the task as it would after its body, without it.
//! (Meanwhile the task reads as `Running` for an instant, without a start time.)
//!
//! All compare-and-swap on the same atomic, so exactly one of them wins. Each transition to a
//! terminal phase happens while holding the slot's lock and stores the result in the same
//! critical section, so anyone who sees a terminal phase and then locks the slot finds the
//! result there. (The steps queued -> running -> queued decide nothing and take no lock.)

use std::sync::Arc;
use std::time::Instant;

use super::admit::TaskHost;
use super::delivery::mailbox::{Callbacks, Listeners, Mailbox, Terminal};
use super::feature::{Feature, Features};
use super::name::TaskName;
use crate::dispatch::Dispatcher;
use crate::error::AppError;
use crate::host::Stamp;
use crate::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, Ordering};
use crate::vocabulary::{CancelReason, TaskId, TaskInfo, TaskState};

pub(crate) struct TaskCell<S: ?Sized> {
    pub(crate) core: TaskCore,
    pub(crate) slot: S,
}

/// A task with its result type erased.
pub(crate) type CellRef = Arc<TaskCell<dyn AnySlot>>;

/// The typed half of a task, reached through the type-erased `CellRef`.
pub(crate) trait AnySlot: Send + Sync {
    /// Calls the body with a context of `cell` (the task is already `Running`, and `cell` is
    /// the one this slot is in); if it returned, decides the outcome and stores it.
    fn call(&self, cell: &CellRef) -> Called;
    /// Polls a polled body again, if it was queued for it (`wake` said so) and is still
    /// wanted: `None` when a cancellation decided the task meanwhile.
    fn resume(&self, cell: &CellRef) -> Option<Called>;
    /// A task just started without calling its body (`run::start_waiting`): its first call
    /// is to be queued as a poll (`Waiting { again: true }`), unless a stop request came
    /// meanwhile, which decides it now.
    fn start_waiting(&self, cell: &CellRef) -> Called;
    /// A polled body's waker was called: whether the caller must queue its next poll (it was
    /// parked); a body being polled is queued again after its poll; an ended task ignores it.
    fn wake(&self) -> bool;
    /// Whether a polled body is parked between polls (waiting for its waker, or queued for its
    /// next poll): nobody is running it now.
    fn parked(&self, core: &TaskCore) -> bool;
    /// Decides a task that a stop request reached in the moment it was running, before its
    /// body ran (`Start::Stopped`): stores the outcome and drops the body.
    fn skip(&self, core: &TaskCore) -> Terminal;
    /// Requests cancellation. For a queued task this decides `Cancelled`, stores it and drops
    /// the body; for a polled body parked between polls it decides the outcome too, and
    /// gives back the body to be dropped by a worker. The caller then delivers the outcome.
    fn cancel(&self, core: &TaskCore, why: Stop, silence: Silence) -> Stopping;
    /// Fails a task that is still queued and can never run (no thread could start): decides
    /// `Failed` with `error`, stores it and drops the body. Returns whether it was queued.
    fn abandon(&self, core: &TaskCore, error: &AppError) -> bool;
}

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETED: u8 = 2;
const FAILED: u8 = 3;
const CANCELLED: u8 = 4;
const PHASE: u8 = 0b0111;
const CANCEL_REQUESTED: u8 = 0b1000;
/// Set with `CANCEL_REQUESTED` by the deadline (or a failure of the task's own work, with
/// `FAILURE` as its reason): the outcome is `Failed` (a timeout, or that failure), not
/// `Cancelled`.
const TIMED_OUT: u8 = 0b1_0000;
/// The reason bits of a stop made by a failure of the task's own work (`Stop::Failed`).
const FAILURE: u8 = 5 << 5;
/// Set with `CANCEL_REQUESTED` by a cancellation: why (see [`reason_bits`]).
const REASON: u8 = 0b1110_0000;
/// What a stop request leaves in the state word besides the phase.
const REQUEST: u8 = CANCEL_REQUESTED | TIMED_OUT | REASON;

fn reason_bits(reason: CancelReason) -> u8 {
    let code = match reason {
        CancelReason::Requested | CancelReason::Deadline => 1,
        CancelReason::ScopeClosed => 2,
        CancelReason::Superseded => 3,
        CancelReason::Shutdown => 4,
        CancelReason::Failed => 5,
    };
    code << 5
}

/// Why a task is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `cancel`, for a reason: the outcome is `Cancelled`.
    Cancel(CancelReason),
    /// The deadline passed: the outcome is a timeout (`Failed`), unless a cancel came first.
    Deadline,
    /// Part of the task's own work failed (an item of a map): the outcome is that failure,
    /// which a feature of the task recorded ([`Feature::failure`]), unless a stop came first.
    Failed,
}

/// What [`TaskCore::try_start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// queued -> running: the caller runs the body.
    Started,
    /// The task was not queued (cancelled, or started already): nothing to do.
    NotQueued,
    /// A cancel round that began after the task was queued stops it: it stays queued, and that
    /// round's walk (which holds it) decides it. The caller lets go of it.
    Held,
    /// As `Held`, but a stop request reached the task in the moment it was running: it is
    /// still running, and the caller decides its outcome without running the body.
    Stopped,
}

/// Whether a cancellation also silences the task: none of its callbacks starts from then on.
/// Decided under the slot's lock with the request, so only the call that cancels the task
/// silences it (one that completed meanwhile keeps its `on_complete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Silence {
    No,
    Yes,
}

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

/// What a stop request did to a task's slot.
pub(crate) struct Stopping {
    pub(crate) request: CancelRequest,
    /// A polled body parked between polls was decided by the request: its outcome, and the
    /// body, for a worker to drop.
    pub(crate) decided: Option<(Terminal, Box<dyn Send>)>,
}

impl From<CancelRequest> for Stopping {
    fn from(request: CancelRequest) -> Self {
        Stopping {
            request,
            decided: None,
        }
    }
}

/// What one call of a task's body did ([`AnySlot::call`]).
pub(crate) enum Called {
    /// The outcome is decided and stored.
    Decided(Terminal),
    /// A polled body waits, parked in the slot; `again`: it was woken during its poll, and
    /// its next poll must be queued.
    Waiting { again: bool },
}

/// The non-generic part of a task.
pub(crate) struct TaskCore {
    pub(crate) id: TaskId,
    pub(crate) host: Arc<TaskHost>,
    name: TaskName,
    /// Nanoseconds since the host's epoch: its admission, or when its gate opened (a
    /// continuation's queue wait begins when its antecedent ends).
    queued_at: AtomicU64,
    /// Nanoseconds since the host's epoch, plus one; 0 until the body starts.
    started_at: AtomicU64,
    /// The cancel rounds begun before the task was queued (`Stamp::NONE` until then): a round
    /// that began later and cancels it (`cancel_all`, its scope's) keeps it from starting.
    /// Worth its 8 bytes: it is what makes those calls race with nothing (guarantee 16).
    stamp: AtomicU64,
    extras: Option<Box<Extras>>,
    pub(crate) priority: i32,
    state: AtomicU8,
    /// Cancelled by its scope (or superseded by a newer task of its name): deliver nothing
    /// more.
    silenced: AtomicBool,
    pub(crate) listeners: Listeners,
    mailbox: Mailbox,
    #[cfg(feature = "debug-counters")]
    _live: crate::debug::LiveTask,
}

/// What few tasks have, kept out of line: made by the builder when the task has any of it
/// (then its features are written into it once, with no copy of their own), or by the cell
/// for a span.
///
/// At most 120 bytes (a size test keeps it so): glibc serves such a box from its fast bins,
/// which a worker frees into without the arena lock that the submitting thread's allocations
/// take. At 152 bytes, with the span inline, every task with a feature paid a contended
/// arena lock on the way: 30-65% more time per task in `examples/compare/` (scope,
/// timeout, items rows), for the same instructions.
#[derive(Default)]
pub(crate) struct Extras {
    dispatcher: Option<Dispatcher>,
    /// Boxed: 40 bytes inline, and only made while a subscriber wants task spans.
    span: Option<Box<tracing::Span>>,
    /// What the task carries besides its body and callbacks, each heard at the moments of
    /// its life (see [`Feature`]).
    features: Features,
}

impl Extras {
    /// The task's callbacks run on `dispatcher` rather than the manager's.
    pub(crate) fn dispatch_on(&mut self, dispatcher: Dispatcher) {
        self.dispatcher = Some(dispatcher);
    }

    /// The task carries `feature`.
    pub(crate) fn carry(&mut self, feature: Arc<dyn Feature>) {
        self.features.push(feature);
    }
}

/// Everything a task is made of, before it is submitted.
pub(crate) struct TaskSpec {
    /// Given by the builder (its features may need it before the task exists).
    pub(crate) id: TaskId,
    pub(crate) host: Arc<TaskHost>,
    pub(crate) name: TaskName,
    pub(crate) priority: i32,
    pub(crate) callbacks: Option<Box<Callbacks>>,
    /// Its own dispatcher and its features, if it has any.
    pub(crate) extras: Option<Box<Extras>>,
}

impl TaskCore {
    /// The non-generic part of a new queued task (see `TaskCell::new`, beside the slot).
    /// Inlined: the core is then written in place into the task's allocation, not copied.
    #[inline(always)]
    pub(crate) fn new(spec: TaskSpec) -> TaskCore {
        let id = spec.id;
        // A span only costs memory when a subscriber wants it.
        let span = tracing::info_span!("task", id = id.as_u64(), name = %spec.name);
        let mut extras = spec.extras;
        if !span.is_disabled() {
            extras.get_or_insert_with(Box::default).span = Some(Box::new(span));
        }
        let listeners = Listeners::new(spec.callbacks.as_deref());
        TaskCore {
            id,
            name: spec.name,
            queued_at: AtomicU64::new(spec.host.since_epoch()),
            mailbox: Mailbox::new(spec.callbacks),
            host: spec.host,
            started_at: AtomicU64::new(0),
            stamp: AtomicU64::new(Stamp::NONE.to_bits()),
            extras,
            priority: spec.priority,
            state: AtomicU8::new(QUEUED),
            silenced: AtomicBool::new(false),
            listeners,
            #[cfg(feature = "debug-counters")]
            _live: crate::debug::LiveTask::new(),
        }
    }

    pub(crate) fn name(&self) -> &TaskName {
        &self.name
    }

    pub(crate) fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    /// Where this task's callbacks run.
    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        match self.extras.as_ref().and_then(|e| e.dispatcher.as_ref()) {
            Some(own) => own,
            None => self.host.dispatcher(),
        }
    }

    /// Which task this is, for signals and displays: the one place a `TaskInfo` is made.
    pub(crate) fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name().as_str().to_owned(),
        }
    }

    /// What the task carries besides its body and callbacks (see [`Feature`]).
    pub(crate) fn features(&self) -> &Features {
        static NONE: Features = Features::NONE;
        self.extras.as_ref().map_or(&NONE, |e| &e.features)
    }

    /// The task's feature of type `F`, for that feature's own code (a scope finding the node a
    /// task belongs to): a feature finds its own part, never anything else.
    pub(crate) fn feature<F: Feature + 'static>(&self) -> Option<Arc<F>> {
        let found = self.features().iter().find(|f| f.as_any().is::<F>())?;
        Arc::clone(found).as_any_arc().downcast::<F>().ok()
    }

    /// The error of a task stopped with one (`Stop::Deadline`, `Stop::Failed`): the failure
    /// a feature recorded, or the timeout of its deadline feature.
    pub(crate) fn stop_error(&self) -> AppError {
        let failed = self.state.load(Ordering::Acquire) & REASON == FAILURE;
        let features = self.features();
        failed
            .then(|| features.iter().find_map(|feature| feature.failure(self)))
            .flatten()
            .or_else(|| {
                features
                    .iter()
                    .find_map(|feature| feature.timeout_error(self))
            })
            .unwrap_or_else(|| AppError::timed_out(self.name().as_str(), Default::default()))
    }

    /// Enters the task's tracing span, if a subscriber wanted one.
    pub(crate) fn enter_span(&self) -> Option<tracing::span::Entered<'_>> {
        self.extras
            .as_ref()
            .and_then(|e| e.span.as_ref())
            .map(|span| span.enter())
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

    /// No callback of this task that has not started will: its scope cancelled it, or a
    /// newer task of its name replaced it. `SeqCst`, as a scope's close: once the call that
    /// silenced it returned on the dispatcher's thread, that thread's deliveries see it.
    pub(crate) fn silence(&self) {
        self.silenced.store(true, Ordering::SeqCst);
    }

    /// Whether the task's callbacks that have not run yet never will: silenced, or one of its
    /// features says so (its scope is closed, a newer task of its name replaced it).
    pub(crate) fn is_silenced(&self) -> bool {
        self.silenced.load(Ordering::SeqCst)
            || self.features().iter().any(|feature| feature.silences(self))
    }

    pub(crate) fn queued_at(&self) -> Instant {
        self.host.instant_at(self.queued_at.load(Ordering::Relaxed))
    }

    /// The task is queued now, after waiting behind a gate since its admission.
    pub(crate) fn queued_now(&self) {
        self.queued_at
            .store(self.host.since_epoch(), Ordering::Relaxed);
    }

    pub(crate) fn started_at(&self) -> Option<Instant> {
        match self.started_at.load(Ordering::Acquire) {
            0 => None,
            since => Some(self.host.instant_at(since - 1)),
        }
    }

    /// The task is listed in its scope and in the registry, and about to be queued: from now
    /// on, a cancel round that begins stops it from starting (see `host::rounds`).
    pub(crate) fn stamp(&self, stamp: Stamp) {
        // Published to the worker by the pool's queue.
        self.stamp.store(stamp.to_bits(), Ordering::Relaxed);
    }

    /// queued -> running, unless a cancel round that began after the task was queued has
    /// reached its mark: then the task stays queued for that round to decide (see
    /// `host::rounds`). Fails if the task is no longer queued (cancelled, or already run by a
    /// joining worker whose queue entry comes up later).
    pub(crate) fn try_start(&self) -> Start {
        // `SeqCst` here and on the marks (no fence: loom cannot tell, and it would cost every
        // start): if the check below misses a mark, this step came before the mark was set,
        // so the task was running when the round began, and its walk finds it so.
        if self
            .state
            .compare_exchange(QUEUED, RUNNING, Ordering::SeqCst, Ordering::Acquire)
            .is_err()
        {
            return Start::NotQueued;
        }
        if self.stopped_by_a_round() {
            // Back to queued, for the round's walk (which holds the task) to cancel. A stop
            // request that came meanwhile (the walk, a deadline) makes this fail.
            return match self.state.compare_exchange(
                RUNNING,
                QUEUED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => Start::Held,
                Err(_) => Start::Stopped,
            };
        }
        let since = self.host.since_epoch();
        self.started_at
            .store(since.saturating_add(1), Ordering::Release);
        Start::Started
    }

    /// Whether a cancel round of the manager (`cancel_all`) or of one of the task's features
    /// (its scope, or an ancestor) began after the task was queued.
    fn stopped_by_a_round(&self) -> bool {
        let stamp = Stamp::from_bits(self.stamp.load(Ordering::Relaxed));
        let rounds = self.host.rounds();
        !rounds.none_since(stamp)
            && (self.host.all_cancelled().stops(stamp)
                || self.features().iter().any(|feature| feature.stops(stamp)))
    }

    /// A request to stop, for `why`. For a deadline the outcome is `Failed` (a timeout),
    /// decided now for a queued task; a cancellation requested before wins (the task stays
    /// `Cancelled`). Must be called with the slot locked (see the module docs).
    ///
    /// Transitions are compare-and-swap first, guessing the common current state, rather than
    /// load-then-CAS: one atomic operation less on the usual path, and loom's DPOR only sees
    /// the race with a concurrent reader when the writer's first access is the write.
    pub(crate) fn request_stop(&self, why: Stop) -> CancelRequest {
        match why {
            Stop::Cancel(reason) => {
                let request = CANCEL_REQUESTED | reason_bits(reason);
                self.request(CANCELLED | request, request)
            }
            Stop::Deadline => self.request(
                FAILED | CANCEL_REQUESTED | TIMED_OUT,
                CANCEL_REQUESTED | TIMED_OUT,
            ),
            Stop::Failed => self.request(
                FAILED | CANCEL_REQUESTED | TIMED_OUT | FAILURE,
                CANCEL_REQUESTED | TIMED_OUT | FAILURE,
            ),
        }
    }

    /// A request to stop: a queued task becomes `queued`, a running one gets `running` bits.
    fn request(&self, queued: u8, running: u8) -> CancelRequest {
        let mut s = QUEUED;
        loop {
            let (next, result) = match s & PHASE {
                QUEUED => (queued, CancelRequest::WasQueued),
                RUNNING if s & CANCEL_REQUESTED != 0 => return CancelRequest::AlreadyRequested,
                RUNNING => (s | running, CancelRequest::WasRunning),
                _ => return CancelRequest::Finished,
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if result == CancelRequest::WasQueued {
                        decided_fence();
                    }
                    return result;
                }
                Err(actual) => s = actual,
            }
        }
    }

    /// Why the task was asked to stop, if it was: the first request's reason.
    pub(crate) fn cancel_reason(&self) -> Option<CancelReason> {
        let s = self.state.load(Ordering::Acquire);
        if s & CANCEL_REQUESTED == 0 {
            return None;
        }
        if s & TIMED_OUT != 0 {
            return Some(if s & REASON == FAILURE {
                CancelReason::Failed
            } else {
                CancelReason::Deadline
            });
        }
        Some(match (s & REASON) >> 5 {
            2 => CancelReason::ScopeClosed,
            3 => CancelReason::Superseded,
            4 => CancelReason::Shutdown,
            _ => CancelReason::Requested,
        })
    }

    /// Whether the deadline stopped the task (its outcome is then a timeout).
    pub(crate) fn timed_out(&self) -> bool {
        self.state.load(Ordering::Acquire) & TIMED_OUT != 0
    }

    /// queued -> failed: the task can never run (no worker thread could start). Must be
    /// called with the slot locked. Returns whether the task was still queued.
    pub(crate) fn abandon(&self) -> bool {
        let abandoned = self
            .state
            .compare_exchange(QUEUED, FAILED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if abandoned {
            decided_fence();
        }
        abandoned
    }

    /// running -> terminal, once the body returned. Must be called with the slot locked.
    pub(crate) fn decide(&self, succeeded: bool) -> TaskState {
        let mut s = RUNNING; // the usual case: nobody asked to cancel
        loop {
            debug_assert_eq!(
                s & PHASE,
                RUNNING,
                "only a running task is decided by its worker"
            );
            let phase = if s & TIMED_OUT != 0 {
                FAILED
            } else if s & CANCEL_REQUESTED != 0 {
                CANCELLED
            } else if succeeded {
                COMPLETED
            } else {
                FAILED
            };
            match self.state.compare_exchange(
                s,
                phase | (s & REQUEST),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        decided_fence();
        self.state()
    }
}

/// A task was just decided. The fence orders that decision before the deciding thread's
/// next reads: "was the handle dropped?" (when storing the outcome) and "does anybody wait
/// for the undecided count to drop?" (when counting the decision). Each pairs with the
/// other side's "say so, fence, then read the state", so at least one of the two sees the
/// other. (A `SeqCst` fence rather than `SeqCst` accesses: loom models the former exactly,
/// the latter only as `AcqRel`.)
fn decided_fence() {
    fence(Ordering::SeqCst);
}

/// Every queued task costs one cell: BENCHMARKS.md counts on this size (the cell is most of
/// the bytes per queued task). A new field must find room or say why it is worth 8 bytes (the
/// stamp, the last to come, says so).
#[cfg(all(
    test,
    target_pointer_width = "64",
    not(feature = "debug-counters"),
    not(loom)
))]
mod size {
    use std::mem::size_of;

    #[test]
    fn a_task_cell_stays_small() {
        assert_eq!(size_of::<super::TaskCore>(), 136);
        assert_eq!(size_of::<super::super::slot::Slot<()>>(), 56);
        assert_eq!(
            size_of::<super::TaskCell<super::super::slot::Slot<()>>>(),
            192
        );
    }

    /// Within glibc's fast-bin sizes (see [`Extras`](super::Extras)).
    #[test]
    fn the_rare_parts_fit_a_fast_bin() {
        assert!(
            size_of::<super::Extras>() <= 120,
            "{}",
            size_of::<super::Extras>()
        );
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
