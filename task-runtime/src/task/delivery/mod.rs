//! Delivering a task's callbacks: in order, one at a time, with progress coalesced.
//!
//! Each task has a [`Mailbox`] of pending events: "started", the latest progress, and the
//! terminal outcome. Posting an event sets it in the mailbox and, if no delivery is already
//! scheduled, hands the task's dispatcher one *drain* job (or, for worker-thread dispatch,
//! drains right away). The drain delivers whatever is due in the fixed order started ->
//! progress -> terminal and unschedules itself when the mailbox is empty. Hence:
//!
//! * at most one job per task is ever pending on a dispatcher, however often the body reports
//!   progress (guarantee 4), and it delivers the latest value;
//! * callbacks of one task never run concurrently and always in order, even with a
//!   dispatcher that reorders or parallelises jobs (guarantee 2);
//! * the progress pending when the body returns is delivered before the terminal callback;
//! * nothing is delivered after the terminal event, and no progress after cancellation
//!   (guarantee 3).
//!
//! A drain job that is dropped without running (a dispatcher that loses it, an event loop
//! that is gone) *abandons* the mailbox: an error is still reported and the host still hears
//! that the delivery is over, so nobody waits for a delivery that cannot come.
//!
//! `mailbox.rs` is the state (what is due, whether a drain must be scheduled) and is tested
//! alone; `drain.rs` delivers it through the task's host. See `README.md` beside this file for
//! the reasoning behind the design.

mod drain;
pub(crate) mod mailbox;

pub(crate) use drain::{delivering_here, post_items, post_started, post_terminal, report};
pub(crate) use mailbox::{Callbacks, Terminal};

#[cfg(all(test, not(loom)))]
mod tests;
