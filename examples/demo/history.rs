//! Every task a demo started and how it ended, kept from the managers' signals. Shared by
//! this demo and the egui demo (`demos/egui`), which includes this file by path.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use task_runtime::{Outcome, Task, TaskId, TaskInfo, TaskManager};

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
    fn new(id: TaskId, name: String) -> Self {
        Entry {
            id,
            name,
            submitted: Instant::now(),
            started: None,
            ended: None,
            extra_outcomes: 0,
        }
    }

    /// How long it ran (or waited, if it never started), once it has ended.
    pub fn duration(&self) -> Option<std::time::Duration> {
        let (ended, _) = self.ended.as_ref()?;
        Some(*ended - self.started.unwrap_or(self.submitted))
    }
}

/// The record of a demo's tasks, shared with the signal slots (which run on the UI thread
/// too: the managers dispatch there).
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

    /// Notes a task just started, so that a task without an outcome shows. The handle may
    /// be dropped afterwards (the task detaches).
    pub fn track<T: Send + 'static, P: Send + 'static>(&self, task: &Task<T, P>) {
        self.entries()
            .push(Entry::new(task.id(), task.name().to_owned()));
    }

    pub fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.0.lock().unwrap()
    }

    /// Tasks submitted that have no outcome yet.
    pub fn open_count(&self) -> usize {
        self.entries().iter().filter(|e| e.ended.is_none()).count()
    }

    fn end(&self, info: &TaskInfo, outcome: Outcome) {
        self.update(info, |entry| {
            // A second outcome would be a broken guarantee: keep the first, count the rest.
            if entry.ended.is_none() {
                entry.ended = Some((Instant::now(), outcome));
            } else {
                entry.extra_outcomes += 1;
            }
        });
    }

    fn update(&self, info: &TaskInfo, change: impl FnOnce(&mut Entry)) {
        let mut entries = self.entries();
        let index = match entries.iter().position(|e| e.id == info.id) {
            Some(index) => index,
            None => {
                entries.push(Entry::new(info.id, info.name.clone()));
                entries.len() - 1
            }
        };
        change(&mut entries[index]);
    }
}

#[cfg(test)]
mod tests {
    use super::History;
    use task_runtime::{AppError, EventLoop, Outcome, TaskInfo, TaskManager};

    #[test]
    fn records_one_outcome_per_task_and_counts_any_more() {
        let ui = EventLoop::new();
        let manager = TaskManager::builder()
            .dispatcher(ui.dispatcher())
            .build()
            .unwrap();
        let history = History::default();
        history.follow(&manager);
        let task = manager.task(|_| Ok::<_, AppError>(1)).name("one").start();
        history.track(&task);
        assert_eq!(history.open_count(), 1);
        assert!(ui.run_until_idle(&manager, std::time::Duration::from_secs(10)));
        assert_eq!(history.open_count(), 0);

        // A second outcome for the same task is a broken guarantee: it must show.
        let info = TaskInfo {
            id: task.id(),
            name: "one".into(),
        };
        manager.signals().task_cancelled.emit(&info);
        let entries = history.entries();
        assert_eq!(entries.len(), 1);
        assert!(matches!(entries[0].ended, Some((_, Outcome::Completed))));
        assert!(entries[0].started.is_some());
        assert_eq!(entries[0].extra_outcomes, 1);
    }
}
