//! Delivering a task's callbacks: in order, one at a time, with progress coalesced.
//!
//! Each task has a mailbox of pending events: "started", the latest progress, and the
//! terminal outcome. Posting an event sets it in the mailbox and, if no delivery is already
//! scheduled, hands the task's dispatcher one *drain* job (or, for worker-thread dispatch,
//! drains right away). The drain delivers whatever is due in the fixed order started ->
//! progress -> terminal and unschedules itself when the mailbox is empty. Hence:
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

use crate::sync::{lock, Mutex};
use crate::task::body::Completion;
use crate::task::cell::CellRef;
use crate::{unwind, AppError, Outcome, Progress};

/// The user's callbacks for one task, taken out one by one as they are delivered.
/// (`on_complete` lives with the body, which keeps the value for it.)
#[derive(Default)]
pub(crate) struct Callbacks {
    pub(crate) on_started: Option<Box<dyn FnOnce() + Send>>,
    pub(crate) on_progress: Option<Box<dyn FnMut(Progress) + Send>>,
    pub(crate) on_error: Option<Box<dyn FnOnce(AppError) + Send>>,
    pub(crate) on_cancelled: Option<Box<dyn FnOnce() + Send>>,
}

/// How a task ended, as delivered to its callbacks.
pub(crate) enum Terminal {
    /// With the `on_complete` callback(s) and the value, if the task has any.
    Completed(Option<Box<dyn Completion>>),
    Failed(AppError),
    Cancelled,
}

impl Terminal {
    /// The outcome without the callbacks' payload: for displays and signals.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Terminal::Completed(_) => Outcome::Completed,
            Terminal::Failed(error) => Outcome::Failed(error.clone()),
            Terminal::Cancelled => Outcome::Cancelled,
        }
    }
}

pub(crate) struct Delivery {
    mailbox: Mutex<Mailbox>,
}

/// Who listens to a task's events, fixed when it starts. One byte, kept in the task's core
/// (next to its other small fields, where it costs no room) and read without a lock.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Listeners(u8);

impl Listeners {
    const ON_STARTED: u8 = 1;
    const ON_PROGRESS: u8 = 1 << 1;
    const ON_CANCELLED: u8 = 1 << 2;
    /// `show_progress(true)`: the manager's progress display follows the task.
    const DISPLAY: u8 = 1 << 3;

    pub(crate) fn new(callbacks: Option<&Callbacks>, show_progress: bool) -> Self {
        let mut bits = 0;
        if let Some(callbacks) = callbacks {
            for (present, bit) in [
                (callbacks.on_started.is_some(), Self::ON_STARTED),
                (callbacks.on_progress.is_some(), Self::ON_PROGRESS),
                (callbacks.on_cancelled.is_some(), Self::ON_CANCELLED),
            ] {
                if present {
                    bits |= bit;
                }
            }
        }
        if show_progress {
            bits |= Self::DISPLAY;
        }
        Listeners(bits)
    }

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    pub(crate) fn on_started(self) -> bool {
        self.has(Self::ON_STARTED)
    }

    pub(crate) fn on_progress(self) -> bool {
        self.has(Self::ON_PROGRESS)
    }

    pub(crate) fn on_cancelled(self) -> bool {
        self.has(Self::ON_CANCELLED)
    }

    /// Whether the task asked for `show_progress`.
    pub(crate) fn display(self) -> bool {
        self.has(Self::DISPLAY)
    }
}

struct Mailbox {
    /// Boxed: only tasks with callbacks other than `on_complete` pay for them.
    callbacks: Option<Box<Callbacks>>,
    /// Boxed on the first report; later reports update it in place.
    progress: Option<Box<Progress>>,
    terminal: Option<Terminal>,
    /// A report came since the last progress delivery.
    progress_due: bool,
    /// A report came since the progress display last showed this task's progress.
    display_due: bool,
    /// A drain job is pending or running; it alone may take events out.
    scheduled: bool,
    /// No more deliveries: the terminal event was taken, or the drain job was lost.
    closed: bool,
    started: bool,
}

enum Due {
    Started,
    Progress(Progress),
    Terminal(Terminal),
}

impl Delivery {
    pub(crate) fn new(callbacks: Option<Box<Callbacks>>) -> Self {
        Delivery {
            mailbox: Mutex::new(Mailbox {
                callbacks,
                progress: None,
                terminal: None,
                progress_due: false,
                display_due: false,
                scheduled: false,
                closed: false,
                started: false,
            }),
        }
    }

    pub(crate) fn latest_progress(&self) -> Option<Progress> {
        lock(&self.mailbox).progress.as_deref().cloned()
    }

    /// The body started.
    pub(crate) fn post_started(&self, cell: &CellRef) {
        let core = &cell.core;
        if core.listeners.on_started() || core.manager.wants_started() {
            self.post(cell, |mailbox| mailbox.started = true);
        }
    }

    /// The body reported progress: update the latest value, schedule a delivery if somebody
    /// listens and none is pending. This is the hot path of a chatty body: one uncontended
    /// lock, no allocation after the first report.
    pub(crate) fn report(&self, cell: &CellRef, update: impl FnOnce(&mut Progress)) {
        let core = &cell.core;
        let mut mailbox = lock(&self.mailbox);
        update(mailbox.progress.get_or_insert_with(Box::default));
        mailbox.progress_due = true;
        let open = !mailbox.closed && !core.is_cancelled();
        let schedule = open && core.listeners.on_progress() && !mailbox.scheduled;
        mailbox.scheduled |= schedule;
        let display = open && core.listeners.display() && !mailbox.display_due;
        mailbox.display_due |= display;
        drop(mailbox);
        if schedule {
            schedule_drain(cell);
        }
        if display {
            core.manager.display().progress(cell);
        }
    }

    /// The progress display takes the latest value; the next report posts again.
    pub(crate) fn take_display_progress(&self) -> Option<Progress> {
        let mut mailbox = lock(&self.mailbox);
        mailbox.display_due = false;
        mailbox.progress.as_deref().cloned()
    }

    /// The outcome is decided and published; deliver it (or settle it at once when nobody
    /// listens).
    pub(crate) fn post_terminal(&self, cell: &CellRef, terminal: Terminal) {
        let core = &cell.core;
        let wanted = match &terminal {
            Terminal::Completed(completion) => completion.is_some(),
            Terminal::Failed(_) => true, // on_error or the manager's error handler
            Terminal::Cancelled => core.listeners.on_cancelled(),
        } || core.manager.wants_terminal(&terminal);
        let mut mailbox = lock(&self.mailbox);
        if mailbox.closed {
            drop(mailbox);
            settle_undeliverable(cell, terminal);
            return;
        }
        if !mailbox.scheduled && (!wanted || core.dispatcher().is_worker_thread()) {
            // Nothing is being delivered for this task: either nobody listens, or the delivery
            // happens right here on the worker. One lock, no drain loop.
            mailbox.closed = true;
            let callbacks = mailbox.callbacks.take();
            drop(mailbox);
            if wanted {
                let _span = core.enter_span();
                deliver_terminal(cell, terminal, callbacks);
            } else {
                if let Some(callbacks) = callbacks {
                    core.manager.drop_user_value(callbacks, core);
                }
                core.manager.settle(core);
            }
            return;
        }
        // A delivery is under way (or must be queued): the terminal event joins it, even an
        // unwanted one, so that the callbacks it still needs are released only after it.
        mailbox.terminal = Some(terminal);
        let schedule = !std::mem::replace(&mut mailbox.scheduled, true);
        drop(mailbox);
        if schedule {
            schedule_drain(cell);
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
            schedule_drain(cell);
        }
    }

    fn take_callback<C>(&self, take: impl FnOnce(&mut Callbacks) -> Option<C>) -> Option<C> {
        lock(&self.mailbox).callbacks.as_deref_mut().and_then(take)
    }

    /// Drops the callbacks that were never called, where a panic in their `Drop` is contained.
    fn release_callbacks(&self, cell: &CellRef) {
        let callbacks = lock(&self.mailbox).callbacks.take();
        if let Some(callbacks) = callbacks {
            cell.core.manager.drop_user_value(callbacks, &cell.core);
        }
    }
}

/// Hands the task's dispatcher a drain job; on the worker thread, drains right away (no job
/// to allocate).
fn schedule_drain(cell: &CellRef) {
    let dispatcher = cell.core.dispatcher();
    if dispatcher.is_worker_thread() {
        drain(cell);
        return;
    }
    let job = DrainJob(Some(cell.clone()));
    if let Err(panic) = unwind::catch(|| dispatcher.dispatch(Box::new(move || job.run()))) {
        // If the dispatcher dropped the job while panicking, the job abandoned the mailbox.
        cell.core
            .manager
            .report_user_panic("the dispatcher", &cell.core, &panic);
    }
}

/// Delivers everything due for one task, in order, until the mailbox is empty.
fn drain(cell: &CellRef) {
    let core = &cell.core;
    let delivery = &core.delivery;
    let _span = core.enter_span();
    // A queued delivery counts as undelivered until it settles; a callback it runs that waits
    // for the manager to be idle must not wait for this very delivery.
    let _delivering =
        (!core.dispatcher().is_worker_thread()).then(|| crate::context::delivering(&core.manager));
    loop {
        let due = {
            let mut mailbox = lock(&delivery.mailbox);
            if std::mem::take(&mut mailbox.started) {
                Due::Started
            } else if mailbox.progress_due && !core.is_cancelled() {
                mailbox.progress_due = false;
                match mailbox.progress.as_deref() {
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
            let callback = delivery.take_callback(|c| c.on_started.take());
            if let Some(callback) = callback.filter(|_| !silenced) {
                manager.run_callback("on_started", core, callback);
            }
            manager.task_started(cell);
        }
        Due::Progress(progress) => {
            if let Some(mut callback) = delivery.take_callback(|c| c.on_progress.take()) {
                if !silenced {
                    manager.run_callback("on_progress", core, || callback(progress));
                }
                if let Some(callbacks) = lock(&delivery.mailbox).callbacks.as_deref_mut() {
                    callbacks.on_progress = Some(callback);
                }
            }
        }
        Due::Terminal(terminal) => {
            let callbacks = lock(&delivery.mailbox).callbacks.take();
            deliver_terminal(cell, terminal, callbacks);
        }
    }
}

/// Delivers the terminal event (the mailbox is closed, `callbacks` taken out of it), then
/// releases what was not called and settles the task.
fn deliver_terminal(cell: &CellRef, terminal: Terminal, mut callbacks: Option<Box<Callbacks>>) {
    let core = &cell.core;
    let manager = &core.manager;
    let silenced = core.is_superseded();
    let ended = match terminal {
        Terminal::Completed(completion) => {
            match completion {
                Some(completion) if !silenced => {
                    manager.run_callback("on_complete", core, || completion.complete())
                }
                Some(completion) => manager.drop_user_value(completion, core),
                None => {}
            }
            Outcome::Completed
        }
        Terminal::Failed(error) => {
            let callback = callbacks.as_mut().and_then(|c| c.on_error.take());
            match callback.filter(|_| !silenced) {
                Some(callback) => {
                    let err = error.clone();
                    manager.run_callback("on_error", core, move || callback(err));
                }
                None => manager.handle_error(&error),
            }
            Outcome::Failed(error)
        }
        Terminal::Cancelled => {
            let callback = callbacks.as_mut().and_then(|c| c.on_cancelled.take());
            if let Some(callback) = callback.filter(|_| !silenced) {
                manager.run_callback("on_cancelled", core, callback);
            }
            Outcome::Cancelled
        }
    };
    if let Some(callbacks) = callbacks {
        manager.drop_user_value(callbacks, core);
    }
    manager.task_ended(cell, ended);
    manager.settle(core);
}

/// The mailbox was abandoned before the terminal event arrived: nothing can be delivered,
/// but an error still reaches the error handler and the task is still settled.
fn settle_undeliverable(cell: &CellRef, terminal: Terminal) {
    let core = &cell.core;
    match terminal {
        Terminal::Failed(error) => core.manager.handle_error(&error),
        Terminal::Completed(Some(completion)) => core.manager.drop_user_value(completion, core),
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
