//! [`Losses`]: deliveries that could not run, reported to the error handler coalesced.
//!
//! A dropped `EventLoop` can take a million queued deliveries with it, and every task that
//! ends after it delivers into the void too: one `ERR_DELIVERY_LOST` per delivery would bury
//! whatever else the error handler hears. So each place deliveries are lost at (an event loop,
//! a dispatcher, a pair of threads for `local()` callbacks) counts them in one `Losses`, and
//! the handler hears of the count:
//!
//! * at most one report is pending at a time: the lost deliveries not yet reported, counted
//!   (`lost = <n>` in the report's context);
//! * the first loss is reported at once; after that, a report goes out when the pending count
//!   reaches the count reported so far (so the reports are about `log2` of the losses, and the
//!   handler still hears when they keep coming);
//! * a batch (the queue of a loop being dropped) is held and reported as one;
//! * what is still pending when the `Losses` goes (its loop's last dispatcher, or its thread)
//!   is reported then, so the reported counts add up to every loss; a count still pending
//!   while its loop lives on (the global manager's, say) waits for the next report.
//!
//! Reports go to the error handler of the task that lost the first delivery: a loop shared by
//! several managers reports all its losses to that one.
//!
//! Plain `std` lock: this is reporting, not an outcome, and the handler never runs under it.

use std::fmt;
use std::sync::Mutex;

use super::{AppError, ErrorSink};
use crate::sync::lock;

/// Builds the report of `n` lost deliveries.
type Describe = Box<dyn Fn(u64) -> AppError + Send + Sync>;

pub(crate) struct Losses {
    pending: Mutex<Pending>,
    describe: Describe,
}

#[derive(Default)]
struct Pending {
    /// Lost and not yet reported.
    count: u64,
    /// Reported so far.
    reported: u64,
    /// A batch is being counted: report it when it ends.
    held: bool,
    /// Where the reports go: the handler of the first loss's task (a loop shared by several
    /// managers reports to the first that lost a delivery through it).
    sink: Option<ErrorSink>,
}

impl Losses {
    /// `describe(n)` is the report of `n` lost deliveries.
    pub(crate) fn new(describe: impl Fn(u64) -> AppError + Send + Sync + 'static) -> Self {
        Losses {
            pending: Mutex::new(Pending::default()),
            describe: Box::new(describe),
        }
    }

    /// One delivery was lost; `sink` is its task's error handler.
    pub(crate) fn lose(&self, sink: &ErrorSink) {
        let due = {
            let mut pending = lock(&self.pending);
            pending.count += 1;
            pending.sink.get_or_insert_with(|| sink.clone());
            let due = !pending.held && pending.count >= pending.reported.max(1);
            due.then(|| take(&mut pending))
        };
        self.report(due);
    }

    /// Counts the losses until [`release`](Self::release) without reporting them.
    pub(crate) fn hold(&self) {
        lock(&self.pending).held = true;
    }

    /// Reports what was lost since [`hold`](Self::hold), as one report.
    pub(crate) fn release(&self) {
        let due = {
            let mut pending = lock(&self.pending);
            pending.held = false;
            (pending.count > 0).then(|| take(&mut pending))
        };
        self.report(due);
    }

    fn report(&self, due: Option<(u64, Option<ErrorSink>)>) {
        if let Some((count, Some(sink))) = due {
            sink.report(&(self.describe)(count));
        }
    }
}

/// The pending count, now reported, and where to report it.
fn take(pending: &mut Pending) -> (u64, Option<ErrorSink>) {
    let count = std::mem::take(&mut pending.count);
    pending.reported += count;
    (count, pending.sink.clone())
}

impl Drop for Losses {
    fn drop(&mut self) {
        let pending = self
            .pending
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.count > 0 {
            let due = take(pending);
            self.report(Some(due));
        }
    }
}

impl fmt::Debug for Losses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = lock(&self.pending);
        f.debug_struct("Losses")
            .field("pending", &pending.count)
            .field("reported", &pending.reported)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn heard() -> (ErrorSink, Arc<Mutex<Vec<u64>>>) {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h = heard.clone();
        let sink = ErrorSink::new(move |error: &AppError| {
            h.lock()
                .unwrap()
                .push(error.context()["lost"].parse().unwrap());
        });
        (sink, heard)
    }

    fn losses() -> Losses {
        Losses::new(|n| AppError::new("ERR_TEST_LOST", "lost").with_context("lost", n))
    }

    #[test]
    fn reports_back_off_and_add_up_to_every_loss() {
        let (sink, heard) = heard();
        let losses = losses();
        for _ in 0..100 {
            losses.lose(&sink);
        }
        assert_eq!(*heard.lock().unwrap(), [1, 1, 2, 4, 8, 16, 32]);
        drop(losses);
        let heard = heard.lock().unwrap();
        assert_eq!(*heard, [1, 1, 2, 4, 8, 16, 32, 36], "the rest when it goes");
        assert_eq!(heard.iter().sum::<u64>(), 100);
    }

    #[test]
    fn a_held_batch_is_one_report() {
        let (sink, heard) = heard();
        let losses = losses();
        losses.hold();
        for _ in 0..1_000 {
            losses.lose(&sink);
        }
        assert!(heard.lock().unwrap().is_empty());
        losses.release();
        assert_eq!(*heard.lock().unwrap(), [1_000]);
        losses.lose(&sink); // pending until a thousand more, or the end
        drop(losses);
        assert_eq!(*heard.lock().unwrap(), [1_000, 1]);
    }

    #[test]
    fn nothing_lost_nothing_reported() {
        let (_, heard) = heard();
        let losses = losses();
        losses.hold();
        losses.release();
        drop(losses);
        assert!(heard.lock().unwrap().is_empty());
    }
}
