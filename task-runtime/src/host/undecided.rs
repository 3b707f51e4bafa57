//! [`Undecided`]: how many tasks have no outcome yet, and the threads waiting for that count
//! to drop (`wait_for_all`, shutdown).
//!
//! Every task is submitted on one thread and decided on another, so the count is the one
//! shared line a worker writes per task: one counter and one fence, and the lock only when
//! the count drops below what some waiter allows. An *idle epoch* bumped each time the count
//! reaches zero lets a waiter for zero return `true` once it saw the epoch move, even if new
//! work arrived before it woke up ("idle before the deadline" is an event, not a state).

use std::task::Waker;
use std::time::{Duration, Instant};

use crate::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{lock, time_left, wait_timeout, CachePadded, Condvar, Mutex};

pub(crate) struct Undecided {
    /// Tasks submitted and not yet decided (refused ones too, until their cancellation).
    count: CachePadded<AtomicUsize>,
    /// Bumped whenever `count` drops to zero.
    idle_epoch: AtomicU64,
    /// One more than the most tasks any waiter allows, 0 when nobody waits: a decision
    /// notifies only when the count drops below it.
    notify_below: AtomicUsize,
    /// How many tasks each waiting thread allows (`notify_below` is derived from them).
    allowances: Mutex<Vec<usize>>,
    /// Notified (under `allowances`) when tasks are decided while somebody waits.
    decided: Condvar,
    /// Futures waiting for an idle moment (`TaskManager::idle`), woken when the count reaches
    /// zero; `idle_waited` says there are some, read without the lock.
    idle_wakers: Mutex<Vec<Waker>>,
    idle_waited: AtomicBool,
}

impl Undecided {
    pub(crate) fn new() -> Self {
        Undecided {
            count: CachePadded(AtomicUsize::new(0)),
            idle_epoch: AtomicU64::new(0),
            notify_below: AtomicUsize::new(0),
            allowances: Mutex::new(Vec::new()),
            decided: Condvar::new(),
            idle_wakers: Mutex::new(Vec::new()),
            idle_waited: AtomicBool::new(false),
        }
    }

    /// A task was submitted: it counts until [`decided`](Self::decided). Called before
    /// admission, so that every task, refused ones included, is decided exactly once.
    pub(crate) fn entered(&self) {
        self.count.0.fetch_add(1, Ordering::AcqRel);
    }

    /// A task was decided. Wakes the waiters if one waits for the count just reached;
    /// otherwise costs one counter and one read of a line nobody writes.
    pub(crate) fn decided(&self) {
        let before = self.count.0.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "a task was decided twice");
        if before == 1 {
            self.idle_epoch.fetch_add(1, Ordering::AcqRel);
        }
        // Pairs with the waiter's fence in `wait_until_at_most` (and a future's in
        // `poll_idle`): either it sees the count (and epoch) just written, or this sees it
        // waiting.
        fence(Ordering::SeqCst);
        if before == 1 && self.idle_waited.load(Ordering::Relaxed) {
            self.wake_idle();
        }
        if before <= self.notify_below.load(Ordering::Relaxed) {
            let _allowances = lock(&self.allowances);
            self.decided.notify_all();
        }
    }

    /// The idle epoch: an idle moment after this call moves it.
    pub(crate) fn epoch(&self) -> u64 {
        self.idle_epoch.load(Ordering::Acquire)
    }

    /// For a future waiting for an idle moment since `epoch`: whether there was one; if not,
    /// `waker` is woken at the next.
    pub(crate) fn poll_idle(&self, epoch: u64, waker: &Waker) -> bool {
        if self.idle_since(epoch) {
            return true;
        }
        {
            let mut wakers = lock(&self.idle_wakers);
            if !wakers.iter().any(|w| w.will_wake(waker)) {
                wakers.push(waker.clone());
            }
            self.idle_waited.store(true, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst); // pairs with the fence in `decided`
        self.idle_since(epoch)
    }

    fn idle_since(&self, epoch: u64) -> bool {
        self.count.0.load(Ordering::Acquire) == 0 || self.epoch() != epoch
    }

    fn wake_idle(&self) {
        let wakers = {
            let mut wakers = lock(&self.idle_wakers);
            self.idle_waited.store(false, Ordering::Relaxed);
            std::mem::take(&mut *wakers)
        };
        for waker in wakers {
            // A waker is user code (an executor's): its panic is not the deciding worker's.
            let _ = crate::unwind::catch(|| waker.wake());
        }
    }

    /// Whether no task is undecided.
    pub(crate) fn is_zero(&self) -> bool {
        self.count.0.load(Ordering::Acquire) == 0
    }

    /// Waits until at most `allowed` tasks are undecided or `deadline` passes (`None`: no
    /// deadline). With `allowed == 0`, also returns `true` if the count was zero at any moment
    /// since the call began, even if new tasks came since.
    pub(crate) fn wait_until_at_most(&self, allowed: usize, deadline: Option<Instant>) -> bool {
        // First: a moment of idleness after this is one since the call began.
        let epoch = self.idle_epoch.load(Ordering::Acquire);
        let mut allowances = lock(&self.allowances);
        allowances.push(allowed);
        self.notify_below
            .store(notify_below(&allowances), Ordering::Relaxed);
        fence(Ordering::SeqCst); // pairs with the fence in `decided`
        let result = loop {
            if self.count.0.load(Ordering::Acquire) <= allowed
                || (allowed == 0 && self.idle_epoch.load(Ordering::Acquire) != epoch)
            {
                break true;
            }
            // Decisions notify while we wait; the slice only bounds a wake-up we could not see
            // coming (none is expected).
            let slice = match time_left(deadline) {
                Some(left) if left.is_zero() => break false,
                Some(left) => left.min(Duration::from_millis(50)),
                None => Duration::from_millis(50),
            };
            allowances = wait_timeout(&self.decided, allowances, slice).0;
        };
        if let Some(at) = allowances.iter().position(|a| *a == allowed) {
            allowances.swap_remove(at);
        }
        self.notify_below
            .store(notify_below(&allowances), Ordering::Relaxed);
        drop(allowances);
        result
    }
}

fn notify_below(allowances: &[usize]) -> usize {
    allowances.iter().max().map_or(0, |most| most + 1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn the_count_follows_entries_and_decisions() {
        let undecided = Undecided::new();
        assert!(undecided.is_zero());
        undecided.entered();
        undecided.entered();
        assert!(!undecided.is_zero());
        assert!(!undecided.wait_until_at_most(1, Some(Instant::now())));
        undecided.decided();
        assert!(undecided.wait_until_at_most(1, Some(Instant::now())));
        undecided.decided();
        assert!(undecided.is_zero());
        assert!(undecided.wait_until_at_most(0, None));
    }

    #[test]
    fn a_waiter_sees_a_moment_of_idleness_it_slept_through() {
        let undecided = Arc::new(Undecided::new());
        undecided.entered();
        let waiter = {
            let undecided = Arc::clone(&undecided);
            std::thread::spawn(move || {
                undecided.wait_until_at_most(0, Some(Instant::now() + Duration::from_secs(30)))
            })
        };
        // Idle for a moment, then busy again: the waiter must still say "became idle".
        while undecided.notify_below.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        undecided.decided();
        undecided.entered();
        assert!(waiter.join().unwrap());
        undecided.decided();
    }

    /// The call begins when it is made, not when it gets the lock: idleness while it waits
    /// for the lock counts.
    #[test]
    fn a_moment_of_idleness_while_the_waiter_waits_for_the_lock_counts() {
        let undecided = Arc::new(Undecided::new());
        undecided.entered();
        let held = lock(&undecided.allowances);
        let calling = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (undecided, calling) = (Arc::clone(&undecided), Arc::clone(&calling));
            std::thread::Builder::new()
                .name("lock-waiter".into())
                .spawn(move || {
                    calling.store(true, Ordering::SeqCst);
                    undecided.wait_until_at_most(0, Some(Instant::now() + Duration::from_secs(10)))
                })
                .unwrap()
        };
        while !calling.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        wait_until_blocked("lock-waiter");
        // Idle, then busy again, all before the waiter gets the lock.
        undecided.decided();
        undecided.entered();
        drop(held);
        assert!(waiter.join().unwrap(), "the waiter missed the idle moment");
        undecided.decided();
    }

    /// Returns once the thread named `name` sleeps in a futex wait (here: for the lock), read
    /// from `/proc/self/task/<tid>/syscall` on Linux; elsewhere after a 50 ms head start.
    fn wait_until_blocked(name: &str) {
        let futex = match std::env::consts::ARCH {
            "x86_64" => "202",
            "aarch64" => "98",
            _ => "",
        };
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return std::thread::sleep(Duration::from_millis(50));
        };
        if futex.is_empty() {
            return std::thread::sleep(Duration::from_millis(50));
        }
        let tasks: Vec<_> = tasks.flatten().map(|entry| entry.path()).collect();
        let thread = tasks
            .iter()
            .find(|task| {
                std::fs::read_to_string(task.join("comm")).is_ok_and(|comm| comm.trim_end() == name)
            })
            .expect("the thread is listed");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(thread.join("syscall"))
            .is_ok_and(|call| call.split_whitespace().next() == Some(futex))
        {
            assert!(Instant::now() < deadline, "{name} never blocked");
            std::thread::yield_now();
        }
    }
}
