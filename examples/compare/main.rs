//! Measures this library against what Rust users would otherwise pick, in one process and in
//! interleaved rounds (so a noisy machine slows every contender alike): `threadpool`,
//! `rayon::ThreadPool::spawn`, tokio's `spawn_blocking`, `std::thread::spawn`, and the floor,
//! a minimal 4-thread pool over one crossbeam channel. Four worker threads everywhere.
//!
//! ```text
//! cargo run --release --example compare            # full run
//! cargo run --release --example compare -- --quick # under 20 s
//! ```
//!
//! Workloads: N tasks that each signal completion to the main thread over a channel
//! (throughput, ns per task), and one task at a time (submit -> completion seen on the main
//! thread: latency p50/p99). Then the library's own figures: bytes per queued task (counted by
//! the global allocator below), `set_progress` cost, and how many UI deliveries 10 million
//! progress reports cause; `async` bodies beside tokio's tasks (`spawn_async` + `join` against
//! `tokio::spawn` + `JoinHandle`, and the bytes of a body waiting in a sleep). See
//! BENCHMARKS.md for a run and what the figures mean.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use task_macros::run_in_background;
use task_runtime::{EventLoop, Publisher, Task, TaskManager, TaskScope};

// ----- a counting allocator, for bytes per queued task -----

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
/// Counting only while bytes are measured: a counter that every allocation and free of every
/// thread writes is one more shared cache line per allocation, which would slow the
/// contenders that allocate most while their throughput is measured.
static COUNTING: AtomicBool = AtomicBool::new(false);

fn counted(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATED.fetch_add(delta as usize, Ordering::Relaxed); // wraps for negative deltas
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size() as isize);
        // SAFETY: same layout, same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        counted(-(layout.size() as isize));
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mod collection;

const THREADS: usize = 4;

// ----- the contenders -----

trait Pool {
    fn name(&self) -> &'static str;
    fn run(&self, job: impl FnOnce() + Send + 'static);
}

struct Spawn(TaskManager);
impl Pool for Spawn {
    fn name(&self) -> &'static str {
        "task-runtime spawn"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0.spawn(move |_| {
            job();
            Ok::<_, Infallible>(())
        });
    }
}

/// The signal is sent from `on_complete`: the full path, callback delivery included.
struct OnComplete(TaskManager);
impl Pool for OnComplete {
    fn name(&self) -> &'static str {
        "task-runtime task().on_complete()"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0
            .task(|_| Ok::<_, Infallible>(()))
            .on_complete(move |()| job())
            .start();
    }
}

/// The same through `#[run_in_background]`: the body hands the job back, `on_complete` runs it.
#[derive(Clone)]
struct Macro {
    tasks: TaskManager,
}
impl Macro {
    #[run_in_background(task_name = "job", manager = &self.tasks, on_complete = |job: J| job())]
    fn pass_back<J: FnOnce() + Send + 'static>(&self, job: J) -> J {
        job
    }
}
impl Pool for Macro {
    fn name(&self) -> &'static str {
        "task-runtime #[run_in_background]"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.pass_back(job);
    }
}

/// What the macro expands to, written with the builder: the same cost is the point.
struct ByHand(Macro);
impl ByHand {
    fn pass_back<J: FnOnce() + Send + 'static>(&self, job: J) -> Task<()> {
        let this = self.0.clone(); // `&self` methods run on a clone
        self.0
            .tasks
            .task(move |_| Ok::<_, Infallible>(this.identity(job)))
            .name("job")
            .show_progress(false)
            .on_complete(|job: J| job())
            .start()
    }
}
impl Macro {
    fn identity<J>(&self, job: J) -> J {
        job
    }
}
impl Pool for ByHand {
    fn name(&self) -> &'static str {
        "  same task via the builder"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.pass_back(job);
    }
}

/// `task().on_complete()` in a scope of its own (the scope stays open while measured).
struct InScope(TaskScope);
impl Pool for InScope {
    fn name(&self) -> &'static str {
        "  + in a TaskScope"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0
            .task(|_| Ok::<_, Infallible>(()))
            .on_complete(move |()| job())
            .start();
    }
}

/// `task().on_complete()` with a deadline that never passes while measured.
struct WithTimeout(TaskManager);
impl Pool for WithTimeout {
    fn name(&self) -> &'static str {
        "  + timeout(1 h)"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0
            .task(|_| Ok::<_, Infallible>(()))
            .timeout(Duration::from_secs(3600))
            .on_complete(move |()| job())
            .start();
    }
}

/// A task and one continuation (`then`), `on_complete` on the continuation: its row minus
/// `task().on_complete()`'s is what a continuation costs.
struct WithThen(TaskManager);
impl Pool for WithThen {
    fn name(&self) -> &'static str {
        "  + then(): task + continuation"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0
            .spawn(|_| Ok::<_, Infallible>(()))
            .then(|_, ()| Ok::<_, Infallible>(()))
            .on_complete(move |()| job())
            .start();
    }
}

/// `task_with_items`: the body publishes one item, `on_items` takes it.
struct WithItems(TaskManager);
impl Pool for WithItems {
    fn name(&self) -> &'static str {
        "  + task_with_items, one item"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0
            .task_with_items(|_, items| {
                items.publish(1u8);
                Ok::<_, Infallible>(())
            })
            .on_items(drop)
            .on_complete(move |()| job())
            .start();
    }
}

/// The UI case: callbacks queued on an event loop that the measuring thread drains, with
/// `Send` callbacks or with `local()` ones (kept on this thread, not `Send`).
struct OnEventLoop {
    manager: TaskManager,
    ui: EventLoop,
    local: bool,
}
impl OnEventLoop {
    fn new(local: bool) -> Self {
        let ui = EventLoop::new();
        let manager = TaskManager::builder()
            .max_threads(THREADS)
            .dispatcher(ui.dispatcher())
            .build()
            .unwrap();
        OnEventLoop { manager, ui, local }
    }

    /// Drains the loop until `n` more completions arrived on `finished`.
    fn drain(&self, finished: &Receiver<()>, n: usize) {
        let mut seen = 0;
        assert!(self.ui.run_until(
            || {
                seen += finished.try_iter().count();
                seen == n
            },
            Duration::from_secs(60)
        ));
    }
}
impl Pool for OnEventLoop {
    fn name(&self) -> &'static str {
        if self.local {
            "  + local() callbacks"
        } else {
            "task().on_complete(), EventLoop"
        }
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        let task = self.manager.task(|_| Ok::<_, Infallible>(()));
        if self.local {
            task.local().on_complete(move |()| job()).start();
        } else {
            task.on_complete(move |()| job()).start();
        }
    }
}

struct ThreadPool(threadpool::ThreadPool);
impl Pool for ThreadPool {
    fn name(&self) -> &'static str {
        "threadpool"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0.execute(job);
    }
}

struct Rayon(rayon::ThreadPool);
impl Pool for Rayon {
    fn name(&self) -> &'static str {
        "rayon ThreadPool::spawn"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0.spawn(job);
    }
}

struct Tokio(tokio::runtime::Runtime);
impl Pool for Tokio {
    fn name(&self) -> &'static str {
        "tokio spawn_blocking"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        drop(self.0.spawn_blocking(job));
    }
}

/// The floor: four threads over one crossbeam channel of boxed jobs, nothing else.
struct Floor(Sender<Box<dyn FnOnce() + Send>>);
impl Floor {
    fn new() -> Self {
        let (tx, rx): (Sender<Box<dyn FnOnce() + Send>>, Receiver<_>) = unbounded();
        for _ in 0..THREADS {
            let rx = rx.clone();
            thread::spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        }
        Floor(tx)
    }
}
impl Pool for Floor {
    fn name(&self) -> &'static str {
        "floor: crossbeam channel pool"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.0.send(Box::new(job)).unwrap();
    }
}

/// Not a contender: the floor, with each job carrying as many bytes as a task cell, so the job
/// box lands in the same allocator size class. Shows what that allocation alone costs (see
/// BENCHMARKS.md).
struct FloorWithCellSizedJob(Floor);
impl Pool for FloorWithCellSizedJob {
    fn name(&self) -> &'static str {
        "probe: floor, 200-byte job box"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        let payload = std::hint::black_box([0u8; 184]);
        self.0.run(move || {
            std::hint::black_box(&payload);
            job();
        });
    }
}

struct StdThread;
impl Pool for StdThread {
    fn name(&self) -> &'static str {
        "std::thread::spawn"
    }
    fn run(&self, job: impl FnOnce() + Send + 'static) {
        thread::spawn(job);
    }
}

// ----- workloads -----

/// N tasks, each signalling the main thread; returns ns per task.
fn throughput(pool: &impl Pool, n: usize) -> f64 {
    let (done, finished) = unbounded::<()>();
    let start = Instant::now();
    for _ in 0..n {
        let done = done.clone();
        pool.run(move || done.send(()).unwrap());
    }
    for _ in 0..n {
        finished.recv().unwrap();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// One task at a time: time from submission to the main thread seeing it done.
fn latencies(pool: &impl Pool, rounds: usize, into: &mut Vec<u64>) {
    let (done, finished) = unbounded::<()>();
    for _ in 0..rounds {
        let done = done.clone();
        let start = Instant::now();
        pool.run(move || done.send(()).unwrap());
        finished.recv().unwrap();
        into.push(start.elapsed().as_nanos() as u64);
    }
}

/// [`throughput`] when the completions are seen by draining the pool's event loop.
fn throughput_on_loop(pool: &OnEventLoop, n: usize) -> f64 {
    let (done, finished) = unbounded::<()>();
    let start = Instant::now();
    for _ in 0..n {
        let done = done.clone();
        pool.run(move || done.send(()).unwrap());
    }
    pool.drain(&finished, n);
    start.elapsed().as_nanos() as f64 / n as f64
}

/// [`latencies`] when the completion is seen by draining the pool's event loop.
fn latencies_on_loop(pool: &OnEventLoop, rounds: usize, into: &mut Vec<u64>) {
    let (done, finished) = unbounded::<()>();
    for _ in 0..rounds {
        let done = done.clone();
        let start = Instant::now();
        pool.run(move || done.send(()).unwrap());
        pool.drain(&finished, 1);
        into.push(start.elapsed().as_nanos() as u64);
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

struct Row {
    name: &'static str,
    ns_per_task: Vec<f64>,
    latencies: Vec<u64>,
}

fn measure(rows: &mut [Row], pools: &[&dyn Fn(&mut Row)], rounds: usize) {
    for _ in 0..rounds {
        for (row, measure) in rows.iter_mut().zip(pools) {
            measure(row);
        }
    }
}

// ----- async bodies beside tokio's tasks -----

/// `spawn_async` then `join` of each, against `tokio::spawn` then `.await` of each
/// `JoinHandle` on a runtime of as many worker threads: ns per task, the median of `rounds`.
fn async_spawn_join(n: usize, rounds: usize) -> (f64, f64) {
    let manager = TaskManager::new(THREADS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .build()
        .unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|i| manager.spawn_async(move |_| async move { Ok::<_, Infallible>(i) }))
            .collect();
        let sum: usize = tasks.into_iter().map(|t| t.join().unwrap()).sum();
        ours.push(start.elapsed().as_nanos() as f64 / n as f64);
        assert_eq!(sum, n * (n - 1) / 2);

        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| runtime.spawn(async move { i })).collect();
        let sum: usize = runtime.block_on(async {
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        });
        theirs.push(start.elapsed().as_nanos() as f64 / n as f64);
        assert_eq!(sum, n * (n - 1) / 2);
    }
    (median(&mut ours), median(&mut theirs))
}

/// Bytes per body waiting in a one-hour sleep: `n` of `ctx.sleep` against `n` tokio tasks in
/// `tokio::time::sleep` (each counted once its first poll registered the timer).
fn waiting_bytes(n: usize) -> (f64, f64) {
    let hour = Duration::from_secs(3600);
    let polled = Arc::new(AtomicUsize::new(0));
    let settle = |polled: &AtomicUsize| {
        while polled.load(Ordering::SeqCst) < n {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(200)); // the last polls finish registering
    };

    let manager = TaskManager::new(THREADS);
    let mut tasks = Vec::with_capacity(n);
    COUNTING.store(true, Ordering::SeqCst);
    let before = ALLOCATED.load(Ordering::SeqCst);
    for _ in 0..n {
        let polled = Arc::clone(&polled);
        tasks.push(manager.spawn_async(move |ctx| async move {
            polled.fetch_add(1, Ordering::SeqCst);
            ctx.sleep(hour).await;
            Ok::<_, Infallible>(())
        }));
    }
    settle(&polled);
    let ours = ALLOCATED.load(Ordering::SeqCst).wrapping_sub(before) as f64 / n as f64;
    COUNTING.store(false, Ordering::SeqCst);
    manager.cancel_all();
    drop(tasks);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .enable_time()
        .build()
        .unwrap();
    polled.store(0, Ordering::SeqCst);
    let mut handles = Vec::with_capacity(n);
    COUNTING.store(true, Ordering::SeqCst);
    let before = ALLOCATED.load(Ordering::SeqCst);
    for _ in 0..n {
        let polled = Arc::clone(&polled);
        handles.push(runtime.spawn(async move {
            polled.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(hour).await;
        }));
    }
    settle(&polled);
    let theirs = ALLOCATED.load(Ordering::SeqCst).wrapping_sub(before) as f64 / n as f64;
    COUNTING.store(false, Ordering::SeqCst);
    handles.iter().for_each(tokio::task::JoinHandle::abort);
    drop(runtime);
    (ours, theirs)
}

/// From `cancel()` on a body waiting in a sleep to `join` returning `Cancelled`, against
/// `abort()` then `.await` of a tokio task in `tokio::time::sleep`: the median of `n`, in µs.
fn cancel_latency(n: usize) -> (f64, f64) {
    let manager = TaskManager::new(THREADS);
    let mut ours = Vec::with_capacity(n);
    for _ in 0..n {
        let (parked, ready) = crossbeam_channel::bounded(1);
        let task = manager.spawn_async(move |ctx| async move {
            let sleep = ctx.sleep(Duration::from_secs(3600));
            parked.send(()).unwrap();
            sleep.await;
            Ok::<_, Infallible>(())
        });
        ready.recv().unwrap();
        while task.state() != task_runtime::TaskState::Running {
            thread::yield_now();
        }
        thread::sleep(Duration::from_micros(50)); // its first poll returns
        let start = Instant::now();
        task.cancel();
        assert!(task.join().unwrap_err().is_cancelled());
        ours.push(start.elapsed().as_nanos() as f64 / 1000.0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .enable_time()
        .build()
        .unwrap();
    let mut theirs = Vec::with_capacity(n);
    for _ in 0..n {
        let (parked, ready) = crossbeam_channel::bounded(1);
        let handle = runtime.spawn(async move {
            parked.send(()).unwrap();
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        ready.recv().unwrap();
        thread::sleep(Duration::from_micros(50));
        let start = Instant::now();
        handle.abort();
        assert!(runtime.block_on(handle).unwrap_err().is_cancelled());
        theirs.push(start.elapsed().as_nanos() as f64 / 1000.0);
    }
    (median(&mut ours), median(&mut theirs))
}

/// A cancel made while the body is being polled: from the end of that poll to `join`
/// returning `Cancelled`, against tokio's `abort()` of a task in the middle of its poll and
/// its `JoinHandle`: the median of `n`, in µs. Each body spins until the cancel is
/// requested, notes the time, and returns `Pending`: the outcome is decided by the worker
/// that polled, right after that poll.
fn cancel_mid_poll(n: usize) -> (f64, f64) {
    type PollEnd = Arc<Mutex<Option<Instant>>>;
    let ended = |end: &PollEnd| end.lock().unwrap().take().expect("the poll ended");
    let manager = TaskManager::new(THREADS);
    let mut ours = Vec::with_capacity(n);
    for _ in 0..n {
        let (polling, started) = crossbeam_channel::bounded(1);
        let end: PollEnd = Arc::default();
        let noted = Arc::clone(&end);
        let task = manager.spawn_async(move |ctx| async move {
            polling.send(()).unwrap();
            while !ctx.is_cancelled() {
                std::hint::spin_loop();
            }
            *noted.lock().unwrap() = Some(Instant::now());
            std::future::pending::<()>().await; // the poll ends here
            Ok::<_, Infallible>(())
        });
        started.recv().unwrap();
        task.cancel();
        assert!(task.join().unwrap_err().is_cancelled());
        let joined = Instant::now();
        ours.push((joined - ended(&end)).as_nanos() as f64 / 1000.0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .build()
        .unwrap();
    let mut theirs = Vec::with_capacity(n);
    for _ in 0..n {
        let (polling, started) = crossbeam_channel::bounded(1);
        let stop = Arc::new(AtomicBool::new(false));
        let end: PollEnd = Arc::default();
        let (stopped, noted) = (Arc::clone(&stop), Arc::clone(&end));
        let handle = runtime.spawn(async move {
            polling.send(()).unwrap();
            while !stopped.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            *noted.lock().unwrap() = Some(Instant::now());
            std::future::pending::<()>().await;
        });
        started.recv().unwrap();
        handle.abort();
        stop.store(true, Ordering::SeqCst);
        assert!(runtime.block_on(handle).unwrap_err().is_cancelled());
        let joined = Instant::now();
        theirs.push((joined - ended(&end)).as_nanos() as f64 / 1000.0);
    }
    (median(&mut ours), median(&mut theirs))
}

// ----- the library's own figures -----

/// Bytes allocated per call of `make`, while everything it made is still alive (the vector
/// that keeps the results is not counted).
fn allocated_per_item<H>(count: usize, make: impl Fn() -> H) -> f64 {
    let mut kept = Vec::with_capacity(count);
    COUNTING.store(true, Ordering::SeqCst);
    let before = ALLOCATED.load(Ordering::SeqCst);
    for _ in 0..count {
        kept.push(make());
    }
    let bytes = ALLOCATED.load(Ordering::SeqCst).wrapping_sub(before);
    COUNTING.store(false, Ordering::SeqCst);
    drop(kept);
    bytes as f64 / count as f64
}

/// Bytes allocated per queued task (the queue is held up by a gate task). The closure itself
/// captures nothing, so this is all the runtime's own bookkeeping.
fn bytes_per_queued_task(queued: usize) -> (f64, f64) {
    let manager = TaskManager::new(1);
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let blocker = manager.spawn(move |_| {
        g.wait();
        Ok::<_, Infallible>(())
    });
    while blocker.state() != task_runtime::TaskState::Running {
        thread::yield_now();
    }
    let spawn = allocated_per_item(queued, || manager.spawn(|_| Ok::<_, Infallible>(())));
    let on_complete = allocated_per_item(queued, || {
        manager
            .task(|_| Ok::<_, Infallible>(()))
            .on_complete(|()| {})
            .start()
    });
    manager.cancel_all(); // the blocker too: its outcome is *cancelled* once it returns
    gate.wait();
    assert!(blocker.join().unwrap_err().is_cancelled());
    (spawn, on_complete)
}

/// ns per `set_progress` call inside a body: nobody listening, and with an `on_progress`
/// callback on an event loop whose thread drains as fast as it can.
fn set_progress_cost(calls: u64) -> (f64, f64, f64) {
    let manager = TaskManager::new(1);
    let quiet = manager
        .spawn(move |ctx| {
            let start = Instant::now();
            for i in 0..calls {
                ctx.set_progress(i, calls);
            }
            Ok::<_, Infallible>(start.elapsed().as_nanos() as f64 / calls as f64)
        })
        .join()
        .unwrap();

    let ui = EventLoop::new();
    let drained = manager.clone();
    let task = manager
        .task(move |ctx| {
            let start = Instant::now();
            for i in 0..calls {
                ctx.set_progress(i, calls);
            }
            Ok::<_, Infallible>(start.elapsed().as_nanos() as f64 / calls as f64)
        })
        .dispatcher(ui.dispatcher())
        .on_progress(|_| {})
        .start();
    let ui_thread = thread::spawn(move || ui.run_until_idle(&drained, Duration::from_secs(60)));
    let draining = task.join().unwrap();
    ui_thread.join().unwrap();

    let messages = manager
        .spawn(move |ctx| {
            let start = Instant::now();
            for i in 0..calls / 10 {
                ctx.report_progress(i, calls, "working");
            }
            Ok::<_, Infallible>(start.elapsed().as_nanos() as f64 / (calls / 10) as f64)
        })
        .join()
        .unwrap();
    (quiet, draining, messages)
}

/// UI deliveries caused by `reports` progress reports, with the UI thread running a 60 Hz
/// frame loop (`process_events` once per frame), and with one blocking in `run_until`.
fn deliveries_per_reports(reports: u64) -> (usize, usize) {
    let count = |frame_loop: bool| {
        let ui = EventLoop::new();
        let manager = TaskManager::builder()
            .max_threads(1)
            .dispatcher(ui.dispatcher())
            .build()
            .unwrap();
        let delivered = Arc::new(AtomicUsize::new(0));
        let d = delivered.clone();
        let task = manager
            .task(move |ctx| {
                for i in 0..reports {
                    ctx.set_progress(i + 1, reports);
                }
                Ok::<_, Infallible>(())
            })
            .on_progress(move |_| {
                d.fetch_add(1, Ordering::Relaxed);
            })
            .start();
        if frame_loop {
            while !task.is_finished() || ui.pending() > 0 {
                ui.process_events();
                thread::sleep(Duration::from_millis(16));
            }
        } else {
            assert!(ui.run_until_idle(&manager, Duration::from_secs(60)));
        }
        assert!(ui.run_until_idle(&manager, Duration::from_secs(60)));
        delivered.load(Ordering::Relaxed)
    };
    (count(true), count(false))
}

/// ns per `publish` inside a body: with nobody taking the items (they pile up in the
/// buffer), and with an `on_items` callback on an event loop whose thread drains as fast as
/// it can.
/// ns per `publish` of `items` items.
fn timed_publishes(publisher: &Publisher<u64>, items: u64) -> f64 {
    let start = Instant::now();
    for i in 0..items {
        publisher.publish(i);
    }
    start.elapsed().as_nanos() as f64 / items as f64
}

fn publish_cost(items: u64) -> (f64, f64) {
    let manager = TaskManager::new(1);
    let piled = manager
        .task_with_items(move |_, publisher| Ok::<_, Infallible>(timed_publishes(publisher, items)))
        .start()
        .join()
        .unwrap();

    let ui = EventLoop::new();
    let drained = manager.clone();
    let task = manager
        .task_with_items(move |_, publisher| Ok::<_, Infallible>(timed_publishes(publisher, items)))
        .dispatcher(ui.dispatcher())
        .on_items(drop)
        .start();
    let ui_thread = thread::spawn(move || ui.run_until_idle(&drained, Duration::from_secs(60)));
    let draining = task.join().unwrap();
    ui_thread.join().unwrap();
    (piled, draining)
}

/// UI deliveries (batches) for `items` published items, with the UI thread running a 60 Hz
/// frame loop (`process_events` once per frame); and whether every item arrived.
fn deliveries_per_items(items: u64) -> (usize, bool) {
    let ui = EventLoop::new();
    let manager = TaskManager::builder()
        .max_threads(1)
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap();
    let batches = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (b, r) = (batches.clone(), received.clone());
    let task = manager
        .task_with_items(move |_, publisher| {
            for i in 0..items {
                publisher.publish(i);
            }
            Ok::<_, Infallible>(())
        })
        .on_items(move |batch| {
            b.fetch_add(1, Ordering::Relaxed);
            r.fetch_add(batch.len(), Ordering::Relaxed);
        })
        .start();
    while !task.is_finished() || ui.pending() > 0 {
        ui.process_events();
        thread::sleep(Duration::from_millis(16));
    }
    assert!(ui.run_until_idle(&manager, Duration::from_secs(60)));
    let all = received.load(Ordering::Relaxed) as u64 == items;
    (batches.load(Ordering::Relaxed), all)
}

/// CPU time (user and system) of this whole process so far, from `/proc/self/stat` (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: the fields that count come after its `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |at: usize| fields.get(at)?.parse::<u64>().ok();
    // utime and stime, in USER_HZ ticks (100 a second on Linux).
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// CPU time the process spends over `window` while a manager whose workers just ran a task
/// waits idle (and every other pool here is idle too).
fn idle_cpu(window: Duration) -> Option<Duration> {
    let manager = TaskManager::new(THREADS);
    let busy: Vec<_> = (0..THREADS)
        .map(|_| manager.spawn(|_| Ok::<_, Infallible>(())))
        .collect();
    for task in busy {
        task.join().unwrap();
    }
    thread::sleep(Duration::from_millis(200)); // spinning receivers settle
    let before = process_cpu()?;
    thread::sleep(window);
    let spent = process_cpu()?.saturating_sub(before);
    assert!(
        manager.worker_count() > 0,
        "the workers waited through the window"
    );
    Some(spent)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, rounds, latency_rounds, thread_n) = if quick {
        (20_000, 5, 500, 2_000)
    } else {
        (100_000, 9, 2_000, 10_000)
    };

    let spawn = Spawn(TaskManager::new(THREADS));
    let on_complete = OnComplete(TaskManager::new(THREADS));
    let with_macro = Macro {
        tasks: TaskManager::new(THREADS),
    };
    let by_hand = ByHand(Macro {
        tasks: TaskManager::new(THREADS),
    });
    let threadpool = ThreadPool(threadpool::ThreadPool::new(THREADS));
    let rayon = Rayon(
        rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()
            .unwrap(),
    );
    let tokio = Tokio(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(THREADS)
            .build()
            .unwrap(),
    );
    let scope_manager = TaskManager::new(THREADS);
    let in_scope = InScope(scope_manager.scope());
    let with_timeout = WithTimeout(TaskManager::new(THREADS));
    let with_items = WithItems(TaskManager::new(THREADS));
    let with_then = WithThen(TaskManager::new(THREADS));
    let on_loop = OnEventLoop::new(false);
    let local_on_loop = OnEventLoop::new(true);
    let floor = Floor::new();
    let probe = FloorWithCellSizedJob(Floor::new());
    let std_thread = StdThread;

    let names = [
        floor.name(),
        spawn.name(),
        on_complete.name(),
        with_macro.name(),
        by_hand.name(),
        in_scope.name(),
        with_timeout.name(),
        with_items.name(),
        with_then.name(),
        on_loop.name(),
        local_on_loop.name(),
        threadpool.name(),
        rayon.name(),
        tokio.name(),
        std_thread.name(),
        probe.name(),
    ];
    let mut rows: Vec<Row> = names
        .iter()
        .map(|name| Row {
            name,
            ns_per_task: Vec::new(),
            latencies: Vec::new(),
        })
        .collect();
    let per_round = latency_rounds / rounds;
    let workloads: [&dyn Fn(&mut Row); 16] = [
        &|r| {
            r.ns_per_task.push(throughput(&floor, n));
            latencies(&floor, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&spawn, n));
            latencies(&spawn, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&on_complete, n));
            latencies(&on_complete, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&with_macro, n));
            latencies(&with_macro, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&by_hand, n));
            latencies(&by_hand, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&in_scope, n));
            latencies(&in_scope, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&with_timeout, n));
            latencies(&with_timeout, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&with_items, n));
            latencies(&with_items, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&with_then, n));
            latencies(&with_then, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput_on_loop(&on_loop, n));
            latencies_on_loop(&on_loop, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput_on_loop(&local_on_loop, n));
            latencies_on_loop(&local_on_loop, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&threadpool, n));
            latencies(&threadpool, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&rayon, n));
            latencies(&rayon, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&tokio, n));
            latencies(&tokio, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&std_thread, thread_n));
            latencies(&std_thread, per_round, &mut r.latencies);
        },
        &|r| {
            r.ns_per_task.push(throughput(&probe, n));
            latencies(&probe, per_round, &mut r.latencies);
        },
    ];
    // Warm-up: threads started, caches and allocator arenas primed.
    measure(&mut rows, &workloads, 1);
    for row in &mut rows {
        row.ns_per_task.clear();
        row.latencies.clear();
    }
    let started = Instant::now();
    measure(&mut rows, &workloads, rounds);

    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "{} rounds, interleaved; {n} tasks per throughput round ({thread_n} for std::thread); \
         {THREADS} worker threads; {cores} cores",
        rounds
    );
    println!();
    println!(
        "| {:<36} | {:>10} | {:>8} | {:>11} | {:>8} | {:>11} | {:>8} |",
        "contender", "ns/task", "x floor", "latency p50", "x floor", "latency p99", "x floor"
    );
    println!(
        "|{:-<38}|{:->12}|{:->10}|{:->13}|{:->10}|{:->13}|{:->10}|",
        "", "", "", "", "", "", ""
    );
    let figures: Vec<(f64, f64, f64)> = rows
        .iter_mut()
        .map(|row| {
            row.latencies.sort_unstable();
            (
                median(&mut row.ns_per_task),
                percentile(&row.latencies, 0.50),
                percentile(&row.latencies, 0.99),
            )
        })
        .collect();
    let floor_figures = figures[0];
    for (row, (ns, p50, p99)) in rows.iter().zip(&figures) {
        println!(
            "| {:<36} | {:>10.0} | {:>8.2} | {:>8.1} µs | {:>8.2} | {:>8.1} µs | {:>8.2} |",
            row.name,
            ns,
            ns / floor_figures.0,
            p50 / 1000.0,
            p50 / floor_figures.1,
            p99 / 1000.0,
            p99 / floor_figures.2
        );
    }
    println!(
        "\n(contenders measured in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    let (spawn_bytes, on_complete_bytes) = bytes_per_queued_task(10_000);
    let calls = if quick { 2_000_000 } else { 10_000_000 };
    let (quiet, draining, messages) = set_progress_cost(calls);
    let (frame_loop, busy_loop) = deliveries_per_reports(10_000_000);
    let (piled, published_draining) = publish_cost(calls);
    let (batches, all_arrived) = deliveries_per_items(10_000_000);
    let window = Duration::from_secs(if quick { 2 } else { 10 });
    let idle = idle_cpu(window);
    println!();
    println!("task-runtime figures:");
    println!("  bytes per queued task       {spawn_bytes:.0} (spawn), {on_complete_bytes:.0} (task().on_complete())");
    println!("  set_progress                {quiet:.1} ns/call (no listener), {draining:.1} ns/call (UI thread draining)");
    println!("  report_progress             {messages:.1} ns/call (with a message)");
    println!(
        "  10,000,000 progress reports {frame_loop} UI deliveries (60 Hz frame loop), \
         {busy_loop} (UI thread blocked in run_until_idle)"
    );
    println!(
        "  publish                     {piled:.1} ns/item (nobody taking), \
         {published_draining:.1} ns/item (UI thread draining)"
    );
    println!(
        "  10,000,000 items            {batches} UI deliveries (60 Hz frame loop), {}",
        if all_arrived {
            "every item delivered, in batches"
        } else {
            "ITEMS MISSING"
        }
    );
    let (spawn_join, tokio_spawn_join) = async_spawn_join(n, rounds);
    let waiting = if quick { 20_000 } else { 100_000 };
    let (sleeping, tokio_sleeping) = waiting_bytes(waiting);
    println!(
        "  spawn_async + join          {spawn_join:.0} ns/task; tokio::spawn + JoinHandle \
         {tokio_spawn_join:.0} ns/task ({:.2}x tokio, {THREADS} threads each)",
        spawn_join / tokio_spawn_join
    );
    let (cancel_ours, cancel_tokio) = cancel_latency(if quick { 200 } else { 1000 });
    println!(
        "  cancel a waiting body       {cancel_ours:.1} µs from cancel() to join's Cancelled \
         (decided inside cancel); tokio abort() to JoinHandle {cancel_tokio:.1} µs (medians)"
    );
    let (mid_poll_ours, mid_poll_tokio) = cancel_mid_poll(if quick { 200 } else { 1000 });
    println!(
        "  cancel during a poll        {mid_poll_ours:.1} µs from that poll's end to join's \
         Cancelled; tokio abort() mid-poll {mid_poll_tokio:.1} µs (medians)"
    );
    println!(
        "  {:<27} {sleeping:.0} bytes each (ctx.sleep); tokio tasks in tokio::time::sleep \
         {tokio_sleeping:.0} bytes each ({:.2}x tokio)",
        format!("{waiting} sleeping bodies"),
        sleeping / tokio_sleeping
    );
    let (items, map_rounds) = if quick {
        (1_000_000, 5)
    } else {
        (1_000_000, 11)
    };
    let trivial = collection::trivial_items(items, map_rounds);
    println!(
        "  map, 1,000,000 items        {:.2} ms; rayon par_iter().map().collect() {:.2} ms \
         ({:.2}x rayon, {THREADS} threads each, medians)",
        trivial.ours,
        trivial.rayon,
        trivial.ratio()
    );
    let (files, kb) = (256, 256);
    let hashing = collection::hashing_files(files, kb, map_rounds);
    println!(
        "  map, hashing {files} files     {:.2} ms; rayon {:.2} ms ({:.2}x rayon; {} MB in \
         all, FNV-1a)",
        hashing.ours,
        hashing.rayon,
        hashing.ratio(),
        files * kb / 1024
    );
    let (cancel_call, cancel_join) = collection::cancel_big_map(items, map_rounds);
    println!(
        "  cancel a map of 1,000,000   {cancel_call:.1} µs in cancel(), {cancel_join:.1} µs \
         to join's Cancelled (medians)"
    );
    let (deliveries, every_result) = collection::results_to_a_loop(items);
    println!(
        "  1,000,000 map results       {deliveries} UI deliveries (60 Hz frame loop), {}",
        if every_result {
            "every result once, at its index"
        } else {
            "RESULTS MISSING OR WRONG"
        }
    );
    match idle {
        Some(spent) => println!(
            "  idle manager                {} ms CPU in {} s (the whole process, every pool idle; \
             10 ms ticks)",
            spent.as_millis(),
            window.as_secs()
        ),
        None => println!("  idle manager                (no /proc/self/stat here)"),
    }
}
