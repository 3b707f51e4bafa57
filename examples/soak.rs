//! Soak test: a million tasks with random outcomes while other threads cancel at random,
//! call `cancel_all`, flap `set_max_threads` between 1 and 8, one task in ten has a deadline
//! (zero to 400 µs), one in four runs in a scope dropped mid-run, one in three has an `async`
//! body (which yields, sleeps and awaits), one in ten continues a recent task (`then`,
//! `then_result`, `then_async`: chains of up to five steps) and one in twenty combines two to
//! four recent tasks (`when_all`, `when_any`, `when_each`), one in twenty maps up to 64 items
//! (`map`, `for_each`, `map_async`, `for_each_async`; an item in fifty fails, one in a hundred
//! panics), and an event-loop thread delivers every callback. Checks that every task ends
//! exactly once, that each continuation's function ran at most once, that every item of a map
//! ran at most once (all of them, once each, for a map that completed), that the registry
//! empties, that the worker threads never exceed
//! the limit, that no task state leaks, and that every future an async body made was dropped.
//!
//! ```text
//! cargo run --release --example soak --features debug-counters                 # 1,000,000
//! cargo run --release --example soak --features debug-counters -- --tasks 50000 # CI size
//! ```

use std::collections::{HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use task_runtime::{
    debug, AppError, EventLoop, Task, TaskBuilder, TaskContext, TaskId, TaskManager,
};

const MAX_THREADS: usize = 8;

/// Futures of async bodies: made (at their first poll) and dropped.
static FUTURES_MADE: AtomicUsize = AtomicUsize::new(0);
static FUTURES_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Lives in an async body's future: counts it made, then dropped.
struct Counted;

impl Counted {
    fn new() -> Self {
        FUTURES_MADE.fetch_add(1, Ordering::Relaxed);
        Counted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        FUTURES_DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}
const MAX_ACTIVE: usize = 20_000;
/// The longest chain of continuations: a task and four that follow it.
const MAX_CHAIN: usize = 5;

/// A recent task that a continuation or a combinator may take: its handle, how many steps
/// long its chain is, and which scope it runs in, if any (its continuations join it): the
/// how-manieth scope of the run.
struct Recent {
    task: Task<()>,
    steps: usize,
    scoped: Option<usize>,
}

/// Adds the callbacks that count task `i`'s endings, and its deadline, then starts it.
fn start_counted<T: Send + 'static, P: Send + 'static>(
    builder: TaskBuilder<T, P>,
    endings: &Arc<Vec<AtomicU8>>,
    i: usize,
    deadline: Option<Duration>,
) -> Task<(), P> {
    let end = || {
        let endings = endings.clone();
        move || {
            endings[i].fetch_add(1, Ordering::Relaxed);
        }
    };
    let (completed, failed, cancelled) = (end(), end(), end());
    let builder = builder
        .on_progress(|_| {})
        .on_complete(move |_| completed())
        .on_error(move |_| failed())
        .on_cancelled(cancelled);
    match deadline {
        Some(deadline) => builder.timeout(deadline).start(),
        None => builder.start(),
    }
}

/// A map of the soak: how often each of its items ran, and whether it completed.
struct MapRecord {
    runs: Arc<Vec<AtomicU8>>,
    completed: Arc<AtomicBool>,
}

/// An item of a map: counts its run, and fails (one in fifty) or panics (one in a hundred)
/// by its number.
fn map_item(runs: &[AtomicU8], n: usize, seed: u64) -> Result<u64, AppError> {
    runs[n].fetch_add(1, Ordering::Relaxed);
    match (seed
        .wrapping_add(n as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 32)
        % 100
    {
        0 | 1 => Err(AppError::new("ERR_SOAK", "planned item failure")),
        2 => panic!("planned item panic"),
        3..=10 => {
            thread::sleep(Duration::from_micros(30));
            Ok(n as u64)
        }
        _ => Ok(n as u64),
    }
}

/// A small xorshift generator: reproducible runs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Ok,
    Fail,
    Panic,
    ProgressFlood,
    Busy,
    WaitForCancel,
}

fn kind(rng: &mut Rng) -> Kind {
    match rng.below(100) {
        0..40 => Kind::Ok,
        40..55 => Kind::Fail,
        55..65 => Kind::Panic,
        65..80 => Kind::ProgressFlood,
        80..90 => Kind::Busy,
        _ => Kind::WaitForCancel,
    }
}

/// Threads of this process that were all running at one moment. A thread the kernel is
/// tearing down after its `join` returned (flag `PF_EXITING` in `/proc/<tid>/stat`) can stay
/// listed for a while, waiting for the memory map's lock that a starting thread holds: it
/// runs no code of ours any more, so it is not counted. Reading the directory is not atomic
/// (a thread read early may be gone before one started later is read), so every thread
/// found is read again after the scan and only those still running count: each was running
/// when first read and at the first re-read, so they all ran together then.
fn thread_count() -> usize {
    const PF_EXITING: u64 = 0x4;
    let running = |tid: &str| {
        let flags = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .ok()
            .and_then(|stat| {
                let (_, fields) = stat.rsplit_once(") ")?;
                fields.split(' ').nth(6)?.parse::<u64>().ok()
            });
        flags.is_some_and(|flags| flags & PF_EXITING == 0)
    };
    let found: Vec<String> = std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|task| task.ok()?.file_name().into_string().ok())
                .filter(|tid| running(tid))
                .collect()
        })
        .unwrap_or_default();
    found.iter().filter(|tid| running(tid)).count()
}

/// A field of `/proc/self/status` in kB (VmRSS, VmHWM).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `f` every `period` until `stop`.
fn every(
    name: &str,
    period: Duration,
    stop: &Arc<AtomicBool>,
    mut f: impl FnMut() + Send + 'static,
) -> JoinHandle<()> {
    let stop = stop.clone();
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                f();
                thread::sleep(period);
            }
        })
        .expect("helper thread")
}

fn main() -> ExitCode {
    let tasks: usize = std::env::args()
        .skip_while(|a| a != "--tasks")
        .nth(1)
        .map(|n| n.replace('_', "").parse().expect("--tasks N"))
        .unwrap_or(1_000_000);

    // Planned panics would print a million messages; keep the others.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let planned = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|m| m.starts_with("planned"));
        if !planned {
            default_hook(info);
        }
    }));

    let threads_at_start = thread_count();
    let live_at_start = debug::live_tasks();
    let rss_at_start = status_kb("VmRSS:");
    let started = Instant::now();

    let ui = EventLoop::new();
    let unhandled = Arc::new(AtomicUsize::new(0));
    let manager = {
        let unhandled = unhandled.clone();
        TaskManager::builder()
            .max_threads(4)
            .dispatcher(ui.dispatcher())
            .error_handler(move |_| {
                unhandled.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .expect("valid settings")
    };

    // The UI thread: delivers callbacks until told to stop, then until all is delivered.
    let stop = Arc::new(AtomicBool::new(false));
    let ui_thread = {
        let (stop, manager) = (stop.clone(), manager.clone());
        thread::Builder::new()
            .name("ui".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let _ = ui.run_until(|| stop.load(Ordering::SeqCst), Duration::from_millis(50));
                    // a frame
                }
                ui.run_until_idle(&manager, Duration::from_secs(120))
            })
            .expect("ui thread")
    };

    // Every task's outcomes as the manager's signals see them: callbacks of a task whose scope
    // was dropped are silenced, signals are not.
    let signalled = Arc::new(Mutex::new(HashMap::<TaskId, u8>::with_capacity(tasks)));
    {
        let signals = manager.signals();
        let count = |signalled: &Arc<Mutex<HashMap<TaskId, u8>>>| {
            let signalled = signalled.clone();
            move |id: TaskId| *signalled.lock().unwrap().entry(id).or_default() += 1
        };
        let (done, failed, cancelled) = (count(&signalled), count(&signalled), count(&signalled));
        signals.task_completed.connect(move |info| done(info.id));
        signals
            .task_failed
            .connect(move |(info, _)| failed(info.id));
        signals
            .task_cancelled
            .connect(move |info| cancelled(info.id));
    }

    // Recently submitted tasks, for the canceller to pick from.
    let recent: Arc<Mutex<VecDeque<TaskId>>> = Arc::default();
    let cancels = Arc::new(AtomicUsize::new(0));
    let peak_threads = Arc::new(AtomicUsize::new(0));
    let mut helpers = Vec::new();
    {
        let (manager, recent, cancels) = (manager.clone(), recent.clone(), cancels.clone());
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        helpers.push(every(
            "canceller",
            Duration::from_micros(20),
            &stop,
            move || {
                let victim = {
                    let recent = recent.lock().unwrap();
                    (!recent.is_empty()).then(|| recent[rng.below(recent.len() as u64) as usize])
                };
                if let Some(id) = victim {
                    if manager.cancel(id) {
                        cancels.fetch_add(1, Ordering::Relaxed);
                    }
                }
            },
        ));
    }
    {
        let manager = manager.clone();
        helpers.push(every(
            "cancel-all",
            Duration::from_millis(40),
            &stop,
            move || {
                manager.cancel_all();
            },
        ));
    }
    {
        let manager = manager.clone();
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        helpers.push(every(
            "flapper",
            Duration::from_millis(3),
            &stop,
            move || {
                manager.set_max_threads(1 + rng.below(MAX_THREADS as u64) as usize);
            },
        ));
    }
    // Helper threads are up and no worker exists yet: this is the fixed part.
    // + the monitor, + the deadline timer (started by the first task with a deadline)
    let fixed_threads = thread_count() + 2;
    {
        let peak = peak_threads.clone();
        helpers.push(every(
            "monitor",
            Duration::from_micros(500),
            &stop,
            move || {
                peak.fetch_max(thread_count(), Ordering::Relaxed);
            },
        ));
    }

    let endings: Arc<Vec<AtomicU8>> = Arc::new((0..tasks).map(|_| AtomicU8::new(0)).collect());
    let mut ids = Vec::with_capacity(tasks);
    // One task in four runs in a scope; the scope is dropped (and a new one made) every
    // 2,000 tasks, mid-run. `silenceable[i]`: task i's scope was dropped while it could run.
    let mut scope = manager.scope();
    let mut silenceable = vec![false; tasks];
    let mut in_scope = Vec::new();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut recents: VecDeque<Recent> = VecDeque::new();
    let mut scopes_made = 0;
    let (mut continuations, mut combinators) = (0usize, 0usize);
    let mut maps: Vec<MapRecord> = Vec::new();
    let f_runs: Arc<Vec<AtomicU8>> = Arc::new((0..tasks).map(|_| AtomicU8::new(0)).collect());
    for i in 0..tasks {
        if i % 2000 == 1999 {
            drop(std::mem::replace(&mut scope, manager.scope()));
            scopes_made += 1;
            for &j in &in_scope {
                silenceable[j] = true;
            }
            in_scope.clear();
        }
        if i % 1000 == 0 {
            while manager.active_count() > MAX_ACTIVE {
                thread::sleep(Duration::from_micros(200));
            }
        }
        let kind = kind(&mut rng);
        // One task in ten has a deadline, from zero (it never runs) to 400 µs (most make it).
        let deadline = (rng.below(10) == 0).then(|| Duration::from_micros(rng.below(400)));
        let body = move |ctx: &TaskContext| -> Result<u64, AppError> {
            match kind {
                Kind::Ok => Ok(i as u64),
                Kind::Fail => Err(AppError::new("ERR_SOAK", "planned failure")),
                Kind::Panic => panic!("planned panic"),
                Kind::ProgressFlood => {
                    for n in 0..1000 {
                        ctx.set_progress(n, 1000);
                    }
                    Ok(0)
                }
                Kind::Busy => {
                    let until = Instant::now() + Duration::from_micros(20);
                    while Instant::now() < until {
                        ctx.check_cancelled()?;
                    }
                    Ok(1)
                }
                Kind::WaitForCancel => {
                    let until = Instant::now() + Duration::from_micros(300);
                    while Instant::now() < until && !ctx.is_cancelled() {
                        thread::yield_now();
                    }
                    Ok(2)
                }
            }
        };
        let body_async = move |ctx: TaskContext| async move {
            let _counted = Counted::new();
            match kind {
                Kind::Ok => Ok(i as u64),
                Kind::Fail => Err(AppError::new("ERR_SOAK", "planned failure")),
                Kind::Panic => panic!("planned panic"),
                Kind::ProgressFlood => {
                    for n in 0..1000 {
                        ctx.set_progress(n, 1000);
                        if n % 250 == 0 {
                            ctx.yield_now().await;
                        }
                    }
                    Ok(0)
                }
                Kind::Busy => {
                    let until = Instant::now() + Duration::from_micros(20);
                    while Instant::now() < until {
                        ctx.check_cancelled()?;
                    }
                    ctx.yield_now().await;
                    Ok(1)
                }
                // Waits without a worker: a cancel lands while it sleeps.
                Kind::WaitForCancel => {
                    ctx.sleep(Duration::from_micros(300)).await;
                    Ok(2)
                }
            }
        };
        let joined = rng.below(20);
        let continues = joined < 2 && recents.back().is_some_and(|r| r.steps < MAX_CHAIN);
        let (id, joinable) = if continues {
            // A continuation of the newest recent task, which it takes: f counts its runs.
            let Recent {
                task: antecedent,
                steps,
                scoped,
            } = recents.pop_back().expect("a recent task");
            match scoped {
                Some(made) if made == scopes_made => in_scope.push(i),
                // Its scope was dropped: the continuation is refused, silently.
                Some(_) => silenceable[i] = true,
                None => {}
            }
            continuations += 1;
            let fails = matches!(kind, Kind::Fail);
            let result = move || match fails {
                true => Err(AppError::new("ERR_SOAK", "planned failure")),
                false => Ok(i as u64),
            };
            let runs = f_runs.clone();
            let ran = move || {
                runs[i].fetch_add(1, Ordering::Relaxed);
            };
            let builder = match rng.below(3) {
                0 => antecedent.then(move |_, ()| {
                    ran();
                    result()
                }),
                1 => antecedent.then_result(move |_, _outcome| {
                    ran();
                    result()
                }),
                _ => antecedent.then_async(move |ctx, ()| async move {
                    let _counted = Counted::new();
                    ran();
                    ctx.yield_now().await;
                    result()
                }),
            };
            let task = start_counted(builder, &endings, i, deadline);
            let recent = Recent {
                steps: steps + 1,
                scoped,
                task,
            };
            (recent.task.id(), Some(recent))
        } else if joined == 2 && recents.len() >= 2 {
            // A combinator over the newest two to four recent tasks, which it takes.
            combinators += 1;
            let n = (2 + rng.below(3) as usize).min(recents.len());
            let inputs: Vec<Task<()>> =
                recents.drain(recents.len() - n..).map(|r| r.task).collect();
            match rng.below(3) {
                2 => {
                    // Its handle has items: not one a later continuation takes.
                    let each = manager.when_each(inputs).on_items(|_| {});
                    (start_counted(each, &endings, i, deadline).id(), None)
                }
                kind => {
                    let task = match kind {
                        0 => start_counted(manager.when_all(inputs), &endings, i, deadline),
                        _ => start_counted(manager.when_any(inputs), &endings, i, deadline),
                    };
                    let recent = Recent {
                        steps: 1,
                        scoped: None,
                        task,
                    };
                    (recent.task.id(), Some(recent))
                }
            }
        } else if joined == 3 {
            // A map of up to 64 items, of one of the four forms.
            let size = rng.below(65) as usize;
            let seed = rng.next();
            let record = MapRecord {
                runs: Arc::new((0..size).map(|_| AtomicU8::new(0)).collect()),
                completed: Arc::default(),
            };
            let (runs, completed) = (record.runs.clone(), record.completed.clone());
            let done = move || completed.store(true, Ordering::SeqCst);
            let id = match rng.below(4) {
                0 => {
                    let map = manager.map(0..size, move |_, n| map_item(&runs, n, seed));
                    start_counted(map.on_complete(move |_| done()), &endings, i, deadline).id()
                }
                1 => {
                    let each =
                        manager.for_each(0..size, move |_, n| map_item(&runs, n, seed).map(drop));
                    start_counted(each.on_complete(move |()| done()), &endings, i, deadline).id()
                }
                2 => {
                    let map = manager
                        .map_async(0..size, move |ctx, n| {
                            let runs = runs.clone();
                            async move {
                                let _counted = Counted::new();
                                ctx.yield_now().await;
                                map_item(&runs, n, seed)
                            }
                        })
                        .parallelism(1 + rng.below(8) as usize)
                        .on_items(|_| {});
                    start_counted(map.on_complete(move |_| done()), &endings, i, deadline).id()
                }
                _ => {
                    let each = manager
                        .for_each_async(0..size, move |_, n| {
                            let runs = runs.clone();
                            async move { map_item(&runs, n, seed).map(drop) }
                        })
                        .parallelism(1 + rng.below(8) as usize);
                    start_counted(each.on_complete(move |()| done()), &endings, i, deadline).id()
                }
            };
            maps.push(record);
            (id, None)
        } else {
            let in_a_scope = rng.below(4) == 0;
            let is_async = rng.below(3) == 0;
            if in_a_scope {
                in_scope.push(i);
            }
            let task = match (in_a_scope, is_async) {
                (true, false) => start_counted(scope.task(body), &endings, i, deadline),
                (true, true) => start_counted(scope.task_async(body_async), &endings, i, deadline),
                (false, false) => start_counted(manager.task(body), &endings, i, deadline),
                (false, true) => {
                    start_counted(manager.task_async(body_async), &endings, i, deadline)
                }
            };
            let recent = Recent {
                task,
                steps: 1,
                scoped: in_a_scope.then_some(scopes_made),
            };
            (recent.task.id(), Some(recent))
        };
        if let Some(joinable) = joinable {
            if recents.len() == 8 {
                recents.pop_front(); // detached
            }
            recents.push_back(joinable);
        }
        let task_id = id;
        ids.push(task_id);
        {
            let mut recent = recent.lock().unwrap();
            if recent.len() == 4096 {
                recent.pop_front();
            }
            recent.push_back(task_id);
        }
        // Detached (once out of `recents`): callbacks report the outcome.
    }
    drop(recents);
    let submitted = started.elapsed();

    let mut failures = Vec::new();
    if !manager.wait_for_all(Duration::from_secs(120)) {
        failures.push("the manager did not become idle".to_owned());
    }
    stop.store(true, Ordering::SeqCst);
    for helper in helpers {
        helper.join().expect("helper");
    }
    let peak_workers = peak_threads
        .load(Ordering::SeqCst)
        .saturating_sub(fixed_threads);
    if !ui_thread.join().expect("ui thread") {
        failures.push("callbacks were still pending after 120 s".to_owned());
    }
    let elapsed = started.elapsed();
    let active_after = manager.active_count();
    drop(scope);
    drop(manager);

    // Each task ends exactly once (the signals); its callback ran once, or, in a scope
    // dropped while it could run, at most once (none after the drop).
    let signalled = signalled.lock().unwrap();
    let mut counts = [0usize; 3];
    let mut silenced = 0;
    for (i, ending) in endings.iter().enumerate() {
        let outcomes = signalled.get(&ids[i]).copied().unwrap_or(0);
        let callbacks = ending.load(Ordering::SeqCst);
        let problem = match (outcomes, callbacks) {
            (1, 1) => None,
            (1, 0) if silenceable[i] => {
                silenced += 1;
                None
            }
            (1, n) => Some(format!("task {i} ran {n} terminal callbacks")),
            (0, _) => Some(format!("task {i} never ended")),
            (n, _) => Some(format!("task {i} ended {n} times")),
        };
        let slot = match outcomes {
            1 => 0,
            0 => 1,
            _ => 2,
        };
        counts[slot] += 1;
        if let Some(problem) = problem {
            if failures.len() < 6 {
                failures.push(problem);
            }
        }
    }
    drop(signalled);
    let twice = f_runs
        .iter()
        .filter(|runs| runs.load(Ordering::SeqCst) > 1)
        .count();
    if twice != 0 {
        failures.push(format!(
            "{twice} continuations ran their function more than once"
        ));
    }
    let (mut items_twice, mut items_missing) = (0usize, 0usize);
    for map in &maps {
        let runs: Vec<u8> = map.runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        items_twice += runs.iter().filter(|&&r| r > 1).count();
        if map.completed.load(Ordering::SeqCst) {
            items_missing += runs.iter().filter(|&&r| r == 0).count();
        }
    }
    if items_twice != 0 {
        failures.push(format!("{items_twice} items of maps ran more than once"));
    }
    if items_missing != 0 {
        failures.push(format!("{items_missing} items of completed maps never ran"));
    }
    if active_after != 0 {
        failures.push(format!("{active_after} tasks still active"));
    }
    if peak_workers > MAX_THREADS {
        failures.push(format!(
            "{peak_workers} worker threads at once (limit {MAX_THREADS})"
        ));
    }
    let leaked = debug::live_tasks().saturating_sub(live_at_start);
    if leaked != 0 {
        failures.push(format!("{leaked} task states leaked"));
    }
    // Futures still waiting to be dropped by a worker are dropped before its pool goes: by
    // now (the manager dropped) every one must be.
    let (made, dropped) = (
        FUTURES_MADE.load(Ordering::SeqCst),
        FUTURES_DROPPED.load(Ordering::SeqCst),
    );
    if made != dropped {
        failures.push(format!(
            "{} futures of async bodies never dropped",
            made - dropped
        ));
    }
    let threads_after = thread_count();
    if threads_after > threads_at_start {
        failures.push(format!(
            "{} threads left behind",
            threads_after - threads_at_start
        ));
    }

    println!("soak: {tasks} tasks");
    println!(
        "  time             {:.2} s ({:.2} s submitting), {:.0} tasks/s",
        elapsed.as_secs_f64(),
        submitted.as_secs_f64(),
        tasks as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  outcomes         {} exactly once, {} never, {} more than once",
        counts[0], counts[1], counts[2]
    );
    println!(
        "  scopes           one task in four, each scope dropped mid-run after 2,000 tasks; \
         {silenced} callbacks silenced by a dropped scope",
    );
    println!(
        "  cancels          {} by id from another thread, plus cancel_all every 40 ms; {} \
         errors reached the handler",
        cancels.load(Ordering::Relaxed),
        unhandled.load(Ordering::Relaxed)
    );
    println!("  async bodies     one task in three; {made} futures made, {dropped} dropped");
    println!(
        "  joined           {continuations} continuations (chains of up to {MAX_CHAIN} steps), \
         {combinators} combinators; each continuation's function ran at most once"
    );
    let items: usize = maps.iter().map(|map| map.runs.len()).sum();
    println!(
        "  maps             {} of {items} items in all; {items_twice} items ran twice, \
         {items_missing} of completed maps never ran",
        maps.len()
    );
    println!(
        "  peak threads     {peak_workers} workers (limit {MAX_THREADS}) + {fixed_threads} fixed"
    );
    println!(
        "  task states      peak {} live, {} leaked",
        debug::peak_live_tasks(),
        leaked
    );
    println!(
        "  memory           RSS {} MB at start, {} MB at end, peak {} MB",
        rss_at_start / 1024,
        status_kb("VmRSS:") / 1024,
        status_kb("VmHWM:") / 1024
    );
    if failures.is_empty() {
        println!("soak passed");
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}
