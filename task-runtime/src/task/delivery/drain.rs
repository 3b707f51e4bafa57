//! The drain: delivers what a task's [`Mailbox`](super::Mailbox) holds, in order, on the
//! task's dispatcher, and tells the host when the terminal event is done.

use super::mailbox::{Callbacks, Due, Posted, Terminal};
use crate::progress::Progress;
use crate::sync::thread_local;
use crate::task::admit::TaskHost;
use crate::task::cell::CellRef;
use crate::task::travel;
use crate::unwind;
use crate::vocabulary::Outcome;

/// The body started.
pub(crate) fn post_started(cell: &CellRef) {
    let core = &cell.core;
    if (core.listeners.on_started() || core.host.wants_started()) && core.mailbox().post_started() {
        schedule(cell);
    }
}

/// The body reported progress.
#[inline]
pub(crate) fn report(cell: &CellRef, update: impl FnOnce(&mut Progress)) {
    let core = &cell.core;
    let cancelled = || core.is_cancelled();
    let features = core.features();
    let tell = (!features.is_empty()).then_some(|progress: &Progress| {
        for feature in features {
            feature.progressed(core, progress);
        }
    });
    let schedule_drain = core
        .mailbox()
        .report(core.listeners, cancelled, update, tell);
    if schedule_drain {
        schedule(cell);
    }
}

/// The body published items into an empty buffer, and `on_items` listens.
pub(crate) fn post_items(cell: &CellRef) {
    if cell.core.mailbox().post_items() {
        schedule(cell);
    }
}

/// The outcome is decided and stored in the slot: deliver it (or end the task's delivery at
/// once when nobody listens).
pub(crate) fn post_terminal(cell: &CellRef, terminal: Terminal) {
    let core = &cell.core;
    let wanted = match &terminal {
        Terminal::Completed(completion) => completion.is_some(),
        Terminal::Failed(_) => true, // on_error or the error handler
        // A silenced task's `on_cancelled` will not run (a scope's cancel of 100,000 queued
        // tasks posts no job for each to the UI thread): its callbacks are dropped here.
        Terminal::Cancelled => core.listeners.on_cancelled() && !core.is_silenced(),
    } || core.host.wants_end(terminal.state());
    let here = core.dispatcher().is_worker_thread();
    match core.mailbox().post_terminal(terminal, wanted, here) {
        Posted::Abandoned(terminal) => end_undelivered(cell, terminal),
        Posted::DeliverHere(terminal, callbacks) => {
            let _span = core.enter_span();
            // User code, run here: as if nothing travelled on this thread.
            travel::outside(|| deliver_terminal(cell, terminal, callbacks));
        }
        Posted::Unwanted(callbacks) => {
            if let Some(callbacks) = callbacks {
                core.host.drop_user_value(callbacks, core.name());
            }
            core.host.delivered(core.dispatcher());
        }
        Posted::Queued { schedule: true } => schedule(cell),
        Posted::Queued { schedule: false } => {}
    }
}

/// Hands the task's dispatcher a drain job; on the worker thread, drains right away (no job
/// to allocate).
fn schedule(cell: &CellRef) {
    if cell.core.dispatcher().is_worker_thread() {
        // User code, run here: as if nothing travelled on this thread.
        travel::outside(|| drain(cell));
    } else {
        dispatch_drain(cell);
    }
}

/// Hands the task's (queued) dispatcher a drain job.
fn dispatch_drain(cell: &CellRef) {
    let core = &cell.core;
    let dispatcher = core.dispatcher();
    let job = DrainJob(Some(cell.clone()));
    // A dispatcher is user code, which may run the job at once: as if nothing travelled.
    let dispatched =
        travel::outside(|| unwind::catch(|| dispatcher.dispatch(Box::new(move || job.deliver()))));
    if let Err(panic) = dispatched {
        // If the dispatcher dropped the job while panicking, the job abandoned the mailbox.
        core.host
            .report_panic("the dispatcher", core.name().as_str(), &panic);
    }
}

/// Delivers everything due for one task, in order, until the mailbox is empty.
fn drain(cell: &CellRef) {
    let core = &cell.core;
    let _span = core.enter_span();
    // A queued delivery counts as undelivered until it ends; a callback it runs that waits for
    // the manager to be idle must not wait for this very delivery.
    let queued = !core.dispatcher().is_worker_thread();
    let _delivering = queued.then(|| delivering(&core.host));
    // On a queued dispatcher, one batch of items per job: a body publishing faster than the
    // UI drains gets one delivery per run of the loop, not a drain that never ends.
    let mut batched = false;
    while let Some(due) = core.mailbox().next_due(|| core.is_cancelled(), batched) {
        match due {
            Due::Again => {
                // Items still due: a new job takes over (the mailbox stays scheduled).
                dispatch_drain(cell);
                return;
            }
            Due::Items => batched = queued,
            _ => {}
        }
        deliver(cell, due);
    }
}

fn deliver(cell: &CellRef, due: Due) {
    let core = &cell.core;
    let host = &core.host;
    let name = core.name();
    // A task superseded by a newer one of its name (`Exclusive::CancelPrevious`) delivers
    // none of its own callbacks any more; the manager's signals still see it end.
    let silenced = core.is_silenced();
    match due {
        Due::Started => {
            let callback = core.mailbox().take_callback(|c| c.on_started.take());
            if let Some(callback) = callback.filter(|_| !silenced) {
                host.run_callback("on_started", name, callback);
            }
            host.signal_started(core.dispatcher(), || core.info());
        }
        Due::Progress(progress) => {
            if let Some(mut callback) = core.mailbox().take_callback(|c| c.on_progress.take()) {
                if !silenced {
                    host.run_callback("on_progress", name, || callback(progress));
                }
                core.mailbox().return_on_progress(callback);
            }
        }
        Due::Items => {
            for feature in core.features() {
                feature.deliver(core, silenced);
            }
        }
        Due::Terminal(terminal) => {
            let callbacks = core.mailbox().take_callbacks();
            deliver_terminal(cell, terminal, callbacks);
        }
        Due::Again => {}
    }
}

/// Delivers the terminal event (the mailbox is closed, `callbacks` taken out of it), releases
/// what was not called, emits the manager's signal, and tells the host it is delivered.
fn deliver_terminal(cell: &CellRef, terminal: Terminal, mut callbacks: Option<Box<Callbacks>>) {
    let core = &cell.core;
    let host = &core.host;
    let name = core.name();
    let silenced = core.is_silenced();
    for feature in core.features() {
        // What a helper thread published while the outcome was decided: still before the
        // terminal callback. Nothing is delivered after it.
        feature.deliver(core, silenced);
        feature.closed(core);
    }
    let ended = match terminal {
        Terminal::Completed(completion) => {
            match completion {
                Some(completion) if !silenced => {
                    host.run_callback("on_complete", name, || completion.complete())
                }
                Some(completion) => host.drop_user_value(completion, name),
                None => {}
            }
            Outcome::Completed
        }
        Terminal::Failed(error) => {
            let callback = callbacks.as_mut().and_then(|c| c.on_error.take());
            // A failure passed on as it is (a continuation's, a combinator's) was reported
            // where it happened: it reaches this task's `on_error`, not the handler again.
            let reported = core.features().iter().any(|f| f.passed_on(&error));
            match callback.filter(|_| !silenced) {
                Some(callback) => {
                    let err = error.clone();
                    host.run_callback("on_error", name, move || callback(err));
                }
                None if reported => {}
                None => host.handle_error(&error),
            }
            Outcome::Failed(error)
        }
        Terminal::Cancelled => {
            let callback = callbacks.as_mut().and_then(|c| c.on_cancelled.take());
            if let Some(callback) = callback.filter(|_| !silenced) {
                host.run_callback("on_cancelled", name, callback);
            }
            Outcome::Cancelled
        }
    };
    if let Some(callbacks) = callbacks {
        host.drop_user_value(callbacks, name);
    }
    host.signal_ended(core.dispatcher(), || core.info(), ended);
    host.delivered(core.dispatcher());
}

/// The drain was lost before the terminal event arrived: nothing can be delivered, but an
/// error still reaches the error handler and the host still hears the delivery is over.
fn end_undelivered(cell: &CellRef, terminal: Terminal) {
    let core = &cell.core;
    let host = &core.host;
    for feature in core.features() {
        feature.closed(core);
    }
    match terminal {
        Terminal::Failed(error) if !core.features().iter().any(|f| f.passed_on(&error)) => {
            host.handle_error(&error)
        }
        Terminal::Failed(_) => {}
        Terminal::Completed(Some(completion)) => host.drop_user_value(completion, core.name()),
        Terminal::Completed(None) | Terminal::Cancelled => {}
    }
    if let Some(callbacks) = core.mailbox().take_callbacks() {
        host.drop_user_value(callbacks, core.name());
    }
    host.delivered(core.dispatcher());
}

/// The job handed to a dispatcher. Dropped without running, it abandons the mailbox.
struct DrainJob(Option<CellRef>);

impl DrainJob {
    fn deliver(mut self) {
        if let Some(cell) = self.0.take() {
            drain(&cell);
        }
    }
}

impl Drop for DrainJob {
    fn drop(&mut self) {
        let Some(cell) = self.0.take() else { return };
        let core = &cell.core;
        let terminal = core.mailbox().abandon();
        for feature in core.features() {
            feature.closed(core);
        }
        core.host.lost_delivery(core.dispatcher());
        if let Some(terminal) = terminal {
            end_undelivered(&cell, terminal);
        }
    }
}

// Loom's under `cfg(loom)` (its model threads share one OS thread). Not `const { .. }`: loom's
// `thread_local!` takes no const block.
thread_local! {
    /// Hosts (one per manager) whose callbacks this thread is delivering through a queued
    /// dispatcher, innermost last, by address.
    #[allow(clippy::missing_const_for_thread_local)]
    static DELIVERING: std::cell::RefCell<Vec<usize>> = std::cell::RefCell::new(Vec::new());
}

fn address(host: &TaskHost) -> usize {
    std::ptr::from_ref(host) as usize
}

/// Marks this thread as delivering `host`'s callbacks through a queued dispatcher until the
/// guard is dropped: a callback waiting for the manager to be idle must not wait for the very
/// delivery it runs in.
pub(crate) fn delivering(host: &TaskHost) -> Delivering {
    DELIVERING.with(|delivering| delivering.borrow_mut().push(address(host)));
    Delivering(())
}

/// How many deliveries of `host` are in progress on this thread.
pub(crate) fn delivering_here(host: &TaskHost) -> usize {
    let host = address(host);
    DELIVERING.with(|delivering| delivering.borrow().iter().filter(|h| **h == host).count())
}

/// Ends a [`delivering`] mark.
pub(crate) struct Delivering(());

impl Drop for Delivering {
    fn drop(&mut self) {
        let _ = DELIVERING.try_with(|delivering| delivering.borrow_mut().pop());
    }
}
