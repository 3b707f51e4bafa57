//! The worker pool: threads started on demand up to a maximum, reused, retired after an idle
//! timeout, fed from one priority queue.
//!
//! # Design
//!
//! One mutex guards the queue and the thread counts; workers hold it only to take a job,
//! never while a job runs (threadpool's rule). A job never unwinds into the worker (it
//! contains its own panics), and if one ever did, the worker's [`Sentinel`] replaces the
//! thread, so capacity is never lost.
//!
//! Wake-ups are counted: `sleeping` workers wait on `work`, and `wakeups` counts the
//! notifications sent but not yet consumed. A new job wakes a sleeper only when more workers
//! sleep than wake-ups are in flight, and starts a thread only when none can be woken. So a
//! burst of submissions costs one notification per job at most, and none while all workers
//! are busy.

mod queue;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::sync::{lock, wait_timeout, Condvar, Mutex, MutexGuard};
use queue::PriorityQueue;

/// A unit of work the pool can run.
pub(crate) trait PoolJob: Send + 'static {
    /// Higher runs first; FIFO among equal priorities.
    fn priority(&self) -> i32;
    /// Runs the job. Jobs contain their own panics.
    fn run(self);
    /// Whether the job no longer needs to run (its task was cancelled while queued).
    /// Stale jobs are removed by [`Pool::purge_stale`].
    fn is_stale(&self) -> bool;
}

/// How a pool is set up.
pub(crate) struct PoolConfig {
    pub(crate) max_threads: usize,
    pub(crate) thread_name: String,
    pub(crate) idle_timeout: Duration,
}

pub(crate) struct Pool<J: PoolJob> {
    shared: Arc<Shared<J>>,
}

struct Shared<J> {
    state: Mutex<State<J>>,
    /// Idle workers wait here for work.
    work: Condvar,
    /// `terminate` waits here for workers to exit.
    exited: Condvar,
    #[cfg_attr(loom, allow(dead_code))]
    thread_name: String,
    idle_timeout: Duration,
    /// Identifies the pool's worker threads (see `WORKER_OF`).
    id: usize,
}

struct State<J> {
    queue: PriorityQueue<J>,
    max_threads: usize,
    /// Threads started and not yet past their last job.
    live: usize,
    sleeping: usize,
    wakeups: usize,
    terminating: bool,
    #[cfg_attr(loom, allow(dead_code))]
    next_index: usize,
    /// Threads by index. `retired` lists those past their last job but maybe not yet gone:
    /// they are joined before a new thread starts, so the OS never sees more than
    /// `max_threads` workers, even while the limit flaps.
    #[cfg_attr(loom, allow(dead_code))]
    handles: Vec<(usize, JoinHandle<()>)>,
    retired: Vec<usize>,
}

static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The id of the pool whose worker this thread is, 0 for other threads.
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

impl<J: PoolJob> Pool<J> {
    pub(crate) fn new(config: PoolConfig) -> Self {
        assert!(config.max_threads > 0, "a pool needs at least one thread");
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: PriorityQueue::new(),
                    max_threads: config.max_threads,
                    live: 0,
                    sleeping: 0,
                    wakeups: 0,
                    terminating: false,
                    next_index: 0,
                    handles: Vec::new(),
                    retired: Vec::new(),
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                thread_name: config.thread_name,
                idle_timeout: config.idle_timeout,
                id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            }),
        }
    }

    /// Queues `job`, waking or starting a worker if one is needed.
    /// Gives the job back if the pool is terminating.
    pub(crate) fn submit(&self, job: J) -> Result<(), J> {
        let mut state = lock(&self.shared.state);
        if state.terminating {
            return Err(job);
        }
        state.queue.push(job.priority(), job);
        let spawn = self.shared.wake_or_grow(&mut state);
        drop(state);
        if spawn {
            self.shared.spawn_worker();
        }
        Ok(())
    }

    pub(crate) fn max_threads(&self) -> usize {
        lock(&self.shared.state).max_threads
    }

    /// Changes the thread limit at once: growing starts threads for queued jobs, shrinking
    /// retires threads as they finish their current job.
    pub(crate) fn set_max_threads(&self, max_threads: usize) {
        assert!(max_threads > 0, "a pool needs at least one thread");
        let mut state = lock(&self.shared.state);
        state.max_threads = max_threads;
        let idle = state.sleeping.saturating_sub(state.wakeups);
        let wanted = state.queue.len().saturating_sub(idle);
        let spawn = max_threads.saturating_sub(state.live).min(wanted);
        state.live += spawn;
        if state.live > max_threads {
            // Sleeping workers re-check the limit when woken and retire.
            self.shared.work.notify_all();
        }
        drop(state);
        for _ in 0..spawn {
            self.shared.spawn_worker();
        }
    }

    /// Threads currently alive (busy or idle).
    pub(crate) fn live_threads(&self) -> usize {
        lock(&self.shared.state).live
    }

    /// Removes stale jobs from the queue. They are dropped after the lock is released,
    /// because dropping a job may drop user data.
    pub(crate) fn purge_stale(&self) -> usize {
        let removed = lock(&self.shared.state)
            .queue
            .extract_if_not(|job| !job.is_stale());
        let n = removed.len();
        drop(removed);
        n
    }

    /// Runs the next queued job on the calling thread (loom models play the worker).
    #[cfg(loom)]
    pub(crate) fn run_queued(&self) -> bool {
        let job = lock(&self.shared.state).queue.pop();
        match job {
            Some(job) => {
                job.run();
                true
            }
            None => false,
        }
    }

    /// Whether the calling thread is one of this pool's workers.
    pub(crate) fn is_worker_thread(&self) -> bool {
        WORKER_OF.with(Cell::get) == self.shared.id
    }

    /// Stops accepting jobs and lets every worker exit once the queue is empty; waits until
    /// `deadline` for them to do so and joins those that did. Returns whether all exited
    /// (the calling thread does not count if it is a worker of this pool).
    pub(crate) fn terminate(&self, deadline: Instant) -> bool {
        let on_worker = self.is_worker_thread();
        let allowed = usize::from(on_worker);
        let mut state = lock(&self.shared.state);
        state.terminating = true;
        self.shared.work.notify_all();
        while state.live > allowed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = wait_timeout(&self.shared.exited, state, deadline - now).0;
        }
        let all_exited = state.live <= allowed;
        let handles = std::mem::take(&mut state.handles);
        drop(state);

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
        lock(&self.shared.state).terminating = true;
        self.shared.work.notify_all();
    }
}

impl<J: PoolJob> Shared<J> {
    /// After a push: wake a sleeper if one is not already being woken, else reserve a new
    /// thread if under the limit. Returns whether the caller must spawn that thread.
    fn wake_or_grow(&self, state: &mut State<J>) -> bool {
        if state.sleeping > state.wakeups {
            state.wakeups += 1;
            self.work.notify_one();
            false
        } else if state.live < state.max_threads {
            state.live += 1;
            true
        } else {
            false
        }
    }

    /// Under loom, models run queued jobs themselves with [`Pool::run_queued`]: no OS thread
    /// may start, so the reserved slot is given back.
    #[cfg(loom)]
    fn spawn_worker(self: &Arc<Self>) {
        lock(&self.state).live -= 1;
    }

    /// Starts a worker whose `live` slot the caller already reserved, after joining the
    /// workers that retired since the last start.
    #[cfg(not(loom))]
    fn spawn_worker(self: &Arc<Self>) {
        let (index, retired) = {
            let mut state = lock(&self.state);
            state.next_index += 1;
            let retired = std::mem::take(&mut state.retired);
            let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.handles)
                .into_iter()
                .partition(|(i, handle)| retired.contains(i) || handle.is_finished());
            state.handles = kept;
            (state.next_index, gone)
        };
        let me = thread::current().id();
        for (_, handle) in retired {
            // Past their last job: this waits microseconds at most.
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
        let shared = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name(format!("{}-{index}", self.thread_name))
            .spawn(move || worker_main(shared, index));
        let mut state = lock(&self.state);
        match spawned {
            Ok(handle) => state.handles.push((index, handle)),
            Err(err) => {
                state.live -= 1;
                self.exited.notify_all();
                tracing::error!(
                    error = %err,
                    live = state.live,
                    queued = state.queue.len(),
                    "could not start a worker thread; queued tasks wait for a running worker \
                     or the next submission"
                );
            }
        }
    }

    /// Takes the next job, or returns `None` when this worker should exit (after doing the
    /// exit bookkeeping).
    fn next_job(&self, index: usize) -> Option<J> {
        let mut state = lock(&self.state);
        loop {
            if state.live > state.max_threads {
                return self.retire(state, index);
            }
            if let Some(job) = state.queue.pop() {
                return Some(job);
            }
            if state.terminating {
                return self.retire(state, index);
            }
            state.sleeping += 1;
            let (guard, timed_out) = wait_timeout(&self.work, state, self.idle_timeout);
            state = guard;
            state.sleeping -= 1;
            if state.wakeups > 0 {
                state.wakeups -= 1;
                continue;
            }
            if timed_out && state.queue.is_empty() {
                return self.retire(state, index);
            }
        }
    }

    fn retire(&self, mut state: MutexGuard<'_, State<J>>, index: usize) -> Option<J> {
        state.live -= 1;
        state.retired.push(index);
        self.exited.notify_all();
        None
    }
}

#[cfg_attr(loom, allow(dead_code))]
fn worker_main<J: PoolJob>(shared: Arc<Shared<J>>, index: usize) {
    WORKER_OF.with(|w| w.set(shared.id));
    let mut sentinel = Sentinel {
        shared: &shared,
        active: true,
    };
    while let Some(job) = shared.next_job(index) {
        job.run();
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
        let mut state = lock(&self.shared.state);
        let replace = !state.terminating && !state.queue.is_empty();
        if !replace {
            state.live -= 1;
            self.shared.exited.notify_all();
        }
        drop(state);
        if replace {
            // The dying thread's `live` slot passes to its replacement.
            self.shared.spawn_worker();
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
        fn run(self) {
            (self.f)();
        }
        fn is_stale(&self) -> bool {
            false
        }
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
        assert!(pool.terminate(Instant::now() + Duration::from_secs(10)));
        assert_eq!(pool.live_threads(), 0);
        assert!(pool.submit(job(|| ())).is_err());
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
