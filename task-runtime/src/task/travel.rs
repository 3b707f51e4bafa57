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
pub(crate) type Step = Box<dyn FnOnce()>;

// Loom's under `cfg(loom)`, which takes no `const { .. }` block.
thread_local! {
    /// During the requests of a cancel round on this thread: what they set travelling.
    #[allow(clippy::missing_const_for_thread_local)]
    static ROUND: RefCell<Option<Vec<HeldBack>>> = RefCell::new(None);

    /// While an outcome travels along a chain on this thread: the steps it reached since.
    #[allow(clippy::missing_const_for_thread_local)]
    static ALONG: RefCell<Option<Vec<Step>>> = RefCell::new(None);
}

/// Runs a round's `requests`, holding back what they set travelling; returns their result and
/// what was held back, for the caller to do once the requests are followed up.
pub(crate) fn holding_back<R>(requests: impl FnOnce() -> R) -> (R, Vec<HeldBack>) {
    let outer = ROUND.with(|round| round.borrow_mut().replace(Vec::new()));
    let result = requests();
    let held = ROUND.with(|round| std::mem::replace(&mut *round.borrow_mut(), outer));
    (result, held.unwrap_or_default())
}

/// Holds `what` back if a round's requests run on this thread; gives it back otherwise.
pub(crate) fn hold_back(what: HeldBack) -> Option<HeldBack> {
    ROUND.with(|round| match &mut *round.borrow_mut() {
        Some(held) => {
            held.push(what);
            None
        }
        None => Some(what),
    })
}

/// Runs `step`, or queues it for the call already running steps on this thread (see the
/// module docs); returns once every step queued meanwhile ran.
pub(crate) fn along_chain(step: Step) {
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
    let _outermost = Restore::<Step>(None, &ALONG);
    step();
    while let Some(next) = ALONG.with(|along| along.borrow_mut().as_mut().and_then(Vec::pop)) {
        next();
    }
}

/// Runs user code `f` as if nothing travelled on this thread (see the module docs).
pub(crate) fn outside<R>(f: impl FnOnce() -> R) -> R {
    let along = ALONG.with(|along| along.borrow_mut().take());
    let round = ROUND.with(|round| round.borrow_mut().take());
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
