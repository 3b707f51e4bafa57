//! Hashes every file of a directory tree, one task per file in one shown scope, and cancels
//! the scope after a time budget: the check that a cancel mid-run loses nothing. Every
//! callback runs on this thread (`local()` callbacks through an `EventLoop`), and at the end
//! the callbacks are counted against the handles' outcomes:
//!
//! * each task that completed ran its `on_complete`, each that failed its `on_error`;
//! * `scope.cancel()` returned exactly the number of tasks that ended cancelled, and none of
//!   them ran a callback (a cancel silences what it cancels).
//!
//! ```sh
//! cargo run --release --example hash_tree -- /usr 2000   # tree, budget in milliseconds
//! ```
//!
//! It exits with status 1 when a count does not match.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use task_runtime::{AppError, EventLoop, Task, TaskError, TaskManager};

/// Every regular file under `dir` (unreadable directories are skipped).
fn files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => files(&entry.path(), into),
            Ok(kind) if kind.is_file() => into.push(entry.path()),
            _ => {}
        }
    }
}

/// FNV-1a over the file's bytes, reporting the bytes read as progress.
fn hash(path: &Path, ctx: &task_runtime::TaskContext) -> Result<u64, AppError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let total = file.metadata()?.len();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut buffer = [0u8; 64 * 1024];
    let mut read = 0;
    loop {
        ctx.check_cancelled()?;
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hash);
        }
        for &byte in &buffer[..n] {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        read += n as u64;
        ctx.set_progress(read, total);
    }
}

#[derive(Default)]
struct Heard {
    completed: Cell<usize>,
    failed: Cell<usize>,
    cancelled: Cell<usize>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| "/usr".to_owned()));
    let budget = Duration::from_millis(args.next().map_or(2_000, |ms| ms.parse().unwrap()));

    let mut paths = Vec::new();
    files(&root, &mut paths);
    eprintln!("{} files under {}", paths.len(), root.display());

    let ui = EventLoop::new();
    let manager = TaskManager::builder()
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap();
    let heard = Rc::new(Heard::default());
    let scope = manager.scope().named("hash").show_progress(true);
    let started = Instant::now();
    let tasks: Vec<Task<()>> = paths
        .into_iter()
        .map(|path| {
            let (done, failed, cancelled) = (heard.clone(), heard.clone(), heard.clone());
            scope
                .task(move |ctx| hash(&path, ctx))
                .local()
                .on_complete(move |_| done.completed.set(done.completed.get() + 1))
                .on_error(move |_| failed.failed.set(failed.failed.get() + 1))
                .on_cancelled(move || cancelled.cancelled.set(cancelled.cancelled.get() + 1))
                .start()
        })
        .collect();
    eprintln!(
        "{} tasks submitted in {:.1?}",
        tasks.len(),
        started.elapsed()
    );

    // A frame loop until the budget is spent, then the cancel, then until everything is in.
    while started.elapsed() < budget && scope.active_count() > 0 {
        ui.process_events();
        std::thread::sleep(Duration::from_millis(16));
    }
    let cancelling = Instant::now();
    let cancelled_by_call = scope.cancel();
    let cancel_took = cancelling.elapsed();
    assert!(ui.run_until_idle(&manager, Duration::from_secs(600)));

    let (mut completed, mut failed, mut cancelled) = (0, 0, 0);
    for task in tasks {
        match task.join() {
            Ok(()) => completed += 1,
            Err(TaskError::Failed(_)) => failed += 1,
            Err(TaskError::Cancelled) => cancelled += 1,
        }
    }
    println!(
        "handles: {completed} completed, {failed} failed, {cancelled} cancelled; \
         callbacks: {} on_complete, {} on_error, {} on_cancelled; \
         scope.cancel() returned {cancelled_by_call} in {cancel_took:.1?} (at {:.1?})",
        heard.completed.get(),
        heard.failed.get(),
        heard.cancelled.get(),
        cancelling.duration_since(started),
    );
    let agree = heard.completed.get() == completed
        && heard.failed.get() == failed
        && heard.cancelled.get() == 0
        && cancelled_by_call == cancelled;
    if !agree {
        eprintln!("MISMATCH: the callbacks do not match the handles' outcomes");
        std::process::exit(1);
    }
    println!("the callbacks match the handles' outcomes");
}
