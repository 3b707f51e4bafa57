//! The display thread: takes display events from the workers and calls the manager's
//! [`ProgressDisplay`], so that drawing (a terminal that blocks, a display's own lock) never
//! holds up a worker.
//!
//! Workers post events to a queue: a task's start, its end, and "progress is due", at most
//! once per task until the thread takes it (the mailbox's `display_due` flag): the thread
//! then reads the latest value. Per task the queue is in posting order, so a display sees
//! started -> progress* -> finished. The thread starts with the first event and exits when
//! the manager stops it, after showing what was already queued.
//!
//! This is presentation, not an outcome: it uses `std::sync` directly rather than the
//! loom-swappable primitives of `crate::sync`, and no loom model shows progress.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use super::{Outcome, ProgressDisplay};
use crate::task::cell::CellRef;
use crate::{codes, unwind, AppError, TaskInfo};

pub(crate) struct DisplayPump {
    shared: Arc<Shared>,
}

struct Shared {
    display: Arc<dyn ProgressDisplay>,
    queue: Mutex<Queue>,
    /// Signals new events (to the thread) and the thread's exit (to `stop`).
    changed: Condvar,
    /// The display panicked once: it gets no more calls.
    switched_off: AtomicBool,
    thread_name: String,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    thread: Option<JoinHandle<()>>,
    /// The manager is gone: events are dropped, and the thread exits once it has shown the
    /// ones already queued.
    stopped: bool,
    exited: bool,
}

enum Event {
    Started(CellRef),
    Progress(CellRef),
    Finished(CellRef, Outcome),
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DisplayPump {
    pub(crate) fn new(display: Arc<dyn ProgressDisplay>, thread_name: String) -> Self {
        DisplayPump {
            shared: Arc::new(Shared {
                display,
                queue: Mutex::new(Queue::default()),
                changed: Condvar::new(),
                switched_off: AtomicBool::new(false),
                thread_name,
            }),
        }
    }

    /// A shown task's body started.
    pub(crate) fn started(&self, cell: &CellRef) {
        self.post(Event::Started(cell.clone()));
    }

    /// A shown task has progress to show (posted once until the thread takes it).
    pub(crate) fn progress(&self, cell: &CellRef) {
        self.post(Event::Progress(cell.clone()));
    }

    /// A shown task ended.
    pub(crate) fn finished(&self, cell: &CellRef, outcome: Outcome) {
        self.post(Event::Finished(cell.clone(), outcome));
    }

    fn post(&self, event: Event) {
        if self.shared.switched_off.load(Ordering::Relaxed) {
            return;
        }
        let mut queue = lock(&self.shared.queue);
        if queue.stopped {
            drop(queue);
            drop(event); // may hold the last reference to a task: outside the lock
            return;
        }
        queue.events.push_back(event);
        if queue.thread.is_none() {
            let shared = Arc::clone(&self.shared);
            let spawned = thread::Builder::new()
                .name(self.shared.thread_name.clone())
                .spawn(move || show_events(&shared));
            match spawned {
                Ok(thread) => queue.thread = Some(thread),
                Err(err) => {
                    // Nothing would ever show them: give the events back and stop trying.
                    let dropped = std::mem::take(&mut queue.events);
                    self.shared.switched_off.store(true, Ordering::Relaxed);
                    drop(queue);
                    drop(dropped);
                    tracing::error!(
                        error = %err,
                        "could not start the progress display thread; progress is not shown"
                    );
                    return;
                }
            }
        }
        drop(queue);
        self.shared.changed.notify_all();
    }

    /// Lets the thread show what is queued, then exit; waits for that until `deadline` (a
    /// display that blocks past it is left to finish on its own).
    pub(crate) fn stop(&self, deadline: Option<Instant>) {
        let shared = &self.shared;
        let mut queue = lock(&shared.queue);
        queue.stopped = true;
        shared.changed.notify_all();
        let Some(thread) = queue.thread.take() else {
            return;
        };
        if thread.thread().id() == thread::current().id() {
            return; // the last manager handle was dropped inside a display call
        }
        while !queue.exited {
            queue = match crate::sync::time_left(deadline) {
                Some(left) if left.is_zero() => return,
                Some(left) => {
                    shared
                        .changed
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => shared
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        drop(queue);
        let _ = thread.join();
    }
}

/// The display thread's loop.
fn show_events(shared: &Shared) {
    let mut batch = Vec::new();
    loop {
        {
            let mut queue = lock(&shared.queue);
            while queue.events.is_empty() && !queue.stopped {
                queue = shared
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if queue.events.is_empty() {
                queue.exited = true;
                drop(queue);
                shared.changed.notify_all();
                return;
            }
            batch.extend(queue.events.drain(..));
        }
        for event in batch.drain(..) {
            shared.show(event);
        }
    }
}

impl Shared {
    fn show(&self, event: Event) {
        if self.switched_off.load(Ordering::Relaxed) {
            return;
        }
        let (Event::Started(cell) | Event::Progress(cell) | Event::Finished(cell, _)) = &event;
        let core = &cell.core;
        let info = TaskInfo {
            id: core.id,
            name: core.name.as_str().to_owned(),
        };
        let display = &*self.display;
        let shown = unwind::catch(|| match &event {
            Event::Started(_) => display.task_started(&info),
            Event::Progress(_) => {
                // As for `on_progress`: nothing more once cancellation was requested.
                if let Some(progress) = core.delivery.take_display_progress() {
                    if !core.is_cancelled() {
                        display.task_progress(&info, &progress);
                    }
                }
            }
            Event::Finished(_, outcome) => display.task_finished(&info, outcome),
        });
        if let Err(panic) = shown {
            self.switched_off.store(true, Ordering::Relaxed);
            core.manager.handle_error(
                &AppError::new(
                    codes::ERR_CALLBACK_PANICKED,
                    format!(
                        "the progress display panicked while showing task '{}': {}; \
                         it is switched off",
                        core.name,
                        panic.message()
                    ),
                )
                .with_context("task", &core.name),
            );
        }
    }
}
