//! The one place the runtime takes its synchronisation primitives from.
//!
//! Everything that decides an outcome or hands data between threads locks and counts through
//! this module, so that the same code can be model-checked with loom (`--cfg loom`) the way
//! tokio and crossbeam do it. `Arc` stays std's in both builds: loom's `Arc` cannot hold the
//! unsized task cells (`Arc<TaskCell<dyn AnySlot>>`), and loom does not need it to explore
//! the interleavings that matter here.

#[cfg(not(loom))]
pub(crate) use std::sync::{atomic, Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::{atomic, Condvar, Mutex, MutexGuard};

// Which thread this is, and state per thread: loom's model threads share one OS thread.
#[cfg(not(loom))]
pub(crate) use std::{
    thread::current as current_thread, thread::LocalKey, thread::Thread, thread::ThreadId,
    thread_local,
};

#[cfg(loom)]
pub(crate) use loom::{
    thread::current as current_thread, thread::LocalKey, thread::Thread, thread::ThreadId,
    thread_local,
};

use std::ops::DerefMut;
use std::sync::{LockResult, PoisonError};
use std::time::Duration;

/// A mutex whose poisoning is ignored: std's, and loom's in models. One trait so that code on
/// std primitives only (the display thread, the displays) and code that loom checks share one
/// [`lock`].
pub(crate) trait Lock {
    type Guard<'a>: DerefMut
    where
        Self: 'a;
    fn lock_result(&self) -> LockResult<Self::Guard<'_>>;
}

impl<T: ?Sized> Lock for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    fn lock_result(&self) -> LockResult<Self::Guard<'_>> {
        self.lock()
    }
}

#[cfg(loom)]
impl<T> Lock for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    fn lock_result(&self) -> LockResult<Self::Guard<'_>> {
        self.lock()
    }
}

/// A condition variable paired with guards of type `G`, its poisoning ignored.
pub(crate) trait Wait<G> {
    fn wait_result(&self, guard: G) -> LockResult<G>;
    /// The guard, and whether the wait timed out.
    fn wait_timeout_result(&self, guard: G, timeout: Duration) -> LockResult<(G, bool)>;
}

impl<'a, T> Wait<std::sync::MutexGuard<'a, T>> for std::sync::Condvar {
    fn wait_result(
        &self,
        guard: std::sync::MutexGuard<'a, T>,
    ) -> LockResult<std::sync::MutexGuard<'a, T>> {
        self.wait(guard)
    }
    fn wait_timeout_result(
        &self,
        guard: std::sync::MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(std::sync::MutexGuard<'a, T>, bool)> {
        timed(self.wait_timeout(guard, timeout))
    }
}

#[cfg(loom)]
impl<'a, T> Wait<loom::sync::MutexGuard<'a, T>> for loom::sync::Condvar {
    fn wait_result(
        &self,
        guard: loom::sync::MutexGuard<'a, T>,
    ) -> LockResult<loom::sync::MutexGuard<'a, T>> {
        self.wait(guard)
    }
    fn wait_timeout_result(
        &self,
        guard: loom::sync::MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(loom::sync::MutexGuard<'a, T>, bool)> {
        match self.wait_timeout(guard, timeout) {
            Ok((guard, result)) => Ok((guard, result.timed_out())),
            Err(poisoned) => {
                let (guard, result) = poisoned.into_inner();
                Err(PoisonError::new((guard, result.timed_out())))
            }
        }
    }
}

fn timed<G>(result: LockResult<(G, std::sync::WaitTimeoutResult)>) -> LockResult<(G, bool)> {
    match result {
        Ok((guard, timeout)) => Ok((guard, timeout.timed_out())),
        Err(poisoned) => {
            let (guard, timeout) = poisoned.into_inner();
            Err(PoisonError::new((guard, timeout.timed_out())))
        }
    }
}

/// Locks `mutex`, ignoring poisoning.
///
/// The runtime never runs user code while holding one of its locks, so a poisoned lock can
/// only come from a bug in the runtime itself; the data behind it is still consistent
/// because every critical section leaves it so before anything that could panic.
pub(crate) fn lock<M: Lock + ?Sized>(mutex: &M) -> M::Guard<'_> {
    mutex.lock_result().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `condvar` for at most `timeout`; returns the guard and whether it timed out.
pub(crate) fn wait_timeout<G>(condvar: &impl Wait<G>, guard: G, timeout: Duration) -> (G, bool) {
    condvar
        .wait_timeout_result(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `condvar` until notified (or woken spuriously).
pub(crate) fn wait<G>(condvar: &impl Wait<G>, guard: G) -> G {
    condvar
        .wait_result(guard)
        .unwrap_or_else(PoisonError::into_inner)
}

/// Keeps a value on cache lines of its own, so that writes to it do not slow down readers of
/// its neighbours (and the other way round).
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

/// Polls `done` for a few microseconds before the caller blocks: a task that is about to
/// finish is then joined without two thread wake-ups (one to park, one to unpark). Spins with
/// growing pauses, then yields a few times, as crossbeam's `Backoff` does; bounded, so a
/// waiter for a long task falls through to blocking almost at once.
///
/// Under loom, spinning would only multiply the explored interleavings: it is skipped.
pub(crate) fn spin_briefly(done: impl Fn() -> bool) -> bool {
    #[cfg(not(loom))]
    {
        const SPIN_ROUNDS: u32 = 7; // 1 + 2 + ... + 64 pause instructions
        const YIELD_ROUNDS: u32 = 4;
        for round in 0..SPIN_ROUNDS {
            for _ in 0..1u32 << round {
                std::hint::spin_loop();
            }
            if done() {
                return true;
            }
        }
        for _ in 0..YIELD_ROUNDS {
            std::thread::yield_now();
            if done() {
                return true;
            }
        }
    }
    done()
}

/// When a wait of `timeout` from now ends; `None` when that instant is past what `Instant`
/// can represent (`Duration::MAX`, say): such a wait never ends, as std's and crossbeam's
/// timeouts saturate.
pub(crate) fn deadline_after(timeout: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}

/// How long until `deadline`: `None` for a wait without end, zero once it has passed.
pub(crate) fn time_left(deadline: Option<std::time::Instant>) -> Option<std::time::Duration> {
    deadline.map(|deadline| deadline.saturating_duration_since(std::time::Instant::now()))
}

/// Waits on `condvar` until notified or `deadline` (`None`: no deadline); returns the guard
/// and whether the deadline has passed.
pub(crate) fn wait_until<G>(
    condvar: &impl Wait<G>,
    guard: G,
    deadline: Option<std::time::Instant>,
) -> (G, bool) {
    match time_left(deadline) {
        None => (wait(condvar, guard), false),
        Some(left) if left.is_zero() => (guard, true),
        Some(left) => {
            let guard = wait_timeout(condvar, guard, left).0;
            let passed = time_left(deadline).is_some_and(|left| left.is_zero());
            (guard, passed)
        }
    }
}
