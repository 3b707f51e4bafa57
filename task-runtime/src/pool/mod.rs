//! The worker pool: threads started on demand up to a maximum, reused, retired after an idle
//! timeout.
//!
//! Its design, the promises it keeps and where each is checked are in `README.md` beside this
//! file: one unbounded channel for the common priority, a small ranked queue for the others,
//! thread accounting in one atomic word (`slots.rs`), and every exit path giving its slot back
//! before it looks at the queue once more, so a queued job never waits while the pool is below
//! its limit.

mod queue;
mod slots;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::clock::TestClock;

#[cfg(not(loom))]
use crate::sync::wait;
use crate::sync::{lock, wait_until, Condvar, Mutex};
use queue::PriorityQueue;
pub(crate) use queue::Rank;
use slots::{Placement, Slots};

/// A unit of work the pool can run.
pub(crate) trait PoolJob: Send + 'static {
    /// Higher runs first; FIFO among equal priorities.
    fn priority(&self) -> i32;
    /// Whether the job resumes work already begun (a woken body): it goes ahead of the
    /// never-started jobs of its priority.
    fn resumes(&self) -> bool {
        false
    }
    /// Where the job queues.
    fn rank(&self) -> Rank {
        Rank {
            priority: self.priority(),
            resumed: self.resumes(),
        }
    }
    /// Runs the job; whether it did its work (a job may find it has nothing to do any more).
    /// Jobs contain their own panics.
    fn execute(self) -> bool;
    /// Whether the job no longer needs to run (its task was cancelled while queued).
    fn is_stale(&self) -> bool;
    /// The job can never run: no worker thread could be started. `reason` says why.
    // Under loom no thread is ever started, so none can fail to.
    #[cfg_attr(loom, allow(dead_code))]
    fn abandon(self, reason: &str);
}

/// How a pool is set up.
pub(crate) struct PoolConfig {
    pub(crate) max_threads: usize,
    pub(crate) thread_name: String,
    pub(crate) idle_timeout: Duration,
    /// The workers' stack size in bytes; `None` for the standard library's default.
    pub(crate) stack_size: Option<usize>,
    /// No worker thread ever starts: jobs run only through [`Pool::run_next`].
    pub(crate) manual: bool,
    /// A test's clock: idle workers expire by it, checked as it advances.
    pub(crate) clock: Option<TestClock>,
    /// What each worker's life (and each job a manual pool runs on its caller) runs inside:
    /// the tokio runtime context, with feature `tokio`.
    pub(crate) around: Option<Around>,
}

/// Runs the work it is given inside some context (a runtime entered for the thread's life).
pub(crate) type Around = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

pub(crate) struct Pool<J: PoolJob> {
    shared: Arc<Shared<J>>,
    /// On a test's clock: what its `advance` calls (it holds it weakly).
    _clock_hook: Option<Arc<dyn Fn() + Send + Sync>>,
}

enum Message<J> {
    Job(J),
    /// Look at the ranked queue, the limit, or the terminating flag.
    Wake,
}

struct Shared<J> {
    sender: Sender<Message<J>>,
    receiver: Receiver<Message<J>>,
    /// Jobs with a priority other than 0.
    ranked: Mutex<PriorityQueue<J>>,
    ranked_above: AtomicUsize,
    ranked_below: AtomicUsize,
    slots: Slots,
    terminating: AtomicBool,
    manual: bool,
    #[cfg_attr(loom, allow(dead_code))]
    clock: Option<TestClock>,
    threads: Mutex<Threads>,
    /// `terminate` waits here for workers to exit.
    exited: Condvar,
    #[cfg_attr(loom, allow(dead_code))]
    thread_name: String,
    #[cfg_attr(loom, allow(dead_code))]
    idle_timeout: Duration,
    #[cfg_attr(loom, allow(dead_code))]
    stack_size: Option<usize>,
    /// Identifies the pool's worker threads (see `WORKER_OF`).
    id: usize,
    around: Option<Around>,
}

/// Handles of the threads started, by index. `retired` lists those past their last job but
/// maybe not yet gone: they are joined before a new thread starts. A thread is listed there
/// under this lock in the same step as it gives its slot back, and a start joins every listed
/// thread (waiting while `joining` says another start is doing so) before it spawns: the OS
/// never holds more of the pool's threads than the limit, not even for the microseconds a
/// retired thread takes to exit.
#[derive(Default)]
struct Threads {
    #[cfg_attr(loom, allow(dead_code))]
    next_index: usize,
    handles: Vec<(usize, JoinHandle<()>)>,
    retired: Vec<usize>,
    /// Starts now joining retired threads outside the lock.
    #[cfg_attr(loom, allow(dead_code))]
    joining: usize,
}

static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The id of the pool whose worker this thread is, 0 for other threads.
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

/// Which threads belong to one pool: what a task needs to know to run a queued task inline
/// when it is joined on one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolThreads(usize);

impl PoolThreads {
    /// No pool's threads: for tasks outside a manager (an event loop's local futures, unit
    /// tests).
    // Under loom there are no local futures.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn none() -> Self {
        PoolThreads(0)
    }

    /// Whether the calling thread is one of the pool's workers.
    pub(crate) fn include_current(self) -> bool {
        self.0 != 0 && WORKER_OF.with(Cell::get) == self.0
    }
}

impl<J: PoolJob> Pool<J> {
    pub(crate) fn new(config: PoolConfig) -> Self {
        assert!(config.max_threads > 0, "a pool needs at least one thread");
        let (sender, receiver) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            sender,
            receiver,
            ranked: Mutex::new(PriorityQueue::new()),
            ranked_above: AtomicUsize::new(0),
            ranked_below: AtomicUsize::new(0),
            slots: Slots::new(config.max_threads),
            terminating: AtomicBool::new(false),
            threads: Mutex::new(Threads::default()),
            exited: Condvar::new(),
            thread_name: config.thread_name,
            idle_timeout: config.idle_timeout,
            stack_size: config.stack_size,
            manual: config.manual,
            clock: config.clock,
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            around: config.around,
        });
        // Idle workers wait without a timeout on a test's clock; each advance wakes them to
        // look at it.
        let hook = shared.clock.as_ref().map(|clock| {
            let weak = Arc::downgrade(&shared);
            let hook: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                if let Some(shared) = weak.upgrade() {
                    for _ in 0..shared.slots.unclaimed_idle() {
                        shared.send(Message::Wake);
                    }
                }
            });
            clock.on_advance(Arc::downgrade(&hook));
            hook
        });
        Pool {
            shared,
            _clock_hook: hook,
        }
    }

    /// Queues `job`, then claims an idle worker for it or starts a thread if the limit allows.
    /// Gives the job back if the pool is terminating.
    pub(crate) fn submit(&self, job: J) -> Result<(), J> {
        let shared = &self.shared;
        if shared.terminating.load(Ordering::Acquire) {
            return Err(job);
        }
        let rank = job.rank();
        if rank
            == (Rank {
                priority: 0,
                resumed: false,
            })
        {
            shared.send(Message::Job(job));
        } else {
            lock(&shared.ranked).push(rank, job);
            let counter = if rank.above_zero() {
                &shared.ranked_above
            } else {
                &shared.ranked_below
            };
            counter.fetch_add(1, Ordering::Release);
            shared.send(Message::Wake);
        }
        if !shared.manual && shared.slots.place_job() == Placement::Start {
            shared.spawn_worker();
        }
        Ok(())
    }

    pub(crate) fn max_threads(&self) -> usize {
        self.shared.slots.max()
    }

    /// Changes the thread limit at once: growing starts threads for queued jobs, shrinking
    /// retires threads as they finish their current job.
    pub(crate) fn set_max_threads(&self, max_threads: usize) {
        assert!(max_threads > 0, "a pool needs at least one thread");
        let shared = &self.shared;
        shared.slots.set_max(max_threads);
        let live = shared.slots.live();
        if live > max_threads {
            // Idle workers are blocked in `recv`: wake them so they see the new limit.
            for _ in max_threads..live {
                shared.send(Message::Wake);
            }
            return;
        }
        let queued = if shared.manual { 0 } else { shared.queued() };
        for _ in 0..queued.min(max_threads - live) {
            if !shared.slots.reserve() {
                break;
            }
            shared.spawn_worker();
        }
    }

    /// Threads currently alive (busy or idle).
    pub(crate) fn live_threads(&self) -> usize {
        self.shared.slots.live()
    }

    /// Removes stale jobs from the ranked queue (dropped after the lock is released: dropping
    /// a job may drop user data). Stale jobs on the channel are skipped by the workers that
    /// receive them.
    pub(crate) fn purge_stale(&self) {
        let shared = &self.shared;
        let removed = lock(&shared.ranked).extract_if_not(|job| !job.is_stale());
        for job in &removed {
            let counter = if job.rank().above_zero() {
                &shared.ranked_above
            } else {
                &shared.ranked_below
            };
            counter.fetch_sub(1, Ordering::AcqRel);
        }
        drop(removed);
    }

    /// Runs the next queued job that is still wanted (not cancelled meanwhile), in priority
    /// order, on the calling thread; whether one did its work. How a manual pool's jobs run.
    pub(crate) fn run_next(&self) -> bool {
        loop {
            match self.shared.next_queued() {
                Some(Message::Job(job)) if job.is_stale() => continue,
                Some(Message::Job(job)) => {
                    if self.shared.execute(job) {
                        return true;
                    }
                }
                Some(Message::Wake) => continue,
                None => return false,
            }
        }
    }

    /// Runs the next queued job on the calling thread (loom models play the worker).
    #[cfg(loom)]
    pub(crate) fn run_queued(&self) -> bool {
        loop {
            match self.shared.next_queued() {
                Some(Message::Job(job)) => {
                    job.execute();
                    return true;
                }
                Some(Message::Wake) => continue,
                None => return false,
            }
        }
    }

    /// Tells this pool's threads from others, without a reference to the pool.
    pub(crate) fn threads(&self) -> PoolThreads {
        PoolThreads(self.shared.id)
    }

    /// Stops accepting jobs and lets every worker exit once the queue is empty; waits until
    /// `deadline` (`None`: for as long as it takes) for them to do so and joins those that
    /// did. Returns whether all exited (the calling thread does not count if it is a worker of
    /// this pool).
    pub(crate) fn terminate(&self, deadline: Option<Instant>) -> bool {
        let shared = &self.shared;
        let allowed = usize::from(self.threads().include_current());
        shared.terminating.store(true, Ordering::Release);
        for _ in 0..shared.slots.live() {
            shared.send(Message::Wake);
        }
        let mut threads = lock(&shared.threads);
        while shared.slots.live() > allowed {
            let (guard, passed) = wait_until(&shared.exited, threads, deadline);
            threads = guard;
            if passed {
                break;
            }
        }
        let all_exited = shared.slots.live() <= allowed;
        let handles = std::mem::take(&mut threads.handles);
        drop(threads);

        let me = thread::current().id();
        for (_, handle) in handles {
            // A thread still running a body after the deadline is detached, never waited on.
            if handle.thread().id() != me && (all_exited || handle.is_finished()) {
                let _ = handle.join();
            }
        }
        all_exited
    }
}

impl<J: PoolJob> Drop for Pool<J> {
    fn drop(&mut self) {
        // Without an explicit `terminate`, idle workers would linger until their idle timeout.
        let shared = &self.shared;
        shared.terminating.store(true, Ordering::Release);
        for _ in 0..shared.slots.live() {
            shared.send(Message::Wake);
        }
    }
}

impl<J: PoolJob> Shared<J> {
    fn send(&self, message: Message<J>) {
        // The pool holds a receiver for as long as it holds the sender: this cannot fail.
        let _ = self.sender.send(message);
    }

    /// Jobs waiting (wake-up messages included: an estimate, for growing the pool).
    fn queued(&self) -> usize {
        self.receiver.len()
            + self.ranked_above.load(Ordering::Acquire)
            + self.ranked_below.load(Ordering::Acquire)
    }

    /// Wakes one more worker if others must still retire. A worker may swallow several
    /// wake-ups meant for others while looping, so each retiring one passes the baton on.
    fn pass_the_baton(&self) {
        let live = self.slots.live();
        if live > 0 && (self.terminating.load(Ordering::Acquire) || live > self.slots.max()) {
            self.send(Message::Wake);
        }
    }

    /// Gives up this thread's slot if there are more threads than the limit allows. Returns
    /// whether the thread is to exit.
    fn retire_if_surplus(&self, index: usize) -> bool {
        // Checked without the lock first: this runs before every job.
        if self.slots.live() <= self.slots.max() {
            return false;
        }
        self.leave_slot(index, || {
            if !self.slots.release_if_surplus() {
                return false;
            }
            self.pass_the_baton();
            !self.slots.rejoin(|| !self.nothing_queued())
        })
    }

    /// Gives up this thread's slot unconditionally (the pool is terminating).
    fn retire(&self, index: usize) {
        self.leave_slot(index, || {
            self.slots.release();
            true
        });
    }

    /// Runs `leave` (which gives this thread's slot back and says whether the thread is to
    /// exit) and lists the thread as retired, both under the threads lock: a start that takes
    /// the freed slot then finds it listed and joins it (see [`Threads`]). Returns whether
    /// the thread is to exit.
    fn leave_slot(&self, index: usize, leave: impl FnOnce() -> bool) -> bool {
        let mut threads = lock(&self.threads);
        if !leave() {
            return false;
        }
        threads.retired.push(index);
        drop(threads);
        self.exited.notify_all();
        true
    }

    fn pop_ranked(&self, above: bool) -> Option<J> {
        let counter = if above {
            &self.ranked_above
        } else {
            &self.ranked_below
        };
        if counter.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut ranked = lock(&self.ranked);
        // The queue's own order decides: above-zero jobs come out before below-zero ones.
        let job = ranked.pop_if(|rank| rank.above_zero() == above)?;
        counter.fetch_sub(1, Ordering::AcqRel);
        Some(job)
    }

    /// The next job without blocking, in priority order.
    fn next_queued(&self) -> Option<Message<J>> {
        if let Some(job) = self.pop_ranked(true) {
            return Some(Message::Job(job));
        }
        match self.receiver.try_recv() {
            Ok(message) => return Some(message),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
        }
        self.pop_ranked(false).map(Message::Job)
    }

    /// Runs `job` here, inside the pool's context if it has one.
    fn execute(&self, job: J) -> bool {
        let Some(around) = &self.around else {
            return job.execute();
        };
        let (mut job, mut done) = (Some(job), false);
        around(&mut || done = job.take().is_some_and(PoolJob::execute));
        done
    }

    fn nothing_queued(&self) -> bool {
        self.receiver.is_empty()
            && self.ranked_above.load(Ordering::Acquire) == 0
            && self.ranked_below.load(Ordering::Acquire) == 0
    }

    /// Under loom, models run queued jobs themselves with [`Pool::run_queued`]: no OS thread
    /// may start, so the reserved slot is given back.
    #[cfg(loom)]
    fn spawn_worker(self: &Arc<Self>) {
        self.slots.release();
    }

    /// Starts a worker whose `live` slot the caller already reserved, after joining the
    /// workers that retired since the last start (see [`Threads`]).
    #[cfg(not(loom))]
    fn spawn_worker(self: &Arc<Self>) {
        let mut threads = lock(&self.threads);
        while threads.joining > 0 {
            threads = wait(&self.exited, threads);
        }
        let retired = std::mem::take(&mut threads.retired);
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut threads.handles)
            .into_iter()
            .partition(|(i, handle)| retired.contains(i) || handle.is_finished());
        threads.handles = kept;
        if !gone.is_empty() {
            threads.joining += 1;
            drop(threads);
            let me = thread::current().id();
            for (_, handle) in gone {
                // Past their last job: this waits microseconds at most.
                if handle.thread().id() != me {
                    let _ = handle.join();
                }
            }
            threads = lock(&self.threads);
            threads.joining -= 1;
            self.exited.notify_all();
        }
        threads.next_index += 1;
        let index = threads.next_index;
        let shared = Arc::clone(self);
        let mut builder = thread::Builder::new().name(format!("{}-{index}", self.thread_name));
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        // `spawn` panics instead of failing for some inputs (a name with a NUL byte, which
        // `build` refuses): either way the slot must come back. Spawned under the lock, so
        // the handle is listed before the new thread can retire (which takes the lock).
        let spawned =
            match crate::unwind::catch(|| builder.spawn(move || worker_main(shared, index))) {
                Ok(spawned) => spawned.map_err(|err| err.to_string()),
                Err(panic) => Err(panic.message().to_owned()),
            };
        let reason = match spawned {
            Ok(handle) => {
                threads.handles.push((index, handle));
                return;
            }
            Err(reason) => reason,
        };
        drop(threads);
        self.slots.release();
        self.exited.notify_all();
        let live = self.slots.live();
        tracing::error!(
            error = %reason,
            live,
            queued = self.queued(),
            "could not start a worker thread"
        );
        if live == 0 {
            // Nobody is left to run what is queued: fail it rather than let it wait for a
            // thread that may never come.
            self.abandon_queued(&format!("could not start a worker thread: {reason}"));
        }
    }

    /// Takes every queued job out and abandons it.
    #[cfg(not(loom))]
    fn abandon_queued(&self, reason: &str) {
        while let Some(message) = self.next_queued() {
            if let Message::Job(job) = message {
                job.abandon(reason);
            }
        }
    }

    /// Waits for a message for at most the idle timeout: in real time, or on a test's clock,
    /// counted from `idle_since` (set by the first wait), waiting until an advance wakes it.
    fn wait_idle(&self, idle_since: &mut Option<Duration>) -> Result<Message<J>, RecvTimeoutError> {
        let Some(clock) = &self.clock else {
            return self.receiver.recv_timeout(self.idle_timeout);
        };
        let since = *idle_since.get_or_insert_with(|| clock.elapsed());
        if clock.elapsed().saturating_sub(since) >= self.idle_timeout {
            return Err(RecvTimeoutError::Timeout);
        }
        self.receiver
            .recv()
            .map_err(|_| RecvTimeoutError::Disconnected)
    }

    /// This worker was idle and just received a message; it takes one job only. If work is
    /// still queued and no unclaimed worker is idle (a busy worker took the job this one was
    /// claimed for, say), start a thread: a queued job never waits while the pool is below
    /// its limit.
    fn cover_for_woken_idle(self: &Arc<Self>) {
        if !self.nothing_queued() && self.slots.unclaimed_idle() == 0 && self.slots.reserve() {
            self.spawn_worker();
        }
    }

    /// Takes the next job, or returns `None` when this worker should exit (after giving up
    /// its `live` slot).
    fn next_job(self: &Arc<Self>, index: usize, deferred: &mut Option<J>) -> Option<J> {
        // When this worker began to wait, on a test's clock.
        let mut idle_since = None;
        loop {
            if let Some(job) = deferred.take() {
                // Still behind any job ranked above 0 that arrived since.
                if let Some(urgent) = self.pop_ranked(true) {
                    *deferred = Some(job);
                    return Some(urgent);
                }
                return Some(job);
            }
            if self.retire_if_surplus(index) {
                return None;
            }
            match self.next_queued() {
                Some(Message::Job(job)) => return Some(job),
                Some(Message::Wake) => continue,
                None => {}
            }
            if self.terminating.load(Ordering::Acquire) {
                self.retire(index);
                self.pass_the_baton();
                return None;
            }
            self.slots.enter_idle();
            let received = self.wait_idle(&mut idle_since);
            self.slots.leave_idle();
            if received.is_ok() {
                self.cover_for_woken_idle();
            }
            match received {
                Ok(Message::Job(job)) => {
                    // A job ranked above 0 may have arrived meanwhile: it goes first, and this
                    // one waits in the worker's hand (re-sending it would break FIFO order).
                    if let Some(urgent) = self.pop_ranked(true) {
                        *deferred = Some(job);
                        return Some(urgent);
                    }
                    return Some(job);
                }
                Ok(Message::Wake) => continue,
                Err(RecvTimeoutError::Timeout) if self.nothing_queued() => {
                    if self.leave_slot(index, || self.slots.leave(|| !self.nothing_queued())) {
                        return None;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => continue,
            }
        }
    }
}

#[cfg_attr(loom, allow(dead_code))]
fn worker_main<J: PoolJob>(shared: Arc<Shared<J>>, index: usize) {
    WORKER_OF.with(|w| w.set(shared.id));
    let mut sentinel = Sentinel {
        shared: &shared,
        active: true,
    };
    let mut deferred = None;
    let mut work = || {
        while let Some(job) = shared.next_job(index, &mut deferred) {
            job.execute();
        }
    };
    match &shared.around {
        Some(around) => around(&mut work),
        None => work(),
    }
    sentinel.active = false;
}

/// Replaces a worker whose thread unwinds (threadpool's sentinel). Jobs contain their own
/// panics, so this is the last line of defence, not the normal path.
struct Sentinel<'a, J: PoolJob> {
    shared: &'a Arc<Shared<J>>,
    active: bool,
}

impl<J: PoolJob> Drop for Sentinel<'_, J> {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let shared = self.shared;
        let replace = !shared.terminating.load(Ordering::Acquire) && !shared.nothing_queued();
        if replace {
            // The dying thread's `live` slot passes to its replacement.
            shared.spawn_worker();
        } else {
            shared.slots.release();
            shared.exited.notify_all();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;

    struct TestJob {
        priority: i32,
        f: Box<dyn FnOnce() + Send>,
    }

    impl PoolJob for TestJob {
        fn priority(&self) -> i32 {
            self.priority
        }
        fn execute(self) -> bool {
            (self.f)();
            true
        }
        fn is_stale(&self) -> bool {
            false
        }
        fn abandon(self, _reason: &str) {}
    }

    fn job(f: impl FnOnce() + Send + 'static) -> TestJob {
        TestJob {
            priority: 0,
            f: Box::new(f),
        }
    }

    fn pool(max_threads: usize, idle: Duration) -> Pool<TestJob> {
        Pool::new(PoolConfig {
            max_threads,
            thread_name: "pool-test".into(),
            idle_timeout: idle,
            stack_size: None,
            manual: false,
            clock: None,
            around: None,
        })
    }

    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn smoke() {
        let pool = pool(2, Duration::from_secs(30));
        let (tx, rx) = mpsc::channel();
        for n in 0..100 {
            let tx = tx.clone();
            pool.submit(job(move || tx.send(n).unwrap())).ok().unwrap();
        }
        let mut got: Vec<i32> = (0..100)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert!(pool.live_threads() <= 2);
    }

    #[test]
    fn idle_threads_exit_and_come_back() {
        let pool = pool(3, Duration::from_millis(20));
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        pool.submit(job(move || tx2.send(()).unwrap()))
            .ok()
            .unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        wait_until("idle exit", || pool.live_threads() == 0);
        pool.submit(job(move || tx.send(()).unwrap())).ok().unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn shrinking_retires_threads_after_their_job() {
        let pool = pool(4, Duration::from_secs(30));
        let release = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (release, running) = (release.clone(), running.clone());
            pool.submit(job(move || {
                running.fetch_add(1, Ordering::SeqCst);
                while !release.load(Ordering::SeqCst) {
                    thread::yield_now();
                }
            }))
            .ok()
            .unwrap();
        }
        wait_until("4 running", || running.load(Ordering::SeqCst) == 4);
        pool.set_max_threads(1);
        assert_eq!(
            pool.live_threads(),
            4,
            "busy threads finish their job first"
        );
        release.store(true, Ordering::SeqCst);
        wait_until("retirement", || pool.live_threads() == 1);
    }

    #[test]
    fn terminate_joins_workers() {
        let pool = pool(2, Duration::from_secs(30));
        let (tx, rx) = mpsc::channel();
        for _ in 0..2 {
            let tx = tx.clone();
            pool.submit(job(move || tx.send(()).unwrap())).ok().unwrap();
        }
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(pool.terminate(Some(Instant::now() + Duration::from_secs(10))));
        assert_eq!(pool.live_threads(), 0);
        assert!(pool.submit(job(|| ())).is_err());
    }

    /// Threads of this process named `prefix..` that were all running (not exiting) at one
    /// moment. A thread that has left the pool but not yet exited counts; one the kernel is
    /// tearing down after `join` returned (flag `PF_EXITING` in `/proc/<tid>/stat`) does not,
    /// although it can stay listed a while (waiting for the memory map's lock that starting
    /// threads take). Reading the directory is not atomic: a thread read early may be gone by
    /// the time a thread started later is read, so every thread found is read again after
    /// the scan, and only those still running count: each was running both when it was first
    /// read and at the first re-read, so all of them were running together then.
    fn os_threads_named(prefix: &str) -> usize {
        const PF_EXITING: u64 = 0x4;
        let running_named = |tid: &str| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
                return false;
            };
            let Some((head, tail)) = stat.rsplit_once(") ") else {
                return false;
            };
            let named = head
                .split_once(" (")
                .is_some_and(|(_, name)| name.starts_with(prefix));
            let flags = tail.split(' ').nth(6).and_then(|f| f.parse::<u64>().ok());
            named && flags.is_some_and(|f| f & PF_EXITING == 0)
        };
        let found: Vec<String> = std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(|task| task.ok()?.file_name().into_string().ok())
                    .filter(|tid| running_named(tid))
                    .collect()
            })
            .unwrap_or_default();
        found.iter().filter(|tid| running_named(tid)).count()
    }

    /// A thread-local whose destructor takes a while, as user code's may: a worker that
    /// retired is still a thread of the process while it runs.
    struct SlowToDrop;

    impl Drop for SlowToDrop {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(2));
        }
    }

    thread_local! {
        static SLOW_TO_DROP: SlowToDrop = const { SlowToDrop };
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_os_never_sees_more_threads_than_the_limit() {
        // Threads retire (surplus after a shrink, idle timeout) while submissions start new
        // ones: a new thread may start only once every retired one is gone.
        const MAX: usize = 4;
        let pool = Pool::<TestJob>::new(PoolConfig {
            max_threads: MAX,
            thread_name: "osmax".into(),
            idle_timeout: Duration::from_micros(200),
            stack_size: None,
            manual: false,
            clock: None,
            around: None,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(0));
        let monitor = {
            let (stop, peak) = (stop.clone(), peak.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    peak.fetch_max(os_threads_named("osmax-"), Ordering::SeqCst);
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut round = 0usize;
        while Instant::now() < deadline && peak.load(Ordering::SeqCst) <= MAX {
            round += 1;
            pool.set_max_threads(1 + round % MAX);
            for _ in 0..MAX {
                pool.submit(job(|| {
                    SLOW_TO_DROP.with(|_| ());
                    thread::sleep(Duration::from_micros(50));
                }))
                .ok()
                .unwrap();
            }
            if round % 8 == 0 {
                thread::sleep(Duration::from_micros(300));
            }
        }
        stop.store(true, Ordering::SeqCst);
        monitor.join().unwrap();
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            peak <= MAX,
            "{peak} threads of the pool at once (limit {MAX})"
        );
    }

    #[test]
    fn a_job_that_unwinds_is_replaced() {
        let pool = pool(1, Duration::from_secs(30));
        pool.submit(job(|| panic!("escaped"))).ok().unwrap();
        let (tx, rx) = mpsc::channel();
        pool.submit(job(move || tx.send(()).unwrap())).ok().unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(pool.live_threads(), 1);
    }
}
