//! How an outcome travels from task to task on one thread: a cancel along a chain of
//! continuations (both ways), a failure passed on, a combinator's inputs cancelled, a wake.
//!
//! Two thread-local lists keep that from going wrong:
//! - **During a cancel round's requests** ([`holding_back`]), what the round's own requests
//!   set travelling (a continuation reached, a combinator woken by an input the round
//!   cancelled) waits until they are made: the round must reach, count and silence the tasks
//!   of its snapshot itself, before any of them can decide on its own.
//! - **Along a chain** ([`along_chain`]), each step that comes while another runs on this
//!   thread is queued for the outermost call, which runs them in turn: a chain of 100,000
//!   continuations takes no stack frame per step.
//!
//! User code that runs meanwhile (a callback delivered inline) runs [`outside`] both: what it
//! cancels travels on its own and is done when its call returns.

use std::cell::RefCell;

use super::cell::CellRef;
use crate::sync::thread_local;

/// What a round's requests set travelling, done once they are made.
pub(crate) enum HeldBack {
    /// A continuation a cancel reached.
    Cancel(CellRef),
    /// A parked body woken (a combinator whose input was cancelled): its poll is queued.
    Poll(CellRef),
}

/// One step of an outcome travelling along a chain of tasks.
pub(crate) type ChainStep = Box<dyn FnOnce()>;

// Loom's under `cfg(loom)`, which takes no `const { .. }` block.
thread_local! {
    /// During the requests of a cancel round on this thread: what they set travelling.
    #[allow(clippy::missing_const_for_thread_local)]
    static ROUND: RefCell<Option<Vec<HeldBack>>> = RefCell::new(None);

    /// While an outcome travels along a chain on this thread: the steps it reached since.
    #[allow(clippy::missing_const_for_thread_local)]
    static ALONG: RefCell<Option<Vec<ChainStep>>> = RefCell::new(None);
}

/// Runs a round's `requests`, holding back what they set travelling; returns their result and
/// what was held back, for the caller to do once the requests are followed up.
pub(crate) fn holding_back<R>(requests: impl FnOnce() -> R) -> (R, Vec<HeldBack>) {
    let outer = ROUND.with(|round| round.borrow_mut().replace(Vec::new()));
    // Also if `requests` unwinds: a list left behind would hold every later wake back.
    let restore = Restore(outer, &ROUND);
    let result = requests();
    let held = ROUND.with(|round| round.borrow_mut().take());
    drop(restore);
    (result, held.unwrap_or_default())
}

/// Holds back what `what` makes if a round's requests run on this thread; whether it did.
pub(crate) fn hold_back(what: impl FnOnce() -> HeldBack) -> bool {
    ROUND.with(|round| match &mut *round.borrow_mut() {
        Some(held) => {
            held.push(what());
            true
        }
        None => false,
    })
}

/// Runs `step`, or, when a call on this thread already runs steps, queues it for that call
/// and returns at once (see the module docs). The outermost call returns once every step
/// queued meanwhile ran; a step that panics is reported and the others still run.
pub(crate) fn along_chain(step: ChainStep) {
    let first = ALONG.with(|along| {
        let mut along = along.borrow_mut();
        if let Some(later) = along.as_mut() {
            later.push(step);
            return None;
        }
        *along = Some(Vec::new());
        Some(step)
    });
    let Some(step) = first else {
        return;
    };
    let _outermost = Restore::<ChainStep>(None, &ALONG);
    run_step(step);
    while let Some(next) = ALONG.with(|along| along.borrow_mut().as_mut().and_then(Vec::pop)) {
        run_step(next);
    }
}

/// Runs one step; a panic (a user value's `Drop`, say) must not lose the steps queued after
/// it, whose tasks would never be decided.
fn run_step(step: ChainStep) {
    if let Err(panic) = crate::unwind::catch(step) {
        tracing::error!(
            panic = panic.message(),
            "a step along a chain of tasks panicked"
        );
    }
}

/// Runs user code `f` as if nothing travelled on this thread (see the module docs).
pub(crate) fn outside<R>(f: impl FnOnce() -> R) -> R {
    let along = ALONG.with(|along| along.borrow_mut().take());
    let round = ROUND.with(|round| round.borrow_mut().take());
    if along.is_none() && round.is_none() {
        // The usual case (every inline delivery): nothing to put back.
        return f();
    }
    let _along = Restore(along, &ALONG);
    let _round = Restore(round, &ROUND);
    f()
}

/// Puts a list back as it was when dropped, also if the code between unwinds.
struct Restore<T: 'static>(
    Option<Vec<T>>,
    &'static crate::sync::LocalKey<RefCell<Option<Vec<T>>>>,
);

impl<T> Drop for Restore<T> {
    fn drop(&mut self) {
        let value = self.0.take();
        let _ = self.1.try_with(|list| *list.borrow_mut() = value);
    }
}
