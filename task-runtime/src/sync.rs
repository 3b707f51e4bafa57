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

use std::sync::PoisonError;

/// Locks `mutex`, ignoring poisoning.
///
/// The runtime never runs user code while holding one of its locks, so a poisoned lock can
/// only come from a bug in the runtime itself; the data behind it is still consistent
/// because every critical section leaves it so before anything that could panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `condvar` for at most `timeout`; returns the guard and whether it timed out.
pub(crate) fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: std::time::Duration,
) -> (MutexGuard<'a, T>, bool) {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, result)) => (guard, result.timed_out()),
        Err(poisoned) => {
            let (guard, result) = poisoned.into_inner();
            (guard, result.timed_out())
        }
    }
}

/// Waits on `condvar` until notified (or woken spuriously).
pub(crate) fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar.wait(guard).unwrap_or_else(PoisonError::into_inner)
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
pub(crate) fn wait_until<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<std::time::Instant>,
) -> (MutexGuard<'a, T>, bool) {
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
