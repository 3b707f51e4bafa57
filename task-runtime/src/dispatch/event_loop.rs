use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{Dispatcher, Job};
use crate::error::{AppError, ErrorSink, Losses};
use crate::sync::{deadline_after, time_left};

/// How long [`EventLoop::run_until`] sleeps at most between two checks of its condition when
/// no job arrives: conditions may turn true without any job being queued.
const POLL_SLICE: Duration = Duration::from_millis(1);

/// A queue of callbacks for one thread, usually the UI thread: workers post, the owning
/// thread runs them with [`process_events`](EventLoop::process_events) (once per frame, say)
/// or blocks in [`run_until`](EventLoop::run_until).
///
/// Tasks deliver to it through [`dispatcher`](EventLoop::dispatcher). A waker given to
/// [`with_waker`](EventLoop::with_waker) runs whenever the queue goes from empty to
/// non-empty, so a UI that sleeps between frames (egui, for one) can ask for a repaint.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use task_runtime::{AppError, EventLoop, TaskManager};
///
/// let ui = EventLoop::new();
/// let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap();
///
/// let ui_thread = std::thread::current().id();
/// manager
///     .task(|_ctx| Ok::<_, AppError>(6 * 7))
///     .on_complete(move |answer| {
///         assert_eq!(answer, 42);
///         assert_eq!(std::thread::current().id(), ui_thread);
///     })
///     .start();
///
/// assert!(ui.run_until_idle(&manager, Duration::from_secs(10)));
/// ```
pub struct EventLoop {
    shared: Arc<LoopShared>,
    rx: Receiver<Job>,
}

/// The posting side, shared by every dispatcher of one loop.
pub(crate) struct LoopShared {
    tx: Sender<Job>,
    waker: Option<LoopWaker>,
    /// The thread that created the loop, where local callbacks can be delivered through it.
    owner: std::thread::ThreadId,
    /// Deliveries lost with the loop (queued when it was dropped, or posted after): one
    /// coalesced report, not one per task.
    lost: Losses,
}

/// The waker of [`EventLoop::with_waker`] and whether it was called since the last drain.
/// The flag lives here, not beside the queue: a loop without a waker has no flag, so a post
/// writes nothing the loop's thread writes too (a cache line less moving between cores).
struct LoopWaker {
    call: Box<dyn Fn() + Send + Sync>,
    /// Set by the post that found the loop not yet woken; cleared by `process_events`.
    /// Spurious wake-ups are possible, lost ones are not.
    woken: AtomicBool,
}

impl LoopWaker {
    /// Calls the waker unless it was called since the last [`rearm`](Self::rearm).
    fn wake(&self) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            (self.call)();
        }
    }

    /// Before draining: a post from now on wakes the loop again.
    fn rearm(&self) {
        self.woken.store(false, Ordering::Release);
    }
}

impl LoopShared {
    pub(crate) fn owner(&self) -> std::thread::ThreadId {
        self.owner
    }

    pub(crate) fn post(&self, job: Job) {
        if let Err(unsent) = self.tx.send(job) {
            // Only happens once the EventLoop itself is gone: nobody is left to run it. A task's
            // delivery job counts itself lost as it is dropped here (see `lost`).
            tracing::debug!("event loop dropped; a job posted to it is dropped");
            drop(unsent);
            return;
        }
        if let Some(waker) = &self.waker {
            waker.wake();
        }
    }
}

impl LoopShared {
    /// A task's delivery through this loop was dropped without running.
    pub(crate) fn lost(&self, sink: &ErrorSink) {
        self.lost.lose(sink);
    }
}

impl EventLoop {
    /// Creates an empty loop without a waker.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Creates a loop that calls `waker` whenever its queue becomes non-empty, from the thread
    /// that posts (a worker, or a thread cancelling a task). Typical wakers:
    /// `egui::Context::request_repaint`, `EventLoopProxy::send_event`, `Thread::unpark`.
    ///
    /// A panicking waker is reported to the manager's error handler; the job is still queued.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use task_runtime::EventLoop;
    ///
    /// let wakes = Arc::new(AtomicUsize::new(0));
    /// let counter = wakes.clone();
    /// let ui = EventLoop::with_waker(move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    /// });
    /// ui.dispatcher().dispatch(Box::new(|| {}));
    /// ui.dispatcher().dispatch(Box::new(|| {}));
    /// assert_eq!(wakes.load(Ordering::SeqCst), 1, "one wake until the queue is drained");
    /// assert_eq!(ui.process_events(), 2);
    /// ```
    pub fn with_waker(waker: impl Fn() + Send + Sync + 'static) -> Self {
        Self::build(Some(Box::new(waker)))
    }

    fn build(waker: Option<Box<dyn Fn() + Send + Sync>>) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        EventLoop {
            shared: Arc::new(LoopShared {
                tx,
                waker: waker.map(|call| LoopWaker {
                    call,
                    woken: AtomicBool::new(false),
                }),
                owner: std::thread::current().id(),
                lost: Losses::new(AppError::lost_with_event_loop),
            }),
            rx,
        }
    }

    /// A dispatcher that queues jobs on this loop. Pass it to
    /// [`TaskManagerBuilder::dispatcher`](crate::TaskManagerBuilder::dispatcher) or
    /// [`TaskBuilder::dispatcher`](crate::TaskBuilder::dispatcher).
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher::event_loop(Arc::clone(&self.shared))
    }

    /// Runs, on the calling thread, the jobs queued when the call starts; returns how many
    /// ran. Jobs queued meanwhile wait for the next call, so a callback that causes more
    /// callbacks cannot keep a frame from ending.
    ///
    /// A job posted with [`Dispatcher::dispatch`] that panics propagates the panic here; the
    /// jobs after it stay queued. (Task callbacks never panic out: their panics go to the
    /// manager's error handler.)
    pub fn process_events(&self) -> usize {
        if let Some(waker) = &self.shared.waker {
            waker.rearm();
        }
        let due = self.rx.len();
        let guard = RewakeOnUnwind(self);
        let mut ran = 0;
        while ran < due {
            match self.rx.try_recv() {
                Ok(job) => {
                    job();
                    ran += 1;
                }
                Err(_) => break,
            }
        }
        std::mem::forget(guard);
        ran
    }

    /// Processes events until `condition` returns true or `timeout` passes; returns whether
    /// the condition was met. Blocks between jobs, waking at least every millisecond to
    /// re-check the condition.
    ///
    /// Every timeout is accepted: `Duration::MAX` waits for as long as it takes.
    #[must_use = "run_until returns false when the condition did not hold in time"]
    pub fn run_until(&self, mut condition: impl FnMut() -> bool, timeout: Duration) -> bool {
        let deadline = deadline_after(timeout);
        loop {
            self.process_events();
            if condition() {
                return true;
            }
            let left = time_left(deadline);
            if left.is_some_and(|left| left.is_zero()) {
                return false;
            }
            match self
                .rx
                .recv_timeout(left.unwrap_or(POLL_SLICE).min(POLL_SLICE))
            {
                Ok(job) => job(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    unreachable!("the loop holds its own sender")
                }
            }
        }
    }

    /// The thread that created this loop. It is the thread expected to drain it, and the
    /// only one to which [local](crate::TaskBuilder::local) tasks delivering through it can
    /// deliver.
    ///
    /// ```
    /// let ui = task_runtime::EventLoop::new();
    /// assert_eq!(ui.owner(), std::thread::current().id());
    /// ```
    pub fn owner(&self) -> std::thread::ThreadId {
        self.shared.owner
    }

    /// How many jobs are queued and not yet run.
    pub fn pending(&self) -> usize {
        self.rx.len()
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("pending", &self.pending())
            .field("has_waker", &self.shared.waker.is_some())
            .finish()
    }
}

/// Dropping the loop drops the jobs still queued in it: the deliveries among them are reported
/// once, together (`ERR_DELIVERY_LOST` with `lost = <n>`), not one by one. Jobs posted later are
/// dropped as they come, and reported coalesced too.
impl Drop for EventLoop {
    fn drop(&mut self) {
        let lost = &self.shared.lost;
        lost.hold();
        // Out of the field, so that the receiver, and whatever a worker posts before it goes,
        // is dropped inside the batch.
        let rx = std::mem::replace(&mut self.rx, crossbeam_channel::never());
        while let Ok(job) = rx.try_recv() {
            drop(job);
        }
        drop(rx);
        lost.release();
    }
}

/// If a user job panics in `process_events`, the jobs behind it stay queued; make sure the
/// UI hears about them even though the wake flag was cleared.
struct RewakeOnUnwind<'a>(&'a EventLoop);

impl Drop for RewakeOnUnwind<'_> {
    fn drop(&mut self) {
        let shared = &self.0.shared;
        if let Some(waker) = &shared.waker {
            if !self.0.rx.is_empty() {
                waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    #[test]
    fn jobs_queued_during_processing_wait_for_the_next_call() {
        let ui = EventLoop::new();
        let d = ui.dispatcher();
        let d2 = d.clone();
        d.dispatch(Box::new(move || d2.dispatch(Box::new(|| {}))));
        assert_eq!(ui.process_events(), 1);
        assert_eq!(ui.pending(), 1);
        assert_eq!(ui.process_events(), 1);
        assert_eq!(ui.process_events(), 0);
    }

    /// A loop whose waker counts its calls.
    fn counting_wakes() -> (EventLoop, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&wakes);
        let ui = EventLoop::with_waker(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        (ui, wakes)
    }

    #[test]
    fn waker_runs_again_after_draining() {
        let (ui, wakes) = counting_wakes();
        let d = ui.dispatcher();
        d.dispatch(Box::new(|| {}));
        d.dispatch(Box::new(|| {}));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        ui.process_events();
        d.dispatch(Box::new(|| {}));
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panicking_job_wakes_the_loop_again_for_the_rest() {
        let (ui, wakes) = counting_wakes();
        let d = ui.dispatcher();
        d.dispatch(Box::new(|| panic!("user job")));
        d.dispatch(Box::new(|| {}));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ui.process_events()));
        assert!(caught.is_err());
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            2,
            "the job left queued is announced"
        );
        assert_eq!(ui.process_events(), 1);
        d.dispatch(Box::new(|| {}));
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            3,
            "and the loop is armed again after"
        );
    }

    #[test]
    fn a_panicking_job_leaves_the_rest_queued() {
        let ui = EventLoop::new();
        let d = ui.dispatcher();
        d.dispatch(Box::new(|| panic!("user job")));
        d.dispatch(Box::new(|| {}));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ui.process_events()));
        assert!(caught.is_err());
        assert_eq!(ui.pending(), 1);
        assert_eq!(ui.process_events(), 1);
    }

    #[test]
    fn run_until_times_out() {
        let ui = EventLoop::new();
        let start = Instant::now();
        assert!(!ui.run_until(|| false, Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(ui.run_until(|| true, Duration::ZERO));
    }

    #[test]
    fn posts_after_the_loop_is_gone_are_discarded() {
        struct Dropped(Arc<AtomicUsize>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let ui = EventLoop::new();
        let d = ui.dispatcher();
        drop(ui);
        let dropped = Arc::new(AtomicUsize::new(0));
        let guard = Dropped(dropped.clone());
        d.dispatch(Box::new(move || {
            let _guard = guard;
            unreachable!("a job posted after its loop is gone never runs");
        }));
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the job is dropped at once"
        );
    }
}
