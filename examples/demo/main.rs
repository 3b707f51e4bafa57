//! The demo: the main thread runs an event loop the way a UI thread does (a frame every
//! 16 ms) while real work runs on the pool, with progress bars.
//!
//! ```text
//! cargo run --release --example demo                 # defaults: 4 files, 512 MB
//! cargo run --release --example demo -- --tasks 8 --size 512
//! cargo run --release --example demo -- --quiet     # no bars, only the summary
//! ```
//!
//! What runs: files of generated data written to a temporary directory, read back and
//! hashed (one `map` over the files: one task, one bar, each file's checksums shown as it is
//! done); a prime sieve; a scan that the demo cancels after a second; a
//! settings load that fails with a structured `AppError`; and a search box that fires one
//! task per keystroke with `exclusive = "cancel_previous"`, so only the last query's result
//! is shown. The frame counter under the bars keeps ticking: the UI thread never waits for
//! the work. At the end: a summary table and the longest gap between two frames.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod history;
mod work;

use history::History;
use task_macros::run_in_background;
use task_runtime::indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use task_runtime::{
    AppError, EventLoop, Publisher, Task, TaskContext, TaskManager, TerminalProgress,
};

const FRAME: Duration = Duration::from_millis(16);
const MB: usize = 1 << 20;
const PRIMES_BELOW: usize = 500_000_000;

struct Options {
    files: usize,
    size_mb: usize,
    quiet: bool,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            files: 4,
            size_mb: 512,
            quiet: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<usize, String> {
                let value = args.next().ok_or(format!("{name} needs a number"))?;
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{name}: expected a positive number, got {value:?}"))
            };
            match arg.as_str() {
                "--tasks" => options.files = number("--tasks")?,
                "--size" => options.size_mb = number("--size")?,
                "--quiet" => options.quiet = true,
                "--help" | "-h" => {
                    println!("usage: demo [--tasks N] [--size MB] [--quiet]");
                    println!("  --tasks N   files to write and hash (default 4)");
                    println!("  --size MB   data across all files (default 512)");
                    println!("  --quiet     no progress bars, only the summary");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        Ok(options)
    }
}

/// A file's name, FNV-1a and CRC-32.
type Checksums = (String, u64, u32);

/// What the UI shows, updated by callbacks on the UI thread only.
#[derive(Default)]
struct Screen {
    hashes: Vec<Checksums>,
    primes: Option<usize>,
    /// The search box's list, filled as results are found, and how many batches filled it.
    search_results: Vec<String>,
    search_batches: usize,
    search_count: Option<usize>,
    errors: Vec<String>,
}

/// The application's service object: its methods run in the background.
#[derive(Clone)]
struct Service {
    batch: TaskManager,
    interactive: TaskManager,
    screen: Arc<Mutex<Screen>>,
    dir: Arc<PathBuf>,
}

impl Service {
    /// Writes `files` files of `mb` megabytes of generated data, then reads each back and
    /// checksums it: one task for them all, drawn as one bar, each file's checksums shown as
    /// soon as it is done.
    fn hash_files(&self, files: usize, mb: usize) -> Task<Vec<Checksums>, (usize, Checksums)> {
        let (dir, shown, failed) = (Arc::clone(&self.dir), self.clone(), self.clone());
        self.batch
            .map(1..=files, move |ctx, index| hash_file(&dir, index, mb, ctx))
            .name("hash files")
            .show_progress(true)
            .on_items(move |done| done.into_iter().for_each(|(_, sums)| shown.show_hash(sums)))
            .on_error(move |error| failed.show_error(error))
            .start()
    }

    /// Counts the primes below `limit` with a sieve, a segment at a time.
    #[run_in_background(task_name = "primes", manager = &self.batch,
                        on_complete = self.show_primes, show_progress = true)]
    fn count_primes(&self, limit: usize, ctx: &TaskContext) -> Result<usize, AppError> {
        let count = work::count_primes(limit, |done, segments, count| {
            ctx.report_progress(done, segments, format!("{count} primes so far"));
            ctx.check_cancelled()
        })?;
        Ok(count)
    }

    /// A long scan with no end in sight (total unknown: a spinner). The demo cancels it.
    #[run_in_background(task_name = "scan", manager = &self.interactive, show_progress = true)]
    fn slow_scan(&self, ctx: &TaskContext) -> Result<(), AppError> {
        Ok(work::scan(|entries| {
            ctx.report_progress(entries, 0, format!("{entries} entries"));
            ctx.check_cancelled()
        })?)
    }

    /// Loads settings that are not there: fails with a structured error.
    #[run_in_background(task_name = "settings", manager = &self.interactive,
                        on_error = self.show_error, show_progress = true)]
    fn load_settings(&self) -> Result<String, AppError> {
        work::read_settings(&self.dir.join("settings.toml"))
    }

    /// One task per keystroke: each new one supersedes the previous ones of the name (none
    /// of their results arrives after that). Results are listed as they are found.
    #[run_in_background(task_name = "search", manager = &self.interactive,
                        exclusive = "cancel_previous", on_started = self.clear_search,
                        on_items = self.list_results, on_complete = self.show_search,
                        show_progress = true)]
    fn search(
        &self,
        query: String,
        results: &Publisher<String>,
        ctx: &TaskContext,
    ) -> Result<usize, AppError> {
        Ok(work::search(
            &query,
            |result| results.publish(result),
            |step, steps| {
                ctx.report_progress(step, steps, format!("searching {query:?}"));
                ctx.check_cancelled()
            },
        )?)
    }

    // Callbacks: on the UI thread.
    fn show_hash(&self, checksums: Checksums) {
        self.screen.lock().unwrap().hashes.push(checksums);
    }
    fn show_primes(&self, count: usize) {
        self.screen.lock().unwrap().primes = Some(count);
    }
    fn clear_search(&self) {
        let mut screen = self.screen.lock().unwrap();
        screen.search_results.clear();
        screen.search_batches = 0;
    }
    fn list_results(&self, batch: Vec<String>) {
        let mut screen = self.screen.lock().unwrap();
        screen.search_results.extend(batch);
        screen.search_batches += 1;
    }
    fn show_search(&self, count: usize) {
        self.screen.lock().unwrap().search_count = Some(count);
    }
    fn show_error(&self, err: AppError) {
        self.screen
            .lock()
            .unwrap()
            .errors
            .push(err.user_message().to_owned());
    }
}

fn main() {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("demo: {message}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("task-runtime-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");

    // The UI: an event loop drained once per frame, and the bars on stderr.
    let ui = EventLoop::new();
    let display = Arc::new(if options.quiet {
        TerminalProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        TerminalProgress::new()
    });
    let frames_line = display.multi().add(ProgressBar::new_spinner());
    frames_line.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));

    // Two managers, as an application would have: batch work gets a thread per core, and
    // what the user waits for (the search box, loading settings) has threads of its own, so
    // it never queues behind the batch. Both deliver to the UI thread and show their bars in
    // the same display.
    let manager = |name: &str, threads: usize| {
        TaskManager::builder()
            .max_threads(threads)
            .thread_name(name)
            .dispatcher(ui.dispatcher())
            .progress_display(display.clone())
            .build()
            .expect("valid settings")
    };
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let batch = manager("batch", cores.max(2));
    let interactive = manager("interactive", 2);
    let history = History::default();
    history.follow(&batch);
    history.follow(&interactive);
    let service = Service {
        batch: batch.clone(),
        interactive: interactive.clone(),
        screen: Arc::default(),
        dir: Arc::new(dir.clone()),
    };

    // Start the work; the handles let the UI cancel.
    let per_file = (options.size_mb / options.files).max(1);
    history.track(&service.hash_files(options.files, per_file));
    history.track(&service.count_primes(PRIMES_BELOW));
    let scan = service.slow_scan();
    history.track(&scan);
    history.track(&service.load_settings());
    let mut keystrokes = ["r", "ru", "rus", "rust"].into_iter();
    let mut next_keystroke = started + Duration::from_millis(300);

    // The frame loop.
    let mut frames = 0u64;
    let mut longest_gap = Duration::ZERO;
    let mut last_frame = Instant::now();
    let mut cancelled_scan = false;
    loop {
        let now = Instant::now();
        longest_gap = longest_gap.max(now - last_frame);
        last_frame = now;
        frames += 1;

        ui.process_events(); // callbacks and signals run here
        if now >= next_keystroke {
            if let Some(query) = keystrokes.next() {
                history.track(&service.search(query.to_owned()));
                next_keystroke = now + Duration::from_millis(120);
            }
        }
        if !cancelled_scan && now - started >= Duration::from_secs(1) {
            scan.cancel();
            cancelled_scan = true;
        }
        frames_line.set_message(format!(
            "UI thread: frame {frames}, longest gap {} ms, {} tasks active",
            longest_gap.as_millis(),
            batch.active_count() + interactive.active_count()
        ));
        frames_line.tick();

        if keystrokes.len() == 0 && history.open_count() == 0 && ui.pending() == 0 {
            break;
        }
        assert!(
            now - started < Duration::from_secs(120),
            "the demo took too long"
        );
        // Sleep to the next frame, as a UI waits for vsync.
        thread::sleep(FRAME.saturating_sub(now.elapsed()));
    }
    frames_line.finish_and_clear();
    let screen = Arc::clone(&service.screen);
    drop(service);
    drop((batch, interactive)); // the last handles: the threads exit
    let _ = std::fs::remove_dir_all(&dir);

    print_summary(&history, &screen.lock().unwrap());
    println!(
        "\n{frames} frames in {:.1} s; longest gap between two frames: {} ms",
        started.elapsed().as_secs_f64(),
        longest_gap.as_millis()
    );
}

fn print_summary(history: &History, screen: &Screen) {
    let mut table = String::new();
    let _ = writeln!(table, "{:<10} {:<58} {:>8}", "task", "outcome", "time");
    let _ = writeln!(table, "{:-<10} {:-<58} {:->8}", "", "", "");
    for entry in history.entries().iter() {
        let (outcome, time) = match (&entry.ended, entry.duration()) {
            (Some((_, outcome)), _) if entry.started.is_none() => {
                (format!("{outcome} before it started"), "-".into())
            }
            (Some((_, outcome)), Some(took)) => {
                (outcome.to_string(), format!("{:.2} s", took.as_secs_f64()))
            }
            _ => ("(no outcome)".to_owned(), String::new()),
        };
        let _ = writeln!(table, "{:<10} {:<58} {:>8}", entry.name, outcome, time);
        if entry.extra_outcomes > 0 {
            let _ = writeln!(table, "  ... and {} more outcomes!", entry.extra_outcomes);
        }
    }
    println!("{table}");
    let mut hashes: Vec<&Checksums> = screen.hashes.iter().collect();
    hashes.sort();
    for (file, fnv, crc) in hashes {
        println!("{file}: fnv-1a {fnv:016x}, crc-32 {crc:08x}");
    }
    if let Some(primes) = screen.primes {
        println!("primes below {PRIMES_BELOW}: {primes}");
    }
    if let Some(count) = screen.search_count {
        let results = &screen.search_results;
        println!(
            "search box lists {} of {count} results ({} .. {}), received in {} batches as they \
             were found; earlier keystrokes' results never arrived",
            results.len(),
            results.first().map_or("", String::as_str),
            results.last().map_or("", String::as_str),
            screen.search_batches
        );
    }
    for error in &screen.errors {
        println!("error panel: {error}");
    }
}

/// Writes `mb` megabytes of generated data to a file, then reads it back and checksums it:
/// one item of the map.
fn hash_file(
    dir: &Path,
    index: usize,
    mb: usize,
    ctx: &TaskContext,
) -> Result<Checksums, AppError> {
    let path = dir.join(format!("data-{index}.bin"));
    let mut seed = work::seed(index);
    let mut chunk = vec![0u8; MB];
    let mut out = BufWriter::new(File::create(&path)?);
    for _ in 0..mb {
        ctx.check_cancelled()?;
        work::fill(&mut chunk, &mut seed);
        out.write_all(&chunk)?;
    }
    out.flush()?;
    drop(out);
    let mut hash = work::Fnv::default();
    let mut crc = work::Crc32::new();
    let mut file = File::open(&path)?;
    for _ in 0..mb {
        ctx.check_cancelled()?;
        file.read_exact(&mut chunk)?;
        hash.write(&chunk);
        crc.write(&chunk);
    }
    Ok((name_of(&path), hash.0, crc.finish()))
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
