//! What the demo measures: frames and the longest main-loop stall while tasks run, each
//! task's outcomes (from the manager's signals, so superseded searches count too), and any
//! callback that ran off the main thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use task_runtime::{TaskId, TaskManager};

/// The main loop's pulse, fed by the window's tick callback (once per frame).
#[derive(Default)]
pub struct Frames {
    pub count: u64,
    last: Option<Instant>,
    /// The longest gap between two frames while any task was active.
    pub longest_busy_gap: Duration,
}

impl Frames {
    pub fn tick(&mut self, now: Instant, busy: bool) {
        if let (Some(last), true) = (self.last, busy) {
            self.longest_busy_gap = self.longest_busy_gap.max(now - last);
        }
        self.last = Some(now);
        self.count += 1;
    }
}

/// Outcomes per task, as the manager's signals report them (from whichever thread).
#[derive(Clone, Default)]
pub struct Ledger(Arc<Mutex<HashMap<TaskId, Entry>>>);

#[derive(Clone, Default)]
struct Entry {
    name: String,
    completed: u32,
    failed: u32,
    cancelled: u32,
}

impl Ledger {
    pub fn follow(&self, manager: &TaskManager) {
        let signals = manager.signals();
        let ledger = self.clone();
        signals
            .task_completed
            .connect(move |info| ledger.record(info.id, &info.name, |e| e.completed += 1));
        let ledger = self.clone();
        signals
            .task_failed
            .connect(move |(info, _)| ledger.record(info.id, &info.name, |e| e.failed += 1));
        let ledger = self.clone();
        signals
            .task_cancelled
            .connect(move |info| ledger.record(info.id, &info.name, |e| e.cancelled += 1));
    }

    fn record(&self, id: TaskId, name: &str, count: impl FnOnce(&mut Entry)) {
        let mut entries = self.0.lock().unwrap();
        let entry = entries.entry(id).or_default();
        entry.name = name.to_owned();
        count(entry);
    }

    /// For the tasks the demo started: (completed, failed, cancelled, without an outcome,
    /// outcomes beyond the first).
    pub fn tally(&self, started: &[TaskId]) -> Tally {
        let entries = self.0.lock().unwrap();
        let mut tally = Tally::default();
        for id in started {
            let entry = entries.get(id).cloned().unwrap_or_default();
            let outcomes = entry.completed + entry.failed + entry.cancelled;
            tally.completed += entry.completed;
            tally.failed += entry.failed;
            tally.cancelled += entry.cancelled;
            if outcomes == 0 {
                tally.without_outcome += 1;
            }
            tally.extra_outcomes += outcomes.saturating_sub(1);
        }
        tally
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub completed: u32,
    pub failed: u32,
    pub cancelled: u32,
    pub without_outcome: u32,
    pub extra_outcomes: u32,
}

/// Counts callbacks that ran anywhere but the main thread (local callbacks never should).
pub struct ThreadCheck {
    main: ThreadId,
    pub off_main: u32,
}

impl ThreadCheck {
    pub fn new() -> Self {
        ThreadCheck {
            main: std::thread::current().id(),
            off_main: 0,
        }
    }

    pub fn here(&mut self) {
        if std::thread::current().id() != self.main {
            self.off_main += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gaps_while_busy_count() {
        let mut frames = Frames::default();
        let start = Instant::now();
        frames.tick(start, false);
        frames.tick(start + Duration::from_millis(500), false);
        frames.tick(start + Duration::from_millis(520), true);
        assert_eq!(frames.count, 3);
        assert_eq!(frames.longest_busy_gap, Duration::from_millis(20));
    }

    #[test]
    fn the_ledger_counts_outcomes_per_task() {
        let manager = TaskManager::new(1);
        let ledger = Ledger::default();
        ledger.follow(&manager);
        let ok = manager.spawn(|_| Ok::<_, task_runtime::AppError>(1));
        let failed = manager.spawn(|_| Err::<(), _>(task_runtime::AppError::new("ERR_X", "x")));
        let ids = [ok.id(), failed.id()];
        ok.join().unwrap();
        failed.join().unwrap_err();
        assert!(manager.wait_for_all(Duration::from_secs(30)));
        // A handle sees its outcome before the signals follow it (on the worker, here):
        // wait for the ledger to hear both, with a deadline.
        let deadline = Instant::now() + Duration::from_secs(30);
        let counted = || {
            let tally = ledger.tally(&ids);
            (tally.completed, tally.failed, tally.without_outcome)
        };
        while counted() != (1, 1, 0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(counted(), (1, 1, 0));
    }
}
