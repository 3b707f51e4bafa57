//! The pool's thread accounting: how many workers exist, and which idle ones are spoken for.
//!
//! Three numbers decide whether a submission starts a thread: `live` threads (a slot is
//! reserved before a thread starts and released as it exits), the `max` allowed, and the idle
//! workers. Idle workers are split in two: *unclaimed* ones, and ones a submission has
//! *claimed* (it queued a job and counts on one idle worker to take it). A submission claims
//! an unclaimed idle worker if there is one and starts a thread otherwise; a worker that wakes
//! up gives back a claim if there is one, else its own unclaimed count. So a burst of `k` jobs
//! with `i` idle workers claims `i` of them and starts `k - i` threads (up to the limit),
//! whatever the order in which the workers wake.
//!
//! Both idle counts live in one atomic word, so claiming and waking are each one
//! compare-and-swap and can never see a half-updated pair.
//!
//! Every exit path releases its slot *first* and then looks at the queue again
//! ([`Slots::release`], then the caller's check): a submission that found no slot free while
//! this thread was leaving is then seen by it (see [`Slots::release`]).

use crate::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};

const CLAIMED_ONE: u64 = 1 << 32;
const UNCLAIMED: u64 = CLAIMED_ONE - 1;

/// Who will run a job just queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// An idle worker, claimed for it.
    Claimed,
    /// A new thread, whose slot is reserved: the caller starts it.
    Start,
    /// A busy worker, once it is free: the pool is at its limit.
    Full,
}

pub(crate) struct Slots {
    live: AtomicUsize,
    max: AtomicUsize,
    /// Low 32 bits: idle workers nobody claimed; high 32 bits: claimed ones.
    idle: AtomicU64,
}

impl Slots {
    pub(crate) fn new(max: usize) -> Self {
        Slots {
            live: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
            idle: AtomicU64::new(0),
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    pub(crate) fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    pub(crate) fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::SeqCst);
    }

    /// Reserves a slot for a new (or returning) thread, if the limit allows.
    pub(crate) fn reserve(&self) -> bool {
        let mut live = self.live.load(Ordering::SeqCst);
        loop {
            if live >= self.max.load(Ordering::SeqCst) {
                return false;
            }
            match self
                .live
                .compare_exchange(live, live + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => live = actual,
            }
        }
    }

    /// Gives a slot back. The caller then looks at the queue again: "release, then look"
    /// here pairs with "queue, then [`reserve`](Self::reserve)" in a submission (all
    /// `SeqCst`), so either the submission finds the slot free and starts a thread, or the
    /// leaving thread sees the job and takes its slot back.
    pub(crate) fn release(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        // `SeqCst` fences rather than `SeqCst` accesses alone: loom models the former exactly.
        fence(Ordering::SeqCst);
    }

    /// A submission just queued a job: claims an idle worker for it, or else reserves a slot
    /// for a new thread if the limit allows.
    ///
    /// Queued first, then claimed: a worker that times out idle and takes this claim back has
    /// already seen the job.
    pub(crate) fn place_job(&self) -> Placement {
        fence(Ordering::SeqCst); // pairs with the one in `release`
        if self.claim_idle() {
            Placement::Claimed
        } else if self.reserve() {
            Placement::Start
        } else {
            Placement::Full
        }
    }

    /// A worker gives its slot back (after an idle timeout, or being surplus), then looks at
    /// the queue once more with `queued`: if a job arrived meanwhile and the limit allows, it
    /// takes a slot again and stays. Returns whether the worker is to exit.
    pub(crate) fn leave(&self, queued: impl FnOnce() -> bool) -> bool {
        self.release();
        !self.rejoin(queued)
    }

    /// Right after this thread gave its slot back: takes one again if `queued` says a job is
    /// waiting and the limit allows. Returns whether it did (the thread stays).
    pub(crate) fn rejoin(&self, queued: impl FnOnce() -> bool) -> bool {
        queued() && self.reserve()
    }

    /// Releases a slot if there are more threads than the limit allows.
    pub(crate) fn release_if_surplus(&self) -> bool {
        let mut live = self.live.load(Ordering::SeqCst);
        loop {
            if live <= self.max.load(Ordering::SeqCst) {
                return false;
            }
            match self
                .live
                .compare_exchange(live, live - 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    fence(Ordering::SeqCst); // as in `release`
                    return true;
                }
                Err(actual) => live = actual,
            }
        }
    }

    /// A worker is about to block waiting for work.
    pub(crate) fn enter_idle(&self) {
        self.idle.fetch_add(1, Ordering::SeqCst);
    }

    /// A worker stopped waiting (it received something, or timed out): it takes back a claim
    /// if one is outstanding (it is the worker somebody counted on), else its own count.
    pub(crate) fn leave_idle(&self) {
        let mut idle = self.idle.load(Ordering::SeqCst);
        loop {
            let next = if idle >= CLAIMED_ONE {
                idle - CLAIMED_ONE
            } else {
                debug_assert!(idle & UNCLAIMED > 0, "a worker left idle without entering");
                idle - 1
            };
            match self
                .idle
                .compare_exchange(idle, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(actual) => idle = actual,
            }
        }
    }

    /// A submission that just queued a job claims an idle worker for it, if one is unclaimed.
    pub(crate) fn claim_idle(&self) -> bool {
        let mut idle = self.idle.load(Ordering::SeqCst);
        loop {
            if idle & UNCLAIMED == 0 {
                return false;
            }
            match self.idle.compare_exchange(
                idle,
                idle - 1 + CLAIMED_ONE,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => idle = actual,
            }
        }
    }

    /// Idle workers that no submission has claimed yet.
    pub(crate) fn unclaimed_idle(&self) -> u64 {
        self.idle.load(Ordering::SeqCst) & UNCLAIMED
    }
}

/// The retire race, checked exhaustively: a worker leaving after its idle timeout (it saw an
/// empty queue) while a job is submitted. Whatever the interleaving, the job ends up with a
/// thread: the submission starts one, or the leaving worker stays.
#[cfg(all(test, loom))]
mod model {
    use super::{Placement, Slots};
    use crate::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::Arc;

    #[test]
    fn a_retiring_worker_races_a_submission() {
        loom::model(|| {
            let slots = Arc::new(Slots::new(1));
            assert!(slots.reserve()); // the one worker
            let queued = Arc::new(AtomicUsize::new(0));

            // The worker times out idle: it leaves idle, sees nothing queued, retires.
            slots.enter_idle();
            let worker = {
                let (slots, queued) = (slots.clone(), queued.clone());
                loom::thread::spawn(move || {
                    slots.leave_idle();
                    if queued.load(Ordering::SeqCst) != 0 {
                        return true; // it takes the job without retiring
                    }
                    !slots.leave(|| queued.load(Ordering::SeqCst) != 0)
                })
            };
            let submitter = {
                let (slots, queued) = (slots.clone(), queued.clone());
                loom::thread::spawn(move || {
                    queued.fetch_add(1, Ordering::SeqCst);
                    slots.place_job() != Placement::Full
                })
            };
            let worker_stays = worker.join().unwrap();
            let covered = submitter.join().unwrap();
            assert!(
                worker_stays || (covered && slots.live() == 1),
                "a queued job was left without a thread"
            );
            assert!(slots.live() <= 1, "more threads than allowed");
        });
    }

    /// A burst of two jobs with one idle worker: one claims the worker, the other starts a
    /// thread, whichever order the worker wakes in.
    #[test]
    fn a_burst_claims_the_idle_worker_and_starts_a_thread() {
        loom::model(|| {
            let slots = Arc::new(Slots::new(2));
            assert!(slots.reserve());
            slots.enter_idle();
            let waker = {
                let slots = slots.clone();
                loom::thread::spawn(move || slots.leave_idle())
            };
            let placed = [slots.place_job(), slots.place_job()];
            waker.join().unwrap();
            // Either the first job claimed the idle worker and the second started a thread,
            // or the worker had woken already and the first started the one thread allowed.
            assert!(
                placed == [Placement::Claimed, Placement::Start]
                    || placed == [Placement::Start, Placement::Full],
                "{placed:?}"
            );
            assert_eq!(slots.live(), 2);
        });
    }
}
