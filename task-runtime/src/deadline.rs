//! Deadlines (`TaskBuilder::timeout`): a task's [`Timeout`] (the feature that gives its
//! outcome when the deadline passes), and the manager's [`Deadlines`]: one timer thread,
//! started by the first deadline, asleep on a condition variable while none is due (no CPU),
//! and gone when the manager closes. Deadlines count on the host's clock.
//!
//! The timer holds tasks weakly: a task that ended long before its deadline is freed as usual,
//! and its entry is skipped when it comes up. The same timer wakes the `async` bodies that
//! sleep (`TaskContext::sleep`): their entries hold the waker until it is due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
// std's, not `crate::sync`'s: the timer is a thread of its own, never part of a loom model
// (under loom no deadline thread starts; see `start_timer`).
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::task::Waker;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use crate::error::AppError;
use crate::sync::{lock, wait, wait_timeout};
use crate::task::admit::TaskHost;
use crate::task::cell::AnySlot;
use crate::task::cell::{CellRef, TaskCell, TaskCore};
use crate::task::feature::Feature;
use crate::task::run;

/// A task's deadline, as a feature of the task: the error its outcome is when it passes.
pub(crate) struct Timeout(pub(crate) Duration);

impl Feature for Timeout {
    fn timeout_error(&self, task: &TaskCore) -> Option<AppError> {
        Some(AppError::timed_out(task.name().as_str(), self.0))
    }
}

pub(crate) struct Deadlines {
    shared: Arc<Shared>,
    /// The timeouts tasks were given lately, one feature each: tasks given the same timeout
    /// share it (an application uses a few), so a deadline costs no allocation per task.
    timeouts: Mutex<Vec<Arc<Timeout>>>,
    thread: Mutex<Option<(ThreadId, JoinHandle<()>)>>,
    /// On a test's clock: what its `advance` calls (it holds it weakly).
    _clock_hook: Option<Arc<dyn Fn() + Send + Sync>>,
}

struct Shared {
    host: Arc<TaskHost>,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    due: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
    closed: bool,
}

/// A deadline: nanoseconds on the host's clock, then the order deadlines were set in.
struct Entry {
    at: u64,
    seq: u64,
    due: Due,
}

/// What happens when an entry is due.
enum Due {
    /// The task times out.
    TimeOut(Weak<TaskCell<dyn AnySlot>>),
    /// A sleeping body wakes.
    Wake(Waker),
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Deadlines {
    pub(crate) fn new(host: Arc<TaskHost>) -> Self {
        let shared = Arc::new(Shared {
            host,
            state: Mutex::default(),
            wake: Condvar::new(),
        });
        // On a test's clock, deadlines pass when the test advances it, on its thread.
        let hook = shared.host.test_clock().map(|clock| {
            let weak = Arc::downgrade(&shared);
            let hook: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                if let Some(shared) = weak.upgrade() {
                    shared.expire_due();
                }
            });
            clock.on_advance(Arc::downgrade(&hook));
            hook
        });
        Deadlines {
            shared,
            thread: Mutex::new(None),
            timeouts: Mutex::new(Vec::new()),
            _clock_hook: hook,
        }
    }

    /// Times `cell` out `timeout` from now. A timeout too long for the clock never fires.
    /// The feature of a task given `timeout`: shared with the other tasks given the same.
    pub(crate) fn timeout(&self, timeout: Duration) -> Arc<Timeout> {
        /// How many distinct timeouts are kept for sharing.
        const KEPT: usize = 16;
        let mut kept = lock(&self.timeouts);
        if let Some(found) = kept.iter().find(|t| t.0 == timeout) {
            return Arc::clone(found);
        }
        if kept.len() == KEPT {
            kept.remove(0);
        }
        let made = Arc::new(Timeout(timeout));
        kept.push(Arc::clone(&made));
        made
    }

    pub(crate) fn add(&self, cell: &CellRef, timeout: Duration) {
        let now = self.shared.host.since_epoch();
        let Some(at) = u64::try_from(timeout.as_nanos())
            .ok()
            .and_then(|nanos| now.checked_add(nanos))
        else {
            return; // `Duration::MAX` and its like: no deadline at all
        };
        if self.schedule(at, Due::TimeOut(Arc::downgrade(cell))) {
            if let Err(error) = self.start_timer() {
                run::abandon(
                    cell,
                    &format!("its deadline timer could not start: {error}"),
                );
            }
        }
    }

    /// Wakes `waker` at `at` (nanoseconds on the host's clock): a sleeping body's. If the
    /// timer cannot start, it is woken at once (the sleep ends early rather than never).
    pub(crate) fn wake_at(&self, at: u64, waker: Waker) {
        if at == u64::MAX {
            return; // never: the body sleeps until it is cancelled
        }
        if at <= self.shared.host.since_epoch() {
            return waker.wake();
        }
        if self.schedule(at, Due::Wake(waker.clone())) && self.start_timer().is_err() {
            waker.wake();
        }
    }

    /// Lists an entry; whether it was (not once the manager closes).
    fn schedule(&self, at: u64, due: Due) -> bool {
        {
            let mut state = lock(&self.shared.state);
            if state.closed {
                return false; // the manager is closing: every task is being cancelled anyway
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            // Tasks that ended long before their deadline leave entries behind: now and then
            // (the heap doubled), drop those, so a long-lived manager's heap stays small.
            if state.due.len() >= 1024 && state.due.len().is_power_of_two() {
                state.due.retain(|Reverse(entry)| match &entry.due {
                    Due::TimeOut(cell) => cell
                        .upgrade()
                        .is_some_and(|cell| !cell.core.state().is_terminal()),
                    Due::Wake(_) => true,
                });
            }
            let earliest = state.due.peek().is_none_or(|Reverse(first)| at < first.at);
            state.due.push(Reverse(Entry { at, seq, due }));
            if earliest {
                self.shared.wake.notify_one();
            }
        }
        true
    }

    /// Starts the timer thread unless it runs; the error if it cannot start.
    fn start_timer(&self) -> std::io::Result<()> {
        // loom models play every thread themselves, and a test's clock passes deadlines as
        // it advances: no timer runs then.
        if cfg!(loom) || self.shared.host.test_clock().is_some() {
            return Ok(());
        }
        let mut thread = lock(&self.thread);
        if thread.is_some() {
            return Ok(());
        }
        let shared = Arc::clone(&self.shared);
        let handle = std::thread::Builder::new()
            .name("task-runtime-deadlines".to_owned())
            .spawn(move || shared.watch())?;
        *thread = Some((handle.thread().id(), handle));
        Ok(())
    }

    /// The manager is closing: the timer thread exits (joined, unless this is it).
    pub(crate) fn close(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.wake.notify_all();
        let thread = lock(&self.thread).take();
        if let Some((id, handle)) = thread {
            if id != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Deadlines {
    /// Every pending deadline passes now, on the calling thread.
    #[cfg(loom)]
    pub(crate) fn expire_all(&self) {
        let due = std::mem::take(&mut lock(&self.shared.state).due);
        for Reverse(entry) in due {
            entry.due.pass();
        }
    }
}

impl Due {
    /// The entry is due: its task times out, or its sleeper wakes.
    fn pass(self) {
        match self {
            Due::TimeOut(cell) => {
                if let Some(cell) = cell.upgrade() {
                    run::time_out(&cell);
                }
            }
            // A waker is user code when the sleep is polled by another executor.
            Due::Wake(waker) => {
                if let Err(panic) = crate::unwind::catch(|| waker.wake()) {
                    tracing::warn!(panic = panic.message(), "a sleeper's waker panicked");
                }
            }
        }
    }
}

impl Shared {
    /// Times out, on this thread, every task whose deadline is due now.
    fn expire_due(&self) {
        let now = self.host.since_epoch();
        let expired: Vec<Due> = {
            let mut state = lock(&self.state);
            let mut expired = Vec::new();
            while state.due.peek().is_some_and(|Reverse(e)| e.at <= now) {
                if let Some(Reverse(entry)) = state.due.pop() {
                    expired.push(entry.due);
                }
            }
            expired
        };
        for due in expired {
            due.pass();
        }
    }

    /// The timer thread: sleeps until the earliest deadline (or a new earlier one), times out
    /// what is due, until the deadlines close.
    fn watch(&self) {
        let mut state = lock(&self.state);
        loop {
            if state.closed {
                return;
            }
            let now = self.host.since_epoch();
            let Some(Reverse(first)) = state.due.peek() else {
                state = wait(&self.wake, state);
                continue;
            };
            if first.at > now {
                let left = Duration::from_nanos(first.at - now);
                state = wait_timeout(&self.wake, state, left).0;
                continue;
            }
            let mut expired = Vec::new();
            while state.due.peek().is_some_and(|Reverse(e)| e.at <= now) {
                if let Some(Reverse(entry)) = state.due.pop() {
                    expired.push(entry.due);
                }
            }
            drop(state);
            // Outside the lock: timing out delivers callbacks, which may set deadlines, and a
            // wake queues a poll.
            for due in expired {
                due.pass();
            }
            state = lock(&self.state);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::dispatch::Dispatcher;
    use crate::error::AppError;
    use crate::task::delivery::Callbacks;
    use crate::task::testing::{task, TestHost};

    #[test]
    fn entries_of_tasks_gone_long_before_their_deadline_are_dropped() {
        let test = TestHost::new(Dispatcher::worker_thread());
        let deadlines = Deadlines::new(Arc::clone(&test.host));
        for _ in 0..3000 {
            let spec = test.spec("deadline", Callbacks::default());
            let (handle, cell) = task(spec, |_| Ok::<_, AppError>(()));
            deadlines.add(&cell, Duration::from_secs(3600));
            drop((handle, cell));
        }
        let left = lock(&deadlines.shared.state).due.len();
        assert!(
            left < 2048,
            "{left} entries kept for 3000 tasks that are gone"
        );
        deadlines.close();
        assert!(
            lock(&deadlines.thread).is_none(),
            "the timer thread was joined"
        );
    }
}
