//! Helpers shared by the integration tests: gates, deadline waits and event logs.
//! Tests synchronise with these, never with bare sleeps.

#![allow(dead_code)] // each test binary uses a different subset

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Generous: the tests must pass on a loaded 2-core machine. Nothing waits this long unless
/// something is broken.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A gate that bodies wait on until the test opens it.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self) {
        *self.inner.0.lock().unwrap() = true;
        self.inner.1.notify_all();
    }

    /// Waits until opened; panics after [`PATIENCE`] so a broken test fails instead of hanging.
    pub fn wait(&self) {
        let (lock, cv) = &*self.inner;
        let deadline = Instant::now() + PATIENCE;
        let mut open = lock.lock().unwrap();
        while !*open {
            let now = Instant::now();
            assert!(now < deadline, "gate never opened");
            open = cv.wait_timeout(open, deadline - now).unwrap().0;
        }
    }

    pub fn is_open(&self) -> bool {
        *self.inner.0.lock().unwrap()
    }
}

/// Polls `cond` until it holds or [`PATIENCE`] passes; panics with `what` on timeout.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// An ordered, thread-safe record of events.
#[derive(Clone, Default)]
pub struct Log {
    events: Arc<Mutex<Vec<String>>>,
}

impl Log {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.events.lock().unwrap().push(event.into());
    }

    /// A closure that records `event` (for callbacks that take no argument).
    pub fn recorder(&self, event: &str) -> impl FnOnce() + Send + 'static {
        let log = self.clone();
        let event = event.to_owned();
        move || log.push(event)
    }

    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    pub fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| *e == event).count()
    }

    pub fn len(&self) -> usize {
        self.events.lock().unwrap().len()
    }
}

use task_runtime::{AppError, EventLoop, Task, TaskManager, TaskState};

/// Returns once the running task is asked to stop (a body that ignores everything else).
pub fn spin_until_cancelled(ctx: &task_runtime::TaskContext) {
    while !ctx.is_cancelled() {
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A body that opens `gate` once it runs, then loops until cancelled.
pub fn until_cancelled(
    gate: Gate,
) -> impl FnOnce(&task_runtime::TaskContext) -> Result<(), AppError> + Send {
    move |ctx| {
        gate.open();
        spin_until_cancelled(ctx);
        ctx.check_cancelled()?;
        Ok(())
    }
}

/// Starts a task whose body waits for `gate`.
pub fn gated(manager: &TaskManager, gate: &Gate) -> Task<()> {
    let gate = gate.clone();
    manager.spawn(move |_| {
        gate.wait();
        Ok::<_, AppError>(())
    })
}

/// Starts a gated task and waits until it runs, so it holds one of the manager's threads.
pub fn occupy(manager: &TaskManager, gate: &Gate) -> Task<()> {
    let task = gated(manager, gate);
    eventually("the occupying task to run", || {
        task.state() == TaskState::Running
    });
    task
}

/// A manager whose callbacks and signals are queued on `ui`.
pub fn ui_manager(ui: &EventLoop, threads: usize) -> TaskManager {
    TaskManager::builder()
        .max_threads(threads)
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap()
}

/// A manager with no worker threads (bodies run when the test asks) on a test clock.
pub fn manual_on(clock: &task_runtime::TestClock) -> TaskManager {
    TaskManager::builder()
        .manual()
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// Proves the manager can run `threads` bodies at the same time: they meet at a barrier.
/// The barrier has a deadline, so a pool that is short of threads fails the test instead of
/// leaving its bodies blocked.
pub fn assert_parallel_capacity(manager: &TaskManager, threads: usize) {
    let met = meet(manager, threads);
    assert_eq!(
        met, threads,
        "{threads} tasks that meet at a barrier did not all run: the pool ran only {met} \
         bodies at once"
    );
}

/// Starts `threads` tasks that wait (up to [`MEETING`]) until all of them run at once;
/// returns the most that were running together.
pub fn meet(manager: &TaskManager, threads: usize) -> usize {
    let arrived = Arc::new((Mutex::new(0usize), Condvar::new()));
    let tasks: Vec<_> = (0..threads)
        .map(|_| {
            let arrived = arrived.clone();
            manager.spawn(move |_| {
                let (count, cv) = &*arrived;
                let mut n = count.lock().unwrap();
                *n += 1;
                cv.notify_all();
                let deadline = Instant::now() + MEETING;
                while *n < threads {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    n = cv.wait_timeout(n, deadline - now).unwrap().0;
                }
                Ok::<_, AppError>(*n)
            })
        })
        .collect();
    tasks
        .into_iter()
        .map(|task| task.join().unwrap())
        .max()
        .unwrap_or(0)
}

/// How long the bodies started by [`meet`] wait for each other.
pub const MEETING: Duration = Duration::from_secs(10);

/// A `tracing-subscriber` writer that keeps what it is given, for tests that check logs.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far, line by line.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Whether this process's thread named `name` is blocked (sleeping in the kernel, state `S`
/// in `/proc`), on Linux. Elsewhere there is no `/proc` to ask: it waits 50 ms and says yes,
/// a head start that a loaded machine can outlast (tests that use it may then flake there).
pub fn is_blocked(name: &str) -> bool {
    if cfg!(target_os = "linux") {
        thread_file(name, "stat").is_some_and(|stat| {
            // The state follows the command name, which may hold spaces: after its `)`.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                == Some('S')
        })
    } else {
        head_start()
    }
}

/// Whether this process's thread named `name` sleeps in a futex wait *with a timeout*: a
/// `Condvar::wait_timeout`, as opposed to waiting for a mutex, which std does without one.
/// Read from `/proc/self/task/<tid>/syscall` on Linux (x86_64 and aarch64); elsewhere the
/// 50 ms head start of [`is_blocked`].
pub fn is_in_timed_wait(name: &str) -> bool {
    const FUTEX: &str = if cfg!(target_arch = "aarch64") {
        "98"
    } else {
        "202"
    };
    if !cfg!(target_os = "linux") || !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return head_start();
    }
    thread_file(name, "syscall").is_some_and(|call| {
        // `<number> <arg1> .. <arg6> <sp> <pc>`; futex's fourth argument is the timeout.
        let fields: Vec<&str> = call.split_whitespace().collect();
        fields.first() == Some(&FUTEX) && fields.get(4).is_some_and(|timeout| *timeout != "0x0")
    })
}

fn head_start() -> bool {
    std::thread::sleep(Duration::from_millis(50));
    true
}

/// `/proc/self/task/<tid>/<file>` of this process's thread named `name`, if there is one.
fn thread_file(name: &str, file: &str) -> Option<String> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            if comm.trim_end() != name {
                return None;
            }
            std::fs::read_to_string(entry.path().join(file)).ok()
        })
}
