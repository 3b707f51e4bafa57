//! The window: a search entry that starts a task per keystroke (latest wins), the file list,
//! an error bar and a status line. All of it is GTK state of the main thread, reached by the
//! tasks' local callbacks directly.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gtk::prelude::*;
use gtk::{gdk, glib};
use task_runtime::{
    run_in_background, task_methods, AppError, Publisher, TaskContext, TaskId, TaskManager,
};

use crate::row::FileRow;
use crate::stats::{Frames, Ledger, ThreadCheck};

/// What the window's parts share: measurements, and the tasks it started.
pub struct Shared {
    pub frames: RefCell<Frames>,
    pub threads: RefCell<ThreadCheck>,
    pub started: RefCell<Vec<TaskId>>,
    pub ledger: Ledger,
    /// Rows whose task's terminal callback ran (and showed its outcome).
    pub rows_ended: Cell<u32>,
    /// The latest search's results, listed as they are found.
    pub found: RefCell<Vec<String>>,
}

/// A red bar that says what failed: the user message and the code.
#[derive(Clone)]
pub struct ErrorBar {
    revealer: gtk::Revealer,
    label: gtk::Label,
}

impl ErrorBar {
    fn new() -> Self {
        let label = gtk::Label::new(None);
        label.set_xalign(0.0);
        label.add_css_class("error-bar");
        let revealer = gtk::Revealer::new();
        revealer.set_child(Some(&label));
        ErrorBar { revealer, label }
    }

    pub fn show(&self, error: &AppError) {
        self.label
            .set_text(&format!("{}   [{}]", error.user_message(), error.code()));
        self.revealer.set_reveal_child(true);
    }
}

#[derive(Clone)]
pub struct Demo {
    tasks: TaskManager,
    pub window: gtk::ApplicationWindow,
    pub entry: gtk::Entry,
    results: gtk::Label,
    pub hash_all: gtk::Button,
    status: gtk::Label,
    pub rows: Rc<Vec<FileRow>>,
    words: Arc<Vec<String>>,
    pub shared: Rc<Shared>,
    pace: Duration,
}

#[task_methods(manager = &self.tasks, local = true)]
impl Demo {
    pub fn new(
        app: &gtk::Application,
        tasks: &TaskManager,
        paths: Vec<PathBuf>,
        pace: Duration,
    ) -> Self {
        let css = gtk::CssProvider::new();
        css.load_from_data(
            ".error-bar { background: #c01c28; color: white; padding: 8px; font-weight: bold; }
             .title { font-size: 16pt; font-weight: bold; }",
        );
        gtk::style_context_add_provider_for_display(
            &gdk::Display::default().expect("a display"),
            &css,
            gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
        );
        let shared = Rc::new(Shared {
            frames: RefCell::default(),
            threads: RefCell::new(ThreadCheck::new()),
            started: RefCell::default(),
            ledger: Ledger::default(),
            rows_ended: Cell::new(0),
            found: RefCell::default(),
        });
        shared.ledger.follow(tasks);

        let title = gtk::Label::new(Some("task-runtime: local callbacks in a GTK 4 window"));
        title.add_css_class("title");
        title.set_xalign(0.0);
        let entry = gtk::Entry::new();
        entry.set_placeholder_text(Some(
            "search file and word names (a task per keystroke, latest wins)",
        ));
        entry.set_hexpand(true);
        let results = gtk::Label::new(Some("type to search"));
        results.set_xalign(0.0);
        results.set_wrap(true);
        let hash_all = gtk::Button::with_label("Hash all files");
        let errors = ErrorBar::new();
        let list = gtk::Box::new(gtk::Orientation::Vertical, 6);
        let rows: Vec<FileRow> = paths
            .into_iter()
            .map(|path| FileRow::new(tasks, path, &errors, &shared))
            .collect();
        for row in &rows {
            list.append(&row.widget);
        }
        let scroller = gtk::ScrolledWindow::new();
        scroller.set_child(Some(&list));
        scroller.set_vexpand(true);
        let status = gtk::Label::new(Some("idle"));
        status.set_xalign(0.0);

        let layout = gtk::Box::new(gtk::Orientation::Vertical, 10);
        layout.set_margin_top(12);
        layout.set_margin_bottom(12);
        layout.set_margin_start(12);
        layout.set_margin_end(12);
        let search = gtk::Box::new(gtk::Orientation::Horizontal, 8);
        search.append(&entry);
        search.append(&hash_all);
        for widget in [
            title.upcast_ref::<gtk::Widget>(),
            search.upcast_ref(),
            results.upcast_ref(),
            scroller.upcast_ref(),
            errors.revealer.upcast_ref(),
            status.upcast_ref(),
        ] {
            layout.append(widget);
        }
        let window = gtk::ApplicationWindow::builder()
            .application(app)
            .title("task-runtime GTK demo")
            .default_width(1000)
            .default_height(680)
            .child(&layout)
            .build();

        let mut words: Vec<String> = rows
            .iter()
            .filter_map(|row| row.path.file_name()?.to_str().map(str::to_owned))
            .collect();
        words.extend(WORDS.iter().map(|w| (*w).to_owned()));
        let demo = Demo {
            tasks: tasks.clone(),
            window,
            entry,
            results,
            hash_all,
            status,
            rows: Rc::new(rows),
            words: Arc::new(words),
            shared,
            pace,
        };
        demo.wire();
        demo
    }

    fn wire(&self) {
        let demo = self.clone();
        self.entry.connect_changed(move |entry| {
            let task = demo.search(entry.text().to_string(), Arc::clone(&demo.words));
            demo.shared.started.borrow_mut().push(task.id());
        });
        let demo = self.clone();
        self.hash_all.connect_clicked(move |_| {
            for row in demo.rows.iter() {
                row.start(demo.pace);
            }
        });
        // The frame clock: counts frames and the longest gap while tasks run.
        let demo = self.clone();
        self.window.add_tick_callback(move |_, _| {
            let busy = demo.tasks.active_count() > 0;
            demo.shared.frames.borrow_mut().tick(Instant::now(), busy);
            glib::ControlFlow::Continue
        });
        let demo = self.clone();
        glib::timeout_add_local(Duration::from_millis(100), move || {
            demo.show_status();
            glib::ControlFlow::Continue
        });
    }

    /// Simulated search work, cancelled as soon as a newer keystroke supersedes it, and ahead
    /// of the queued hashes (higher priority), so typing is answered at once. Matches are
    /// listed as they are found (`on_items`, into the label's `Rc` state).
    #[run_in_background(
        task_name = "search",
        exclusive = "cancel_previous",
        priority = 10,
        on_started = self.clear_results,
        on_items = self.add_results,
        on_complete = self.show_results
    )]
    fn search(
        &self,
        query: String,
        words: Arc<Vec<String>>,
        found: &Publisher<String>,
        ctx: &TaskContext,
    ) -> Result<usize, AppError> {
        let mut count = 0;
        for chunk in words.chunks(words.len().div_ceil(8).max(1)) {
            ctx.check_cancelled()?;
            std::thread::sleep(Duration::from_millis(5));
            let matches: Vec<String> = chunk
                .iter()
                .filter(|w| w.contains(&query))
                .cloned()
                .collect();
            count += matches.len();
            found.publish_all(matches);
        }
        Ok(count)
    }

    fn clear_results(&self) {
        self.shared.found.borrow_mut().clear();
    }

    fn add_results(&self, batch: Vec<String>) {
        self.shared.threads.borrow_mut().here();
        self.shared.found.borrow_mut().extend(batch);
        self.list_results("so far");
    }

    fn show_results(&self, count: usize) {
        self.shared.threads.borrow_mut().here();
        self.list_results(&format!("{count} found"));
    }

    fn list_results(&self, how_many: &str) {
        let query = self.entry.text();
        let found = self.shared.found.borrow();
        let shown: Vec<&str> = found.iter().take(8).map(String::as_str).collect();
        self.results
            .set_text(&format!("\"{query}\": {how_many}   {}", shown.join(", ")));
    }

    pub fn show_status(&self) {
        let started = self.shared.started.borrow().clone();
        let tally = self.shared.ledger.tally(&started);
        let frames = self.shared.frames.borrow();
        self.status.set_text(&format!(
            "frames {} · longest stall while busy {} ms · {} active · {} completed · {} failed · {} cancelled",
            frames.count,
            frames.longest_busy_gap.as_millis(),
            self.tasks.active_count(),
            tally.completed,
            tally.failed,
            tally.cancelled,
        ));
    }

    pub fn tasks(&self) -> &TaskManager {
        &self.tasks
    }
}

const WORDS: &[&str] = &[
    "rust", "rustic", "rusty", "runtime", "rune", "russet", "ruby", "rayon", "tokio", "gtk",
    "glib", "widget", "window", "thread", "worker", "callback", "progress", "cancel", "search",
    "result", "error", "task", "scope", "local", "event", "loop", "main", "frame", "stall",
];
