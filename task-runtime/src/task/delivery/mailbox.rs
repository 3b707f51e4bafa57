//! [`Mailbox`]: a task's pending events and who listens to them. State only: what to deliver
//! next, and whether a drain must be scheduled; the drain (`drain.rs`) does the delivering.

use crate::error::AppError;
use crate::progress::Progress;
use crate::sync::{lock, Mutex};

use crate::vocabulary::{Outcome, TaskState};

/// What a completed body leaves to deliver: `on_complete` callbacks with their value.
pub(crate) trait Completion: Send {
    fn complete(self: Box<Self>);
}

/// The user's callbacks for one task, taken out one by one as they are delivered.
/// (`on_complete` lives with the body, which keeps the value for it.)
#[derive(Default)]
pub(crate) struct Callbacks {
    pub(crate) on_started: Option<Box<dyn FnOnce() + Send>>,
    pub(crate) on_progress: Option<Box<dyn FnMut(Progress) + Send>>,
    pub(crate) on_error: Option<Box<dyn FnOnce(AppError) + Send>>,
    pub(crate) on_cancelled: Option<Box<dyn FnOnce() + Send>>,
}

/// Who listens to a task's events, fixed when it starts. One byte, kept in the task's core
/// (next to its other small fields, where it costs no room) and read without a lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Listeners(u8);

impl Listeners {
    const ON_STARTED: u8 = 1;
    const ON_PROGRESS: u8 = 1 << 1;
    const ON_CANCELLED: u8 = 1 << 2;

    pub(crate) fn new(callbacks: Option<&Callbacks>) -> Self {
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
}

/// How a task ended, as delivered to its callbacks: the [`Outcome`] with what the callbacks
/// need (the runtime's one internal word for it).
pub(crate) enum Terminal {
    /// With the `on_complete` callback(s) and the value, if the task has any.
    Completed(Option<Box<dyn Completion>>),
    Failed(AppError),
    Cancelled,
}

impl Terminal {
    pub(crate) fn state(&self) -> TaskState {
        match self {
            Terminal::Completed(_) => TaskState::Completed,
            Terminal::Failed(_) => TaskState::Failed,
            Terminal::Cancelled => TaskState::Cancelled,
        }
    }

    /// The outcome without the callbacks' payload: for displays and signals.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Terminal::Completed(_) => Outcome::Completed,
            Terminal::Failed(error) => Outcome::Failed(error.clone()),
            Terminal::Cancelled => Outcome::Cancelled,
        }
    }
}

pub(crate) struct Mailbox {
    events: Mutex<Events>,
}

struct Events {
    /// Boxed: only tasks with callbacks other than `on_complete` pay for them.
    callbacks: Option<Box<Callbacks>>,
    /// Boxed on the first report; later reports update it in place.
    progress: Option<Box<Progress>>,
    terminal: Option<Terminal>,
    /// A report came since the last progress delivery.
    progress_due: bool,
    /// Items were published since the last items delivery.
    items_due: bool,
    /// A drain is pending or running; it alone may take events out.
    scheduled: bool,
    /// No more deliveries: the terminal event was taken, or the drain was lost.
    closed: bool,
    started: bool,
}

/// The next event a drain delivers.
pub(crate) enum Due {
    Started,
    Progress(Progress),
    Items,
    Terminal(Terminal),
    /// Items are due again, but this drain already delivered a batch: it ends here and a new
    /// one is scheduled (the mailbox stays scheduled), so each run of a queued dispatcher's
    /// jobs delivers at most one batch per task.
    Again,
}

/// What [`Mailbox::post_terminal`] found.
pub(crate) enum Posted {
    /// The drain was lost before: nothing can be delivered any more.
    Abandoned(Terminal),
    /// No drain is under way and the delivery happens here: the mailbox is closed, and the
    /// callbacks are the caller's.
    DeliverHere(Terminal, Option<Box<Callbacks>>),
    /// Nobody listens: the mailbox is closed, the callbacks (never called) are the caller's.
    Unwanted(Option<Box<Callbacks>>),
    /// Queued behind the drain under way, or for a new one if `schedule`.
    Queued { schedule: bool },
}

impl Mailbox {
    pub(crate) fn new(callbacks: Option<Box<Callbacks>>) -> Self {
        Mailbox {
            events: Mutex::new(Events {
                callbacks,
                progress: None,
                terminal: None,
                progress_due: false,
                items_due: false,
                scheduled: false,
                closed: false,
                started: false,
            }),
        }
    }

    pub(crate) fn latest_progress(&self) -> Option<Progress> {
        lock(&self.events).progress.as_deref().cloned()
    }

    /// The latest progress's `(current, total)`, without copying its message.
    pub(crate) fn latest_units(&self) -> Option<(u64, u64)> {
        lock(&self.events)
            .progress
            .as_deref()
            .map(|p| (p.current, p.total))
    }

    /// The body started; returns whether a drain must be scheduled.
    pub(crate) fn post_started(&self) -> bool {
        let mut events = lock(&self.events);
        if events.closed {
            return false;
        }
        events.started = true;
        !std::mem::replace(&mut events.scheduled, true)
    }

    /// The body reported progress: the latest value is updated in place, and `show` (the
    /// progress display, if it follows the task) sees it, still locked, so that it sees the
    /// reports in order, unless the task is cancelled or closed. Returns whether a drain
    /// must be scheduled. This is the hot path of a chatty body: one uncontended lock, no
    /// allocation after the first report.
    #[inline]
    pub(crate) fn report(
        &self,
        listeners: Listeners,
        cancelled: impl FnOnce() -> bool,
        update: impl FnOnce(&mut Progress),
        show: Option<impl FnOnce(&Progress)>,
    ) -> bool {
        let mut events = lock(&self.events);
        let progress = events.progress.get_or_insert_with(Box::default);
        update(progress);
        let open = !events.closed && !cancelled();
        if let Some(show) = show.filter(|_| open) {
            show(events.progress.as_deref().expect("inserted above"));
        }
        events.progress_due |= open;
        let schedule = open && listeners.on_progress() && !events.scheduled;
        events.scheduled |= schedule;
        schedule
    }

    /// Items were published (and `on_items` listens); returns whether a drain must be
    /// scheduled.
    pub(crate) fn post_items(&self) -> bool {
        let mut events = lock(&self.events);
        if events.closed {
            return false;
        }
        events.items_due = true;
        !std::mem::replace(&mut events.scheduled, true)
    }

    /// The outcome is decided. `wanted`: somebody listens for it; `here`: it is delivered on
    /// the calling thread (the worker-thread dispatcher).
    pub(crate) fn post_terminal(&self, terminal: Terminal, wanted: bool, here: bool) -> Posted {
        let mut events = lock(&self.events);
        if events.closed {
            return Posted::Abandoned(terminal);
        }
        if !events.scheduled && (!wanted || here) {
            // Nothing is being delivered for this task: one lock, no drain.
            events.closed = true;
            let callbacks = events.callbacks.take();
            return if wanted {
                Posted::DeliverHere(terminal, callbacks)
            } else {
                Posted::Unwanted(callbacks)
            };
        }
        // A drain is under way (or must be scheduled): the terminal event joins it, even an
        // unwanted one, so that the callbacks it still needs are released only after it.
        events.terminal = Some(terminal);
        Posted::Queued {
            schedule: !std::mem::replace(&mut events.scheduled, true),
        }
    }

    /// What the drain delivers next, in the order started -> progress -> items -> terminal;
    /// `None` unschedules the drain. Progress is skipped once `cancelled()` says so (items
    /// are not: those published before the cancel are delivered). `batched`: this drain has
    /// delivered items already (see [`Due::Again`]).
    pub(crate) fn next_due(&self, cancelled: impl Fn() -> bool, batched: bool) -> Option<Due> {
        let mut events = lock(&self.events);
        if events.closed {
            // The terminal event was delivered: whatever came since (a report from a thread
            // the body started, say) is not.
            events.scheduled = false;
            return None;
        }
        if std::mem::take(&mut events.started) {
            return Some(Due::Started);
        }
        if std::mem::take(&mut events.progress_due) && !cancelled() {
            if let Some(progress) = events.progress.as_deref() {
                return Some(Due::Progress(progress.clone()));
            }
        }
        if events.items_due {
            if batched {
                return Some(Due::Again);
            }
            events.items_due = false;
            return Some(Due::Items);
        }
        if let Some(terminal) = events.terminal.take() {
            events.closed = true;
            return Some(Due::Terminal(terminal));
        }
        events.scheduled = false;
        None
    }

    /// Takes one callback out for its delivery.
    pub(crate) fn take_callback<C>(
        &self,
        take: impl FnOnce(&mut Callbacks) -> Option<C>,
    ) -> Option<C> {
        lock(&self.events).callbacks.as_deref_mut().and_then(take)
    }

    /// `on_progress` is called again and again: it goes back after each delivery.
    pub(crate) fn return_on_progress(&self, callback: Box<dyn FnMut(Progress) + Send>) {
        if let Some(callbacks) = lock(&self.events).callbacks.as_deref_mut() {
            callbacks.on_progress = Some(callback);
        }
    }

    /// Takes every callback not yet called.
    pub(crate) fn take_callbacks(&self) -> Option<Box<Callbacks>> {
        lock(&self.events).callbacks.take()
    }

    /// The drain was lost without running: no more deliveries, ever. Returns the terminal
    /// event if it was waiting. `scheduled` stays set, so no other drain starts.
    pub(crate) fn abandon(&self) -> Option<Terminal> {
        let mut events = lock(&self.events);
        events.closed = true;
        events.terminal.take()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn with_progress_listener() -> (Mailbox, Listeners) {
        let callbacks = Callbacks {
            on_progress: Some(Box::new(|_| {})),
            ..Callbacks::default()
        };
        let listeners = Listeners::new(Some(&callbacks));
        (Mailbox::new(Some(Box::new(callbacks))), listeners)
    }

    const NO_DISPLAY: Option<fn(&Progress)> = None;

    fn set(current: u64) -> impl FnOnce(&mut Progress) {
        move |progress| progress.current = current
    }

    fn due(mailbox: &Mailbox) -> Vec<String> {
        std::iter::from_fn(|| mailbox.next_due(|| false, false))
            .map(|due| match due {
                Due::Started => "started".to_owned(),
                Due::Progress(p) => format!("progress {}", p.current),
                Due::Items => "items".to_owned(),
                Due::Again => "again".to_owned(),
                Due::Terminal(t) => format!("{}", t.state()),
            })
            .collect()
    }

    #[test]
    fn listeners_say_who_listens() {
        let none = Listeners::new(None);
        assert!(!none.on_started() && !none.on_progress() && !none.on_cancelled());
        let callbacks = Callbacks {
            on_started: Some(Box::new(|| {})),
            on_cancelled: Some(Box::new(|| {})),
            ..Callbacks::default()
        };
        let some = Listeners::new(Some(&callbacks));
        assert!(some.on_started() && some.on_cancelled());
        assert!(!some.on_progress());
    }

    #[test]
    fn one_drain_is_scheduled_for_many_reports_and_delivers_the_latest() {
        let (mailbox, listeners) = with_progress_listener();
        assert!(mailbox.report(listeners, || false, set(1), NO_DISPLAY));
        for current in 2..=5 {
            assert!(!mailbox.report(listeners, || false, set(current), NO_DISPLAY));
        }
        assert_eq!(due(&mailbox), ["progress 5"]);
        // Unscheduled by the empty mailbox: the next report schedules again.
        assert!(mailbox.report(listeners, || false, set(6), NO_DISPLAY));
        assert_eq!(mailbox.latest_progress().unwrap().current, 6);
    }

    #[test]
    fn events_come_out_in_order_and_nothing_after_the_end() {
        let (mailbox, listeners) = with_progress_listener();
        assert!(mailbox.post_started());
        assert!(!mailbox.report(listeners, || false, set(3), NO_DISPLAY));
        let posted = mailbox.post_terminal(Terminal::Cancelled, true, false);
        assert!(matches!(posted, Posted::Queued { schedule: false }));
        assert_eq!(due(&mailbox), ["started", "progress 3", "cancelled"]);
        assert!(!mailbox.post_started(), "closed after the terminal event");
        assert!(!mailbox.report(listeners, || false, set(4), NO_DISPLAY));
        assert!(mailbox.next_due(|| false, false).is_none());
    }

    #[test]
    fn items_come_after_progress_and_before_the_end_one_batch_per_drain() {
        let (mailbox, listeners) = with_progress_listener();
        assert!(mailbox.post_items(), "the first post schedules");
        assert!(!mailbox.report(listeners, || false, set(1), NO_DISPLAY));
        assert!(!mailbox.post_items(), "one drain for many posts");
        let posted = mailbox.post_terminal(Terminal::Cancelled, true, false);
        assert!(matches!(posted, Posted::Queued { schedule: false }));
        assert!(
            matches!(mailbox.next_due(|| true, false), Some(Due::Items)),
            "items are due after cancellation, progress is not"
        );
        assert!(!mailbox.post_items(), "still scheduled");
        assert!(
            matches!(mailbox.next_due(|| true, true), Some(Due::Again)),
            "a drain that delivered a batch hands over to a new one"
        );
        assert!(matches!(mailbox.next_due(|| true, false), Some(Due::Items)));
        assert!(matches!(
            mailbox.next_due(|| true, true),
            Some(Due::Terminal(_))
        ));
        assert!(!mailbox.post_items(), "closed after the terminal event");
        assert!(mailbox.next_due(|| true, false).is_none());
    }

    #[test]
    fn no_progress_is_due_after_cancellation() {
        let (mailbox, listeners) = with_progress_listener();
        assert!(mailbox.report(listeners, || false, set(1), NO_DISPLAY));
        assert!(
            mailbox.next_due(|| true, false).is_none(),
            "cancelled meanwhile"
        );
        assert!(!mailbox.report(listeners, || true, set(2), NO_DISPLAY));
    }

    #[test]
    fn the_display_sees_open_reports_only() {
        let mailbox = Mailbox::new(None);
        let nobody = Listeners::new(None);
        let mut seen = Vec::new();
        let mut show = |p: &Progress| seen.push(p.current);
        assert!(!mailbox.report(nobody, || false, set(1), Some(&mut show)));
        mailbox.report(nobody, || true, set(2), Some(&mut show));
        mailbox.report(nobody, || false, set(3), NO_DISPLAY);
        assert_eq!(seen, [1]);
    }

    #[test]
    fn a_terminal_event_with_no_drain_under_way_is_delivered_or_dropped_here() {
        let (mailbox, _) = with_progress_listener();
        match mailbox.post_terminal(Terminal::Cancelled, true, true) {
            Posted::DeliverHere(Terminal::Cancelled, Some(_)) => {}
            _ => panic!("delivered here, with the callbacks"),
        }
        assert!(matches!(
            mailbox.post_terminal(Terminal::Cancelled, true, true),
            Posted::Abandoned(_)
        ));
        let (mailbox, _) = with_progress_listener();
        assert!(matches!(
            mailbox.post_terminal(Terminal::Cancelled, false, false),
            Posted::Unwanted(Some(_))
        ));
        let queued = Mailbox::new(None);
        assert!(matches!(
            queued.post_terminal(Terminal::Cancelled, true, false),
            Posted::Queued { schedule: true }
        ));
    }

    #[test]
    fn an_abandoned_mailbox_gives_back_its_terminal_event_once() {
        let mailbox = Mailbox::new(None);
        assert!(matches!(
            mailbox.post_terminal(Terminal::Cancelled, true, false),
            Posted::Queued { schedule: true }
        ));
        assert!(matches!(mailbox.abandon(), Some(Terminal::Cancelled)));
        assert!(mailbox.abandon().is_none());
        assert!(!mailbox.post_started());
    }
}
