//! The display thread: takes display events from the workers and calls the manager's
//! [`ProgressDisplay`], so that drawing (a terminal that blocks, a display's own lock) never
//! holds up a worker.
//!
//! Each shown task has a [`Shown`]: which task it is, and the latest progress it reported,
//! kept here on the display's side and updated in place by every report. A report queues
//! "progress is due" once until the thread takes it, so however often a body reports, the
//! thread shows the latest value and never a backlog. Per task the queue is in posting order,
//! so a display sees started -> progress* -> finished; nothing of a task is shown after its
//! end, nor progress after its cancellation. The thread starts with the first event and exits
//! when the manager stops it, after showing what was already queued.
//!
//! The pump knows tasks only by [`TaskInfo`]; it reports a panicking display to the
//! [`ErrorSink`] it was built with. This is presentation, not an outcome: it uses
//! `std::sync` directly rather than the loom-swappable primitives, and no loom model shows
//! progress.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::ProgressDisplay;
use crate::error::{AppError, ErrorSink};
use crate::progress::Progress;
use crate::sync::{lock, time_left, wait, wait_timeout};
use crate::unwind;
use crate::vocabulary::{Outcome, TaskInfo};

pub(crate) struct DisplayPump {
    shared: Arc<Shared>,
}

struct Shared {
    display: Arc<dyn ProgressDisplay>,
    errors: ErrorSink,
    queue: Mutex<Queue>,
    /// Signals new events (to the thread) and the thread's exit (to `stop`).
    changed: Condvar,
    /// The display panicked once (or its thread could not start): it gets no more calls.
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
    /// Events queued so far, and of those, shown (or dropped) so far: `flush` waits for the
    /// second to reach the first.
    posted: u64,
    done: u64,
    /// Threads blocked on `changed` (the display thread, flushes, the stop): only then is it
    /// notified, since a notify is a system call even when nobody waits.
    waiting: usize,
}

/// One shown task, as the display keeps it: shared by the task, which reports into it, and
/// the display thread, which shows it.
pub(crate) struct Shown {
    info: TaskInfo,
    latest: Mutex<Latest>,
    /// A line computed when it is shown rather than reported (a scope's: its counts and the
    /// units of its running tasks change with every report of every task).
    live: Option<Live>,
}

/// The line of a [`Shown::live`]: how to compute it, and whether a call to show it is queued.
struct Live {
    /// `None` once its source is gone: the progress last reported is shown then.
    line: Box<dyn Fn() -> Option<Progress> + Send + Sync>,
    /// An atomic rather than `Latest::due`: every task of a scope touches it, from every
    /// worker, and usually finds it set already (one read of a shared line, no lock).
    due: AtomicBool,
}

#[derive(Default)]
struct Latest {
    progress: Option<Progress>,
    /// Items published so far, if the task publishes any, and the count last shown.
    items: Option<u64>,
    items_shown: Option<u64>,
    /// A `Progress` event (progress, items or both) for this task is queued.
    due: bool,
    /// Ended or cancelled: later reports are ignored.
    closed: bool,
    /// Cancelled: not even the pending progress is shown.
    withheld: bool,
}

impl Shown {
    pub(crate) fn new(info: TaskInfo) -> Arc<Shown> {
        Arc::new(Shown {
            info,
            latest: Mutex::new(Latest::default()),
            live: None,
        })
    }

    /// A shown line whose progress is `line()` at the moment it is shown (the progress last
    /// reported when that is `None`); made due with [`DisplayPump::touch`].
    pub(crate) fn live(
        info: TaskInfo,
        line: impl Fn() -> Option<Progress> + Send + Sync + 'static,
    ) -> Arc<Shown> {
        Arc::new(Shown {
            info,
            latest: Mutex::new(Latest::default()),
            live: Some(Live {
                line: Box::new(line),
                due: AtomicBool::new(false),
            }),
        })
    }
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shown")
            .field("task", &self.info)
            .finish_non_exhaustive()
    }
}

enum Event {
    Started(Arc<Shown>),
    Progress(Arc<Shown>),
    Finished(Arc<Shown>, Outcome),
    /// Somebody waits for what was shown to be drawn: `ProgressDisplay::flush`.
    Flush,
}

impl DisplayPump {
    pub(crate) fn new(
        display: Arc<dyn ProgressDisplay>,
        errors: ErrorSink,
        thread_name: String,
    ) -> Self {
        DisplayPump {
            shared: Arc::new(Shared {
                display,
                errors,
                queue: Mutex::new(Queue::default()),
                changed: Condvar::new(),
                switched_off: AtomicBool::new(false),
                thread_name,
            }),
        }
    }

    /// A shown task's body started.
    pub(crate) fn started(&self, shown: &Arc<Shown>) {
        self.post(Event::Started(Arc::clone(shown)));
    }

    /// A shown task reported `progress`: it becomes the task's latest, and is queued to be
    /// shown unless it already is. Ignored after the task's end or cancellation. The hot path
    /// of a shown chatty body: one uncontended lock, no allocation after the first report.
    pub(crate) fn progress(&self, shown: &Arc<Shown>, progress: &Progress) {
        let due = {
            let mut latest = lock(&shown.latest);
            if latest.closed {
                return;
            }
            match &mut latest.progress {
                // Field by field: the message's buffer is reused (a derived `clone_from`
                // would allocate a new one for every report).
                Some(kept) => {
                    kept.current = progress.current;
                    kept.total = progress.total;
                    kept.message.clone_from(&progress.message);
                }
                none => *none = Some(progress.clone()),
            }
            !std::mem::replace(&mut latest.due, true)
        };
        if due {
            self.post(Event::Progress(Arc::clone(shown)));
        }
    }

    /// A shown task has published `count` items so far: shown beside its progress, with the
    /// same throttling.
    pub(crate) fn items(&self, shown: &Arc<Shown>, count: u64) {
        let due = {
            let mut latest = lock(&shown.latest);
            if latest.closed {
                return;
            }
            latest.items = Some(count);
            !std::mem::replace(&mut latest.due, true)
        };
        if due {
            self.post(Event::Progress(Arc::clone(shown)));
        }
    }

    /// The line of a [`Shown::live`] changed: it is queued to be shown (computed then) unless
    /// it already is. Does nothing after its end.
    pub(crate) fn touch(&self, shown: &Arc<Shown>) {
        let Some(live) = &shown.live else {
            return;
        };
        if live.due.load(Ordering::Acquire) || live.due.swap(true, Ordering::AcqRel) {
            return;
        }
        // Posted under the lock `finished` takes to close the line: either this comes before
        // the line's end in the queue, or it sees the line closed.
        let latest = lock(&shown.latest);
        if !latest.closed {
            self.post(Event::Progress(Arc::clone(shown)));
        }
    }

    /// A shown task was cancelled while running: its pending progress is not shown.
    pub(crate) fn cancelled(&self, shown: &Shown) {
        let mut latest = lock(&shown.latest);
        latest.closed = true;
        latest.withheld = true;
    }

    /// A shown task ended.
    pub(crate) fn finished(&self, shown: &Arc<Shown>, outcome: Outcome) {
        lock(&shown.latest).closed = true;
        self.post(Event::Finished(Arc::clone(shown), outcome));
    }

    /// Queues `event` and wakes the thread (starting it the first time).
    fn post(&self, event: Event) {
        let shared = &self.shared;
        if shared.switched_off.load(Ordering::Relaxed) {
            return;
        }
        let mut queue = lock(&shared.queue);
        if queue.stopped {
            return;
        }
        queue.events.push_back(event);
        queue.posted += 1;
        if queue.thread.is_none() {
            let thread = Arc::clone(shared);
            let spawned = thread::Builder::new()
                .name(shared.thread_name.clone())
                .spawn(move || show_events(&thread));
            match spawned {
                Ok(thread) => queue.thread = Some(thread),
                Err(err) => {
                    // Nothing would ever show them: forget the events and stop trying.
                    shared.switch_off(&mut queue);
                    drop(queue);
                    tracing::error!(
                        error = %err,
                        "could not start the progress display thread; progress is not shown"
                    );
                    return;
                }
            }
        }
        shared.notify_changed(&queue);
    }

    /// Waits until every event queued before this call was shown and the display drew it
    /// ([`ProgressDisplay::flush`]), or `deadline` passes (a display that blocks past it is
    /// left to finish on its own); whether it all was. Does not wait for itself (called from a
    /// display call).
    pub(crate) fn flush(&self, deadline: Option<Instant>) -> bool {
        let shared = &self.shared;
        {
            let queue = lock(&shared.queue);
            let Some(thread) = &queue.thread else {
                return true; // nothing was ever shown
            };
            if thread.thread().id() == thread::current().id() {
                return false;
            }
        }
        self.post(Event::Flush);
        let mut queue = lock(&shared.queue);
        let target = queue.posted;
        while queue.done < target && !queue.exited && !shared.switched_off.load(Ordering::Relaxed) {
            queue = match time_left(deadline) {
                Some(left) if left.is_zero() => return false,
                left => shared.wait_changed(queue, left),
            };
        }
        true
    }

    /// Lets the thread show what is queued, then exit; waits for that until `deadline` (a
    /// display that blocks past it is left to finish on its own).
    pub(crate) fn stop(&self, deadline: Option<Instant>) {
        let shared = &self.shared;
        let mut queue = lock(&shared.queue);
        queue.stopped = true;
        shared.notify_changed(&queue);
        let Some(thread) = queue.thread.take() else {
            return;
        };
        if thread.thread().id() == thread::current().id() {
            return; // the last manager handle was dropped inside a display call
        }
        while !queue.exited {
            queue = match time_left(deadline) {
                Some(left) if left.is_zero() => return,
                left => shared.wait_changed(queue, left),
            };
        }
        drop(queue);
        let _ = thread.join();
    }
}

impl fmt::Debug for DisplayPump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisplayPump")
            .field("thread", &self.shared.thread_name)
            .field(
                "switched_off",
                &self.shared.switched_off.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// How often at most a live line (a shown scope's) is shown: a scope whose 100,000 tasks each
/// change its line would otherwise wake this thread, and redraw, once per task.
const LIVE_INTERVAL: Duration = Duration::from_millis(16);

/// The display thread's loop.
fn show_events(shared: &Shared) {
    let mut batch = Vec::new();
    let mut live = LiveLines::default();
    loop {
        {
            let mut queue = lock(&shared.queue);
            while queue.events.is_empty() && !queue.stopped {
                let Some(due) = live.next_due() else {
                    queue = shared.wait_changed(queue, None);
                    continue;
                };
                let left = due.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                queue = shared.wait_changed(queue, Some(left));
            }
            if queue.events.is_empty() && queue.stopped {
                drop(queue);
                live.show_held(shared, true);
                let mut queue = lock(&shared.queue);
                queue.exited = true;
                shared.notify_changed(&queue);
                return;
            }
            batch.extend(queue.events.drain(..));
        }
        let shown = batch.len() as u64;
        for event in batch.drain(..) {
            match event {
                Event::Progress(line) if line.live.is_some() => live.offer(line, shared),
                Event::Finished(line, outcome) => {
                    live.end(&line, shared);
                    shared.show(Event::Finished(line, outcome));
                }
                Event::Flush => {
                    live.show_held(shared, true);
                    shared.show(Event::Flush);
                }
                event => shared.show(event),
            }
        }
        live.show_held(shared, false);
        let mut queue = lock(&shared.queue);
        queue.done += shown;
        shared.notify_changed(&queue);
    }
}

/// The live lines the display thread has shown, and those held back until their interval
/// passed (their `due` flag stays set meanwhile, so changes queue nothing).
#[derive(Default)]
struct LiveLines {
    lines: Vec<LiveLine>,
}

struct LiveLine {
    shown: Arc<Shown>,
    /// When it was last shown.
    at: Instant,
    held: bool,
}

impl LiveLines {
    /// Shows `line` now, or holds it until `LIVE_INTERVAL` after it was last shown.
    fn offer(&mut self, line: Arc<Shown>, shared: &Shared) {
        let now = Instant::now();
        match self.lines.iter_mut().find(|l| Arc::ptr_eq(&l.shown, &line)) {
            Some(kept) if now < kept.at + LIVE_INTERVAL => kept.held = true,
            Some(kept) => {
                kept.at = now;
                shared.show(Event::Progress(line));
            }
            None => {
                self.lines.push(LiveLine {
                    shown: Arc::clone(&line),
                    at: now,
                    held: false,
                });
                shared.show(Event::Progress(line));
            }
        }
    }

    /// When the first held line is due.
    fn next_due(&self) -> Option<Instant> {
        self.lines
            .iter()
            .filter(|l| l.held)
            .map(|l| l.at + LIVE_INTERVAL)
            .min()
    }

    /// Shows the held lines whose interval passed (`all`: every held line).
    fn show_held(&mut self, shared: &Shared, all: bool) {
        let now = Instant::now();
        for line in &mut self.lines {
            if line.held && (all || now >= line.at + LIVE_INTERVAL) {
                line.held = false;
                line.at = now;
                shared.show(Event::Progress(Arc::clone(&line.shown)));
            }
        }
    }

    /// `line` ends: shown first if it was held, then forgotten.
    fn end(&mut self, line: &Arc<Shown>, shared: &Shared) {
        if let Some(at) = self.lines.iter().position(|l| Arc::ptr_eq(&l.shown, line)) {
            let kept = self.lines.swap_remove(at);
            if kept.held {
                shared.show(Event::Progress(kept.shown));
            }
        }
    }
}

impl Shared {
    /// Wakes whoever waits on `changed`; called with the queue locked.
    fn notify_changed(&self, queue: &Queue) {
        if queue.waiting > 0 {
            self.changed.notify_all();
        }
    }

    /// Waits on `changed` (for at most `timeout`, if given).
    fn wait_changed<'a>(
        &self,
        mut queue: MutexGuard<'a, Queue>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, Queue> {
        queue.waiting += 1;
        let mut queue = match timeout {
            Some(timeout) => wait_timeout(&self.changed, queue, timeout).0,
            None => wait(&self.changed, queue),
        };
        queue.waiting -= 1;
        queue
    }

    fn show(&self, event: Event) {
        if self.switched_off.load(Ordering::Relaxed) {
            return;
        }
        let display = &*self.display;
        let (shown, result) = match &event {
            Event::Started(shown) => (shown, unwind::catch(|| display.task_started(&shown.info))),
            Event::Progress(shown) => {
                let (progress, items) = {
                    let mut latest = lock(&shown.latest);
                    latest.due = false;
                    if latest.withheld {
                        return;
                    }
                    let items = latest.items.filter(|&n| latest.items_shown != Some(n));
                    latest.items_shown = latest.items;
                    (latest.progress.clone(), items)
                };
                // Computed now, after the flag is cleared: a change from here on queues
                // another call.
                let progress = match &shown.live {
                    Some(live) => {
                        live.due.store(false, Ordering::Release);
                        match unwind::catch(&live.line) {
                            Ok(line) => line.or(progress),
                            Err(panic) => {
                                // Computing the line dropped a task's last reference, and
                                // user data with it, which panicked.
                                self.errors.report(&AppError::callback_panicked(
                                    "dropping a value",
                                    &shown.info.name,
                                    panic.message(),
                                ));
                                progress
                            }
                        }
                    }
                    None => progress,
                };
                let shown_now = unwind::catch(|| {
                    if let Some(progress) = &progress {
                        display.task_progress(&shown.info, progress);
                    }
                    if let Some(count) = items {
                        display.task_items(&shown.info, count);
                    }
                });
                (shown, shown_now)
            }
            Event::Finished(shown, outcome) => (
                shown,
                unwind::catch(|| display.task_finished(&shown.info, outcome)),
            ),
            Event::Flush => {
                if let Err(panic) = unwind::catch(|| display.flush()) {
                    self.switch_off(&mut lock(&self.queue));
                    self.errors.report(&AppError::callback_panicked(
                        "the progress display",
                        "(its flush)",
                        &format!("{}; it is switched off", panic.message()),
                    ));
                }
                return;
            }
        };
        if let Err(panic) = result {
            self.switch_off(&mut lock(&self.queue));
            self.errors.report(&AppError::callback_panicked(
                "the progress display",
                &shown.info.name,
                &format!("{}; it is switched off", panic.message()),
            ));
        }
    }

    fn switch_off(&self, queue: &mut Queue) {
        self.switched_off.store(true, Ordering::Relaxed);
        queue.done += queue.events.len() as u64;
        queue.events.clear();
        self.notify_changed(queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Records every call; blocks in `task_started` until released, so tests can pile up
    /// events behind it.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        gate: Mutex<bool>,
        opened: Condvar,
        panic_on_progress: bool,
    }

    impl Recorder {
        fn open(&self) {
            *self.gate.lock().unwrap() = true;
            self.opened.notify_all();
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl ProgressDisplay for Recorder {
        fn task_started(&self, task: &TaskInfo) {
            let mut open = self.gate.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            self.calls
                .lock()
                .unwrap()
                .push(format!("{} started", task.name));
        }
        fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
            if self.panic_on_progress {
                panic!("display bug");
            }
            let line = format!("{} {}/{}", task.name, progress.current, progress.total);
            self.calls.lock().unwrap().push(line);
        }
        fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
            let line = format!("{} {outcome}", task.name);
            self.calls.lock().unwrap().push(line);
        }
    }

    fn shown(id: u64, name: &str) -> Arc<Shown> {
        Shown::new(TaskInfo {
            id: crate::vocabulary::TaskId::for_tests(id),
            name: name.to_owned(),
        })
    }

    fn progress(current: u64) -> Progress {
        Progress {
            current,
            total: 10,
            ..Progress::default()
        }
    }

    fn pump(recorder: &Arc<Recorder>, errors: ErrorSink) -> DisplayPump {
        DisplayPump::new(recorder.clone(), errors, "display-test".to_owned())
    }

    fn stop(pump: &DisplayPump) {
        pump.stop(Some(Instant::now() + Duration::from_secs(10)));
    }

    #[test]
    fn progress_is_coalesced_to_the_latest_and_ordered_before_the_end() {
        let recorder = Arc::new(Recorder::default());
        let pump = pump(&recorder, ErrorSink::tracing());
        let a = shown(1, "a");
        pump.started(&a);
        for current in 1..=5 {
            pump.progress(&a, &progress(current));
        }
        pump.finished(&a, Outcome::Completed);
        pump.progress(&a, &progress(7)); // after the end: ignored
        recorder.open();
        stop(&pump);
        assert_eq!(recorder.calls(), ["a started", "a 5/10", "a done"]);
    }

    #[test]
    fn nothing_pending_is_shown_after_cancellation() {
        let recorder = Arc::new(Recorder::default());
        let pump = pump(&recorder, ErrorSink::tracing());
        let b = shown(2, "b");
        pump.started(&b);
        pump.progress(&b, &progress(3));
        pump.cancelled(&b);
        pump.progress(&b, &progress(4));
        pump.finished(&b, Outcome::Cancelled);
        // A task cancelled while queued only ends.
        pump.finished(&shown(3, "c"), Outcome::Cancelled);
        recorder.open();
        stop(&pump);
        assert_eq!(
            recorder.calls(),
            ["b started", "b cancelled", "c cancelled"]
        );
    }

    #[test]
    fn a_panicking_display_is_reported_once_and_switched_off() {
        let recorder = Arc::new(Recorder {
            panic_on_progress: true,
            ..Recorder::default()
        });
        recorder.open();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h = heard.clone();
        let pump = pump(
            &recorder,
            ErrorSink::new(move |error: &AppError| h.lock().unwrap().push(error.clone())),
        );
        let d = shown(4, "d");
        pump.started(&d);
        pump.progress(&d, &progress(1));
        pump.finished(&d, Outcome::Completed);
        stop(&pump);
        pump.started(&shown(5, "e"));
        assert_eq!(recorder.calls(), ["d started"]);
        let heard = heard.lock().unwrap();
        assert_eq!(heard.len(), 1);
        assert_eq!(heard[0].code(), crate::error::codes::ERR_CALLBACK_PANICKED);
        assert!(heard[0].message().contains("display bug"), "{}", heard[0]);
        assert_eq!(heard[0].context()["task"], "d");
    }
}
