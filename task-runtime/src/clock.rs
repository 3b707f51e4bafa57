//! [`TestClock`]: a clock that moves only when a test says so, for deadlines and instants
//! without wall time (kotlinx-coroutines-test's virtual time, `tokio::time::pause`).
//!
//! A manager built with [`TaskManagerBuilder::clock`](crate::TaskManagerBuilder::clock)
//! counts its tasks' instants and deadlines on it. [`TestClock::advance`] moves it and, on
//! the calling thread before it returns, passes every deadline now due: a `timeout(2 s)` fires
//! exactly when the test advances past it, with no timer thread and no wall time.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// A shared, manually advanced clock. `Clone`: clones are handles to the same clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{codes, AppError, TaskError, TaskManager, TestClock};
///
/// let clock = TestClock::new();
/// let manager = TaskManager::builder().manual().clock(clock.clone()).build().unwrap();
/// let load = manager
///     .task(|_| Ok::<_, AppError>("loaded"))
///     .timeout(Duration::from_secs(2))
///     .start();
/// clock.advance(Duration::from_millis(1999));
/// assert!(!load.is_finished(), "not yet: 1 ms left");
/// clock.advance(Duration::from_millis(1));
/// match load.join() {
///     Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone)]
pub struct TestClock {
    shared: Arc<Shared>,
}

struct Shared {
    start: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    elapsed: Duration,
    /// What runs after each advance: the deadlines of the managers on this clock.
    on_advance: Vec<Weak<dyn Fn() + Send + Sync>>,
}

impl TestClock {
    /// A clock standing at the instant it was made.
    pub fn new() -> Self {
        TestClock {
            shared: Arc::new(Shared {
                start: Instant::now(),
                state: Mutex::default(),
            }),
        }
    }

    /// Moves the clock `by` forward, then passes, on this thread, every deadline of the
    /// managers on this clock that is now due (their tasks time out before this returns).
    /// A step too large for an `Instant` stops at the largest one the clock can show.
    pub fn advance(&self, by: Duration) {
        let hooks: Vec<_> = {
            let mut state = self.state();
            let most = Duration::from_nanos(u64::MAX);
            state.elapsed = state.elapsed.saturating_add(by).min(most);
            state.on_advance.retain(|hook| hook.strong_count() > 0);
            state.on_advance.iter().filter_map(Weak::upgrade).collect()
        };
        // Outside the lock: timing a task out delivers callbacks, which may read the clock.
        for hook in hooks {
            hook();
        }
    }

    /// The clock's instant now.
    pub fn now(&self) -> Instant {
        let elapsed = self.elapsed();
        self.shared
            .start
            .checked_add(elapsed)
            .unwrap_or(self.shared.start)
    }

    /// How far the clock was advanced since it was made.
    pub fn elapsed(&self) -> Duration {
        self.state().elapsed
    }

    /// The instant the clock started at.
    pub(crate) fn start(&self) -> Instant {
        self.shared.start
    }

    /// Runs `hook` after every advance, while it lives.
    pub(crate) fn on_advance(&self, hook: Weak<dyn Fn() + Send + Sync>) {
        self.state().on_advance.push(hook);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}
