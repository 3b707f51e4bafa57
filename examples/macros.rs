//! A service with background methods, the way most applications use the library: annotate
//! methods with `#[run_in_background]` / `#[async_method]` and call them from the UI thread.
//! Every callback form appears: `self.method`, `Self::method`, a free function path, and a
//! closure.
//!
//! ```text
//! cargo run --example macros
//! ```

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use task_macros::{async_method, run_in_background};
use task_runtime::{AppError, Category, EventLoop, Progress, TaskContext, TaskManager};

/// A photo library: its heavy operations run on the manager's workers, and their callbacks
/// come back to the UI thread's event loop.
#[derive(Clone)]
struct PhotoLibrary {
    tasks: TaskManager,
    status: Arc<Mutex<String>>,
}

impl PhotoLibrary {
    /// Scans a folder, reporting progress; `self.method` callbacks update the "UI".
    #[run_in_background(
        task_name = "Scan",
        manager = &self.tasks,
        on_started = self.busy,
        on_progress = self.tick,
        on_complete = self.scanned,
        on_error = self.report,
        on_cancelled = Self::scan_cancelled,
    )]
    fn scan(&self, folder: String, ctx: &TaskContext) -> Result<usize, AppError> {
        let photos = 40;
        for n in 1..=photos {
            ctx.check_cancelled()?;
            thread::sleep(Duration::from_millis(5)); // decoding a photo, say
            ctx.report_progress(n, photos, format!("{folder}/IMG_{n:04}.jpg"));
        }
        Ok(photos as usize)
    }

    /// Fails with a structured error; the user sees its user message.
    #[run_in_background(manager = &self.tasks, on_error = self.report)]
    fn import(&self, path: String) -> Result<usize, AppError> {
        Err(
            AppError::new("ERR_IMPORT", format!("{path}: unsupported format"))
                .with_user_message("This file type cannot be imported.")
                .with_category(Category::Validation)
                .with_context("path", &path),
        )
    }

    /// A search box: only the latest query's results arrive (a closure callback).
    #[run_in_background(
        manager = &self.tasks,
        exclusive = "cancel_previous",
        on_complete = |hits: Vec<String>| println!("[ui] search results: {hits:?}"),
    )]
    fn search(&self, query: String) -> Vec<String> {
        thread::sleep(Duration::from_millis(20));
        ["beach.jpg", "bear.jpg", "bread.jpg"]
            .iter()
            .filter(|name| name.starts_with(&query))
            .map(|name| name.to_string())
            .collect()
    }

    /// A checksum the caller awaits or joins (no callbacks, progress shown).
    #[async_method(manager = &self.tasks)]
    fn checksum(&self, data: Vec<u8>, ctx: &TaskContext) -> u32 {
        ctx.set_progress(data.len() as u64, data.len() as u64);
        data.iter()
            .fold(0u32, |sum, b| sum.rotate_left(5) ^ u32::from(*b))
    }

    /// `self: Arc<Self>`: callbacks reach the object through a `Weak`, so a library closed
    /// meanwhile does not receive them (a free function path as the callback here).
    #[run_in_background(manager = &self.tasks, on_complete = print_summary)]
    fn summarize(self: Arc<Self>) -> String {
        format!("library status: {}", self.status.lock().unwrap())
    }

    fn busy(&self) {
        self.set_status("scanning...");
    }

    fn tick(&self, progress: Progress) {
        if progress.current % 10 == 0 {
            println!("[ui] {progress}");
        }
    }

    fn scanned(&self, photos: usize) {
        self.set_status(&format!("{photos} photos"));
    }

    fn report(&self, error: AppError) {
        println!(
            "[ui] error dialog: {} ({})",
            error.user_message(),
            error.code()
        );
    }

    fn scan_cancelled() {
        println!("[ui] scan cancelled");
    }

    fn set_status(&self, text: &str) {
        println!("[ui] status: {text}");
        *self.status.lock().unwrap() = text.to_owned();
    }
}

fn print_summary(summary: String) {
    println!("[ui] {summary}");
}

fn main() {
    let ui = EventLoop::new();
    let library = PhotoLibrary {
        tasks: TaskManager::builder()
            .max_threads(3)
            .dispatcher(ui.dispatcher())
            .build()
            .expect("valid settings"),
        status: Arc::default(),
    };

    library.scan("holidays".to_owned());
    library.import("notes.docx".to_owned());
    for query in ["b", "be", "bea"] {
        library.search(query.to_owned()); // each keystroke supersedes the previous search
    }
    let checksum = library.checksum(b"not really a photo".to_vec());

    // The "UI thread" keeps processing events while work happens.
    assert!(ui.run_until_idle(&library.tasks, Duration::from_secs(30)));
    println!(
        "[main] checksum = {:08x}",
        checksum.join().expect("checksum")
    );

    // Cancel a second scan half way through.
    let rescan = library.scan("archive".to_owned());
    let halfway = ui.run_until(
        || rescan.progress().is_some_and(|p| p.current >= 10),
        Duration::from_secs(10),
    );
    assert!(halfway, "the rescan reported no progress");
    rescan.cancel();
    assert!(ui.run_until_idle(&library.tasks, Duration::from_secs(30)));

    Arc::new(library.clone()).summarize();
    assert!(ui.run_until_idle(&library.tasks, Duration::from_secs(30)));
}
