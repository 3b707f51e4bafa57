//! The application's service object: the work that runs in the background, written with the
//! attributes, and the callbacks that bring its results back to the UI thread.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use task_macros::{async_method, run_in_background};
use task_runtime::{AppError, Progress, Publisher, ScopeHandle, Task, TaskContext, TaskManager};

use crate::server::Server;
use crate::{http, work};

const MB: usize = 1 << 20;

/// A stream's label, FNV-1a and CRC-32.
pub type Checksums = (String, u64, u32);

/// What the callbacks have delivered. Written only on the UI thread (the managers dispatch
/// there), so the mutex is never contended; it is there because the service is `Send`.
#[derive(Default)]
pub struct Results {
    pub hashes: Vec<Checksums>,
    pub primes: Option<usize>,
    /// The latest query's results as they are found, and their count once it is done.
    pub found: Vec<String>,
    pub search: Option<usize>,
    pub errors: Vec<AppError>,
    /// The preview panel's latest step, and how many progress callbacks it received.
    pub preview: Option<u64>,
    pub preview_updates: u64,
    /// Each downloaded file's name and its rows.
    pub downloads: Vec<(String, usize)>,
}

/// The service the window drives. Cloning it is cheap: the attributes clone `self` into
/// each task.
#[derive(Clone)]
pub struct AppService {
    /// CPU-heavy work: a thread per core but one.
    pub batch: TaskManager,
    /// What the user waits for (search, settings): threads of its own, so it never queues
    /// behind the batch.
    pub interactive: TaskManager,
    /// The downloads: async bodies, which hold a worker only while they are polled, so one
    /// thread runs them all (and the blocking parse of each).
    pub network: TaskManager,
    pub client: reqwest::Client,
    /// The loopback server the downloads come from.
    pub server: Server,
    pub results: Arc<Mutex<Results>>,
    /// Each panel's scope: the window owns the `TaskScope`s and drops one when its panel
    /// closes (the preview's mid-run, the others with the window).
    pub panels: PanelScopes,
}

/// Handles to the panels' scopes, for the attributes' `scope = ..`.
#[derive(Clone)]
pub struct PanelScopes {
    pub hashing: ScopeHandle,
    pub search: ScopeHandle,
    pub preview: ScopeHandle,
    pub downloads: ScopeHandle,
}

impl AppService {
    /// Generates `streams` streams of `mb` megabytes of data, a megabyte at a time, and
    /// checksums each: one `map` in the hashing panel's scope (one task, however many
    /// streams), each stream's checksums shown as soon as it is done.
    pub fn hash_streams(
        &self,
        streams: usize,
        mb: usize,
    ) -> Task<Vec<Checksums>, (usize, Checksums)> {
        let (shown, failed) = (self.clone(), self.clone());
        self.panels
            .hashing
            .map(1..=streams, move |ctx, stream| hash_stream(stream, mb, ctx))
            .name("hash")
            .on_items(move |done| done.into_iter().for_each(|(_, sums)| shown.show_hash(sums)))
            .on_error(move |error| failed.show_error(error))
            .start()
    }

    /// Counts the primes below `limit`. An `async_method`: the window keeps the returned
    /// `Task` and polls it once per frame, the poll-promise way.
    #[async_method(task_name = "primes", manager = &self.batch, show_progress = false)]
    pub fn count_primes(&self, limit: usize, ctx: &TaskContext) -> Result<usize, AppError> {
        let count = work::count_primes(limit, |done, segments, count| {
            ctx.report_progress(done, segments, format!("{count} primes so far"));
            ctx.check_cancelled()
        })?;
        Ok(count)
    }

    /// A scan with no end in sight (no total: the bar shows a count). Runs until cancelled.
    #[run_in_background(task_name = "scan", manager = &self.interactive, show_progress = false)]
    pub fn scan(&self, ctx: &TaskContext) -> Result<(), AppError> {
        Ok(work::scan(|entries| {
            ctx.report_progress(entries, 0, format!("{entries} entries"));
            ctx.check_cancelled()
        })?)
    }

    /// Loads settings that are not there: fails with a structured error for the error panel.
    #[run_in_background(task_name = "settings", manager = &self.interactive,
                        on_error = self.show_error, show_progress = false)]
    pub fn load_settings(&self) -> Result<String, AppError> {
        work::read_settings(&std::env::temp_dir().join("egui-demo-does-not-exist/settings.toml"))
    }

    /// A plugin with a bug: its body panics. The panic becomes an `ERR_TASK_PANICKED` error
    /// and the worker thread lives on.
    #[run_in_background(task_name = "plugin", manager = &self.batch,
                        on_error = self.show_error, show_progress = false)]
    pub fn run_plugin(&self, ctx: &TaskContext) -> Result<u32, AppError> {
        ctx.report_progress(1, 2, "loading the plugin");
        thread::sleep(Duration::from_millis(150));
        let table: Vec<u32> = vec![1, 2, 3];
        let index = table.len() + usize::from(!ctx.is_cancelled());
        Ok(table[index]) // out of bounds: the plugin's bug
    }

    /// One task per keystroke; a new one cancels the running one of the same name, so only
    /// the latest query's results ever reach the screen. They are listed as they are found.
    #[run_in_background(task_name = "search", manager = &self.interactive,
                        scope = &self.panels.search, exclusive = "cancel_previous",
                        on_started = self.clear_search, on_items = self.list_results,
                        on_complete = self.show_search, show_progress = false)]
    pub fn search(
        &self,
        query: String,
        results: &Publisher<String>,
        ctx: &TaskContext,
    ) -> Result<usize, AppError> {
        let count = work::search(
            &query,
            |result| results.publish(result),
            |step, steps| {
                ctx.report_progress(step, steps, format!("searching {query:?}"));
                ctx.check_cancelled()
            },
        )?;
        Ok(count)
    }

    /// Renders the preview panel step by step. It lives in the panel's scope: closing the
    /// panel cancels it, and none of its callbacks runs after that.
    #[run_in_background(task_name = "preview", manager = &self.interactive,
                        scope = &self.panels.preview, on_progress = self.show_preview,
                        show_progress = false)]
    pub fn render_preview(&self, ctx: &TaskContext) -> Result<(), AppError> {
        const STEPS: u64 = 400;
        for step in 1..=STEPS {
            ctx.check_cancelled()?;
            thread::sleep(Duration::from_millis(10));
            ctx.report_progress(step, STEPS, format!("step {step} of {STEPS}"));
        }
        Ok(())
    }

    /// Downloads `name` from the loopback server with an async body, then counts its rows
    /// with a blocking one, awaited without holding the worker. A cancel (the panel's
    /// button) drops the future where it waits: the connection closes at once.
    #[run_in_background(task_name = "download", manager = &self.network,
                        scope = &self.panels.downloads, on_complete = self.show_download,
                        on_error = self.show_error, timeout_ms = 30000, show_progress = false)]
    pub async fn download(
        &self,
        name: String,
        ctx: &TaskContext,
    ) -> Result<(String, usize), AppError> {
        let body = http::download(ctx, &self.client, &self.server.url(&name)).await?;
        let parse = self.network.task(move |_| http::parse(&body));
        let rows = parse.name("parse").start().await?;
        Ok((name, rows))
    }

    // The callbacks: they run on the UI thread, in `EventLoop::process_events`.

    fn show_preview(&self, progress: Progress) {
        let mut results = self.results.lock().unwrap();
        results.preview = Some(progress.current);
        results.preview_updates += 1;
    }

    fn show_hash(&self, checksums: Checksums) {
        self.results.lock().unwrap().hashes.push(checksums);
    }

    fn clear_search(&self) {
        let mut results = self.results.lock().unwrap();
        results.found.clear();
        results.search = None;
    }

    fn list_results(&self, batch: Vec<String>) {
        self.results.lock().unwrap().found.extend(batch);
    }

    fn show_search(&self, count: usize) {
        self.results.lock().unwrap().search = Some(count);
    }

    fn show_download(&self, download: (String, usize)) {
        self.results.lock().unwrap().downloads.push(download);
    }

    fn show_error(&self, error: AppError) {
        self.results.lock().unwrap().errors.push(error);
    }

    /// Records the primes count the window polled from its `Task`.
    pub fn show_primes(&self, count: usize) {
        self.results.lock().unwrap().primes = Some(count);
    }
}

/// One stream of the hashing panel: `mb` megabytes generated a megabyte at a time, and
/// checksummed.
fn hash_stream(stream: usize, mb: usize, ctx: &TaskContext) -> Result<Checksums, AppError> {
    let mut seed = work::seed(stream);
    let mut chunk = vec![0u8; MB];
    let mut fnv = work::Fnv::default();
    let mut crc = work::Crc32::new();
    for _ in 0..mb {
        ctx.check_cancelled()?;
        work::fill(&mut chunk, &mut seed);
        fnv.write(&chunk);
        crc.write(&chunk);
    }
    Ok((format!("stream {stream} ({mb} MB)"), fnv.0, crc.finish()))
}
