//! Every task the window started and how it ended, kept from the managers' signals.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use task_runtime::{Outcome, TaskId, TaskInfo, TaskManager};

/// One task, from submission to outcome.
pub struct Entry {
    pub id: TaskId,
    pub name: String,
    pub submitted: Instant,
    pub started: Option<Instant>,
    pub ended: Option<(Instant, Outcome)>,
    /// Outcomes after the first: always 0, or a guarantee is broken.
    pub extra_outcomes: u32,
}

impl Entry {
    /// How long it ran (or waited, if it never started), once it has ended.
    pub fn duration(&self) -> Option<std::time::Duration> {
        let (ended, _) = self.ended.as_ref()?;
        Some(*ended - self.started.unwrap_or(self.submitted))
    }
}

/// The window's record of its tasks, shared with the signal slots (which run on the UI
/// thread too: the managers dispatch there).
#[derive(Clone, Default)]
pub struct History(Arc<Mutex<Vec<Entry>>>);

impl History {
    /// Follows `manager`'s lifecycle signals.
    pub fn follow(&self, manager: &TaskManager) {
        let signals = manager.signals();
        let log = self.clone();
        signals
            .task_started
            .connect(move |info| log.update(info, |e| e.started = Some(Instant::now())));
        let log = self.clone();
        signals
            .task_completed
            .connect(move |info| log.end(info, Outcome::Completed));
        let log = self.clone();
        signals
            .task_cancelled
            .connect(move |info| log.end(info, Outcome::Cancelled));
        let log = self.clone();
        signals
            .task_failed
            .connect(move |(info, error)| log.end(info, Outcome::Failed(error.clone())));
    }

    /// Notes a task the window just started, so that a task without an outcome shows.
    pub fn submitted(&self, id: TaskId, name: &str) {
        self.entries().push(Entry {
            id,
            name: name.to_owned(),
            submitted: Instant::now(),
            started: None,
            ended: None,
            extra_outcomes: 0,
        });
    }

    pub fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.0.lock().unwrap()
    }

    /// Tasks submitted that have no outcome yet.
    pub fn open_count(&self) -> usize {
        self.entries().iter().filter(|e| e.ended.is_none()).count()
    }

    fn end(&self, info: &TaskInfo, outcome: Outcome) {
        let mut outcome = Some(outcome);
        self.update(info, |entry| {
            // A second outcome would be a broken guarantee: keep the first, count the rest.
            match (&entry.ended, outcome.take()) {
                (None, Some(outcome)) => entry.ended = Some((Instant::now(), outcome)),
                _ => entry.extra_outcomes += 1,
            }
        });
    }

    fn update(&self, info: &TaskInfo, change: impl FnOnce(&mut Entry)) {
        let mut entries = self.entries();
        let index = match entries.iter().position(|e| e.id == info.id) {
            Some(index) => index,
            None => {
                entries.push(Entry {
                    id: info.id,
                    name: info.name.clone(),
                    submitted: Instant::now(),
                    started: None,
                    ended: None,
                    extra_outcomes: 0,
                });
                entries.len() - 1
            }
        };
        change(&mut entries[index]);
    }
}
