//! Delivering a task's callbacks: in order, one at a time, with progress coalesced.
//!
//! Each task has a mailbox of pending events: "started", the latest progress, and the
//! terminal outcome. Posting an event sets it in the mailbox and, if no delivery is already
//! scheduled, hands the task's dispatcher one *drain* job. The drain delivers whatever is due
//! in the fixed order started -> progress -> terminal and unschedules itself when the mailbox
//! is empty. Hence:
//!
//! * at most one job per task is ever pending on a dispatcher, however often the body reports
//!   progress (guarantee 4), and it delivers the latest value;
//! * callbacks of one task never run concurrently and always in order, even with a
//!   dispatcher that reorders or parallelises jobs (guarantee 2);
//! * the progress pending when the body returns is delivered before the terminal callback;
//! * nothing is delivered after the terminal event, and no progress after cancellation
//!   (guarantee 3).
//!
//! A drain job that is dropped without running (a dispatcher that loses it, an event loop
//! that is gone) *abandons* the mailbox: its outcome is still settled and an error is still
//! reported, so the manager's bookkeeping never waits for a delivery that cannot come.

use crate::dispatch::{Dispatcher, Job};
use crate::sync::{lock, Mutex};
use crate::task::cell::CellRef;
use crate::{unwind, AppError, Progress};

/// The user's callbacks for one task, taken out one by one as they are delivered.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub(crate) on_started: Option<Box<dyn FnOnce() + Send>>,
    pub(crate) on_progress: Option<Box<dyn FnMut(Progress) + Send>>,
    pub(crate) on_error: Option<Box<dyn FnOnce(AppError) + Send>>,
    pub(crate) on_cancelled: Option<Box<dyn FnOnce() + Send>>,
}

/// How a task ended, as delivered to its callbacks.
pub(crate) enum Terminal {
    /// Carries the deferred `on_complete` call, if the task has one.
    Completed(Option<Job>),
    Failed(AppError),
    Cancelled,
}

/// What a terminal event was, for signals and displays once the callback consumed it.
#[derive(Clone)]
pub(crate) enum Ended {
    Completed,
    Failed(AppError),
    Cancelled,
}

pub(crate) struct Delivery {
    dispatcher: Dispatcher,
    mailbox: Mutex<Mailbox>,
    callbacks: Mutex<Callbacks>,
    has_on_started: bool,
    has_on_cancelled: bool,
    wants_progress: bool,
}

#[derive(Default)]
struct Mailbox {
    /// A drain job is pending or running; it alone may take events out.
    scheduled: bool,
    /// No more deliveries: the terminal event was taken, or the drain job was lost.
    closed: bool,
    started: bool,
    progress: Option<Progress>,
    /// Bumped on every report; progress is due when it differs from `delivered`.
    reported: u64,
    delivered: u64,
    terminal: Option<Terminal>,
}

enum Due {
    Started,
    Progress(Progress),
    Terminal(Terminal),
}

impl Delivery {
    pub(crate) fn new(dispatcher: Dispatcher, callbacks: Callbacks) -> Self {
        Delivery {
            dispatcher,
            has_on_started: callbacks.on_started.is_some(),
            has_on_cancelled: callbacks.on_cancelled.is_some(),
            wants_progress: callbacks.on_progress.is_some(),
            callbacks: Mutex::new(callbacks),
            mailbox: Mutex::new(Mailbox::default()),
        }
    }

    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub(crate) fn latest_progress(&self) -> Option<Progress> {
        lock(&self.mailbox).progress.clone()
    }

    /// The body started.
    pub(crate) fn post_started(&self, cell: &CellRef) {
        let core = &cell.core;
        if self.has_on_started || core.manager.wants_started() {
            self.post(cell, |mailbox| mailbox.started = true);
        }
    }

    /// The body reported progress: update the latest value, schedule a delivery if nobody
    /// listens yet. This is the hot path of a chatty body: one uncontended lock.
    pub(crate) fn report(&self, cell: &CellRef, update: impl FnOnce(&mut Option<Progress>)) {
        let mut mailbox = lock(&self.mailbox);
        update(&mut mailbox.progress);
        mailbox.reported = mailbox.reported.wrapping_add(1);
        let schedule = self.wants_progress
            && !mailbox.scheduled
            && !mailbox.closed
            && !cell.core.is_cancelled();
        mailbox.scheduled |= schedule;
        drop(mailbox);
        if schedule {
            self.schedule(cell);
        }
    }

    /// The outcome is decided and published; deliver it (or settle it at once when nobody
    /// listens).
    pub(crate) fn post_terminal(&self, cell: &CellRef, terminal: Terminal) {
        let core = &cell.core;
        let wanted = match &terminal {
            Terminal::Completed(on_complete) => on_complete.is_some(),
            Terminal::Failed(_) => true, // on_error or the manager's error handler
            Terminal::Cancelled => self.has_on_cancelled,
        } || core.manager.wants_terminal(&terminal);
        let mut mailbox = lock(&self.mailbox);
        if mailbox.closed {
            drop(mailbox);
            settle_undeliverable(cell, terminal);
            return;
        }
        if !wanted && !mailbox.scheduled {
            // Nobody listens and no delivery is under way: settle without a dispatch. (With a
            // delivery under way, the terminal event rides along so that the callbacks it
            // still needs are released only after it.)
            drop(mailbox);
            self.release_callbacks(cell);
            core.manager.settle(core);
            return;
        }
        mailbox.terminal = Some(terminal);
        let schedule = !std::mem::replace(&mut mailbox.scheduled, true);
        drop(mailbox);
        if schedule {
            self.schedule(cell);
        }
    }

    fn post(&self, cell: &CellRef, event: impl FnOnce(&mut Mailbox)) {
        let mut mailbox = lock(&self.mailbox);
        if mailbox.closed {
            return;
        }
        event(&mut mailbox);
        let schedule = !std::mem::replace(&mut mailbox.scheduled, true);
        drop(mailbox);
        if schedule {
            self.schedule(cell);
        }
    }

    fn schedule(&self, cell: &CellRef) {
        let job = DrainJob(Some(cell.clone()));
        let dispatched = unwind::catch(|| self.dispatcher.dispatch(Box::new(move || job.run())));
        if let Err(panic) = dispatched {
            // If the dispatcher dropped the job while panicking, the job abandoned the mailbox.
            cell.core
                .manager
                .report_user_panic("the dispatcher", &cell.core, &panic);
        }
    }

    /// Drops the callbacks that were never called, where a panic in their `Drop` is contained.
    fn release_callbacks(&self, cell: &CellRef) {
        let callbacks = std::mem::take(&mut *lock(&self.callbacks));
        cell.core.manager.drop_user_value(callbacks, &cell.core);
    }
}

/// Delivers everything due for one task, in order, until the mailbox is empty.
fn drain(cell: &CellRef) {
    let core = &cell.core;
    let delivery = &core.delivery;
    let _span = core.span.enter();
    loop {
        let due = {
            let mut mailbox = lock(&delivery.mailbox);
            if std::mem::take(&mut mailbox.started) {
                Due::Started
            } else if mailbox.reported != mailbox.delivered && !core.is_cancelled() {
                mailbox.delivered = mailbox.reported;
                match &mailbox.progress {
                    Some(progress) => Due::Progress(progress.clone()),
                    None => continue,
                }
            } else if let Some(terminal) = mailbox.terminal.take() {
                mailbox.closed = true;
                Due::Terminal(terminal)
            } else {
                mailbox.scheduled = false;
                return;
            }
        };
        deliver(cell, due);
    }
}

fn deliver(cell: &CellRef, due: Due) {
    let core = &cell.core;
    let manager = &core.manager;
    let delivery = &core.delivery;
    // A task superseded by a newer one of its name (`Exclusive::CancelPrevious`) delivers
    // none of its own callbacks any more; the manager's signals still see it end.
    let silenced = core.is_superseded();
    match due {
        Due::Started => {
            let callback = lock(&delivery.callbacks).on_started.take();
            if let Some(callback) = callback.filter(|_| !silenced) {
                manager.run_callback("on_started", core, callback);
            }
            manager.task_started(cell);
        }
        Due::Progress(progress) => {
            let callback = lock(&delivery.callbacks).on_progress.take();
            if let Some(mut callback) = callback {
                if !silenced {
                    let shown = progress.clone();
                    manager.run_callback("on_progress", core, || callback(shown));
                }
                lock(&delivery.callbacks).on_progress = Some(callback);
            }
        }
        Due::Terminal(terminal) => {
            let ended = match terminal {
                Terminal::Completed(on_complete) => {
                    match on_complete {
                        Some(job) if !silenced => manager.run_callback("on_complete", core, job),
                        Some(job) => manager.drop_user_value(job, core),
                        None => {}
                    }
                    Ended::Completed
                }
                Terminal::Failed(error) => {
                    let callback = lock(&delivery.callbacks).on_error.take();
                    match callback.filter(|_| !silenced) {
                        Some(callback) => {
                            let err = error.clone();
                            manager.run_callback("on_error", core, move || callback(err));
                        }
                        None => manager.handle_error(&error),
                    }
                    Ended::Failed(error)
                }
                Terminal::Cancelled => {
                    let callback = lock(&delivery.callbacks).on_cancelled.take();
                    if let Some(callback) = callback.filter(|_| !silenced) {
                        manager.run_callback("on_cancelled", core, callback);
                    }
                    Ended::Cancelled
                }
            };
            delivery.release_callbacks(cell);
            manager.task_ended(cell, ended);
            manager.settle(core);
        }
    }
}

/// The mailbox was abandoned before the terminal event arrived: nothing can be delivered,
/// but an error still reaches the error handler and the task is still settled.
fn settle_undeliverable(cell: &CellRef, terminal: Terminal) {
    let core = &cell.core;
    match terminal {
        Terminal::Failed(error) => core.manager.handle_error(&error),
        Terminal::Completed(Some(job)) => core.manager.drop_user_value(job, core),
        Terminal::Completed(None) | Terminal::Cancelled => {}
    }
    core.delivery.release_callbacks(cell);
    core.manager.settle(core);
}

/// The job handed to a dispatcher. Dropped without running, it abandons the mailbox.
struct DrainJob(Option<CellRef>);

impl DrainJob {
    fn run(mut self) {
        if let Some(cell) = self.0.take() {
            drain(&cell);
        }
    }
}

impl Drop for DrainJob {
    fn drop(&mut self) {
        let Some(cell) = self.0.take() else { return };
        let core = &cell.core;
        let terminal = {
            let mut mailbox = lock(&core.delivery.mailbox);
            // `scheduled` stays set: no other drain may start for this task.
            mailbox.closed = true;
            mailbox.terminal.take()
        };
        core.manager.handle_error(
            &AppError::new(
                crate::codes::ERR_DELIVERY_LOST,
                format!(
                    "the dispatcher of task '{}' dropped a callback delivery without running it; \
                     the task's remaining callbacks will not run",
                    core.name
                ),
            )
            .with_context("task", &core.name),
        );
        if let Some(terminal) = terminal {
            settle_undeliverable(&cell, terminal);
        }
    }
}
