//! Debug counters (feature `debug-counters`): how many task states are alive, for leak
//! checks in soak tests.
//!
//! ```
//! use task_runtime::{debug, AppError, TaskManager};
//!
//! let before = debug::live_tasks();
//! let manager = TaskManager::new(1);
//! manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
//! drop(manager);
//! assert_eq!(debug::live_tasks(), before, "every task state was freed");
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Task states currently allocated (queued, running, or finished but still referenced by a
/// handle, a pending callback delivery or a queue entry).
pub fn live_tasks() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// The highest [`live_tasks`] seen so far.
pub fn peak_live_tasks() -> usize {
    PEAK.load(Ordering::SeqCst)
}

/// Counts one task state for as long as it lives.
pub(crate) struct LiveTask(());

impl LiveTask {
    pub(crate) fn new() -> Self {
        let live = LIVE.fetch_add(1, Ordering::Relaxed) + 1;
        PEAK.fetch_max(live, Ordering::Relaxed);
        LiveTask(())
    }
}

impl Drop for LiveTask {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}
