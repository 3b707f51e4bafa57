//! The window's state and its frame loop: deliver callbacks, poll, run the script, draw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;
use task_runtime::{EventLoop, Task, TaskManager, TaskScope, TaskSnapshot};

use crate::clock::FrameClock;
use crate::history::History;
use crate::report::ReportPanel;
use crate::script::{Script, Step};
use crate::server::{Catalog, Server};
use crate::service::{AppService, Checksums, PanelScopes};
use crate::summary::{Downloads, Summary};

/// About 60 frames a second while tasks run, so the bars move; none while idle.
const FRAME: Duration = Duration::from_millis(16);
/// What the Hash button generates and checksums: streams of this many megabytes.
pub const STREAMS: usize = 4;
pub const STREAM_MB: usize = 128;
pub const PRIMES_BELOW: usize = 300_000_000;
/// What the loopback server has for the download panel: 12 files of 40 to 160 KB, sent
/// 4 KiB every 60 ms, so the downloads take 0.6 to 2.4 s and the Cancel button finds some
/// still running.
pub const DOWNLOADS: Catalog = Catalog {
    files: 12,
    rows: 2000,
    sizes: 4,
    pace: Duration::from_millis(60),
};

/// A press of the download panel's Cancel button, and when its effect showed.
pub struct CancelPress {
    /// The frame the button was pressed in.
    pub frame: u64,
    pub at: Instant,
    /// Downloads not yet finished when `cancel()` returned (a cancel decides a waiting body
    /// inside the call, one being polled right after that poll).
    pub unfinished_at_return: usize,
    /// Frames after the press until every download's outcome reached the window, and the
    /// time that took.
    pub landed: Option<(u64, Duration)>,
}

/// A row of the task table: which manager runs the task (its index in `managers()`), and
/// its snapshot.
pub struct Row {
    pub manager: usize,
    pub task: TaskSnapshot,
}

pub struct DemoApp {
    pub(crate) service: AppService,
    /// Where the managers deliver callbacks and signals; drained once per frame.
    events: EventLoop,
    pub(crate) history: History,
    pub(crate) clock: FrameClock,
    pub(crate) query: String,
    /// The `async_method` handle, polled once per frame.
    primes: Option<Task<usize>>,
    script: Option<Script>,
    /// Characters the script types, fed to egui as keyboard input once the box has focus.
    typing: VecDeque<char>,
    pub(crate) focus_search: bool,
    pub(crate) search_has_focus: bool,
    closing: bool,
    summary: Arc<Mutex<Option<Summary>>>,
    /// The hashing and search panels' scopes: dropped with the window.
    _hashing: TaskScope,
    /// The hashing panel's map, for its progress line.
    pub(crate) hashed: Option<Task<Vec<Checksums>, (usize, Checksums)>>,
    _search: TaskScope,
    /// The preview panel's scope, while the panel is open.
    panel: Option<TaskScope>,
    /// The preview's callbacks received when its panel closed: none may come after.
    preview_updates_at_close: Option<u64>,
    /// The download panel's scope, its tasks, and its Cancel button's last press.
    pub(crate) downloads: TaskScope,
    download_tasks: Vec<Task<()>>,
    pub(crate) download_cancel: Option<CancelPress>,
    /// The report panel: a chain of three tasks in a scope of its own.
    pub(crate) report: ReportPanel,
    /// The loopback server's runtime: a server is another process in real life.
    _server_runtime: tokio::runtime::Runtime,
}

impl DemoApp {
    /// Builds the app inside eframe's creator: that is where the `egui::Context` exists.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        script: Option<Script>,
        summary: Arc<Mutex<Option<Summary>>>,
    ) -> Self {
        // egui draws only when asked: a delivery waiting in the loop asks for a frame.
        let ctx = cc.egui_ctx.clone();
        let events = EventLoop::with_waker(move || ctx.request_repaint());
        let manager = |name: &str, threads: usize| {
            TaskManager::builder()
                .max_threads(threads)
                .thread_name(name)
                .dispatcher(events.dispatcher())
                .build()
                .expect("valid manager settings")
        };
        // Batch work gets every core but one: the UI thread and the renderer (Mesa's
        // software GL draws on the CPU) keep one to themselves. On a 2-core machine the
        // longest frame gap drops from 39-52 ms to 30-38 ms with it.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let batch = manager("batch", cores.saturating_sub(1).max(1));
        // The scan, the preview, the report's running step and a search at once: a search
        // never queues behind them (the report's waiting steps hold no thread).
        let interactive = manager("interactive", 4);
        // Async bodies hold a worker only while polled: one thread runs every download.
        let network = manager("network", 1);
        let hashing = batch.scope().named("hashing");
        let search = interactive.scope().named("search");
        let panel = interactive.scope().named("preview");
        let downloads = network.scope().named("downloads");
        let server_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime for the loopback server");
        let server = server_runtime
            .block_on(Server::start(DOWNLOADS))
            .expect("a free port on 127.0.0.1");
        let service = AppService {
            panels: PanelScopes {
                hashing: hashing.handle(),
                search: search.handle(),
                preview: panel.handle(),
                downloads: downloads.handle(),
            },
            batch,
            interactive,
            network,
            client: reqwest::Client::new(),
            server,
            results: Arc::default(),
        };
        let report = ReportPanel::new(&service.interactive);
        let history = History::default();
        history.follow(&service.batch);
        history.follow(&service.interactive);
        history.follow(&service.network);
        DemoApp {
            service,
            events,
            history,
            clock: FrameClock::default(),
            query: String::new(),
            primes: None,
            script,
            typing: VecDeque::new(),
            focus_search: false,
            search_has_focus: false,
            closing: false,
            summary,
            _hashing: hashing,
            hashed: None,
            _search: search,
            panel: Some(panel),
            preview_updates_at_close: None,
            report,
            downloads,
            download_tasks: Vec::new(),
            download_cancel: None,
            _server_runtime: server_runtime,
        }
    }

    fn managers(&self) -> [&TaskManager; 3] {
        let service = &self.service;
        [&service.batch, &service.interactive, &service.network]
    }

    /// Tasks queued or running, on every manager.
    pub(crate) fn active(&self) -> usize {
        self.managers().iter().map(|m| m.active_count()).sum()
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        let managers = self.managers();
        (0..managers.len())
            .flat_map(|manager| {
                let tasks = managers[manager].tasks().into_iter();
                tasks.map(move |task| Row { manager, task })
            })
            .collect()
    }

    // The buttons. The script presses them too.

    pub(crate) fn hash(&mut self) {
        let streams = self.service.hash_streams(STREAMS, STREAM_MB);
        self.history.track(&streams);
        self.hashed = Some(streams);
    }

    pub(crate) fn count_primes(&mut self) {
        if self.primes.is_none() {
            let task = self.service.count_primes(PRIMES_BELOW);
            self.history.track(&task);
            self.primes = Some(task);
        }
    }

    pub(crate) fn primes_running(&self) -> bool {
        self.primes.is_some()
    }

    pub(crate) fn scan(&mut self) {
        self.history.track(&self.service.scan());
    }

    pub(crate) fn load_settings(&mut self) {
        self.history.track(&self.service.load_settings());
    }

    pub(crate) fn run_plugin(&mut self) {
        self.history.track(&self.service.run_plugin());
    }

    pub(crate) fn render_preview(&mut self) {
        self.history.track(&self.service.render_preview());
    }

    /// Closes the preview panel: dropping its scope cancels its task, and from now on none
    /// of its callbacks runs.
    pub(crate) fn close_panel(&mut self) {
        if self.panel.take().is_some() {
            let updates = self.service.results.lock().unwrap().preview_updates;
            self.preview_updates_at_close = Some(updates);
        }
    }

    pub(crate) fn panel_open(&self) -> bool {
        self.panel.is_some()
    }

    /// Preview callbacks that arrived after its panel closed (must stay 0).
    pub(crate) fn late_callbacks(&self) -> u64 {
        let updates = self.service.results.lock().unwrap().preview_updates;
        self.preview_updates_at_close
            .map_or(0, |at_close| updates - at_close)
    }

    pub(crate) fn search(&mut self) {
        if !self.query.is_empty() {
            self.history.track(&self.service.search(self.query.clone()));
        }
    }

    pub(crate) fn cancel(&self, row: &Row) {
        self.managers()[row.manager].cancel(row.task.id);
    }

    pub(crate) fn cancel_all(&self) {
        for manager in self.managers() {
            manager.cancel_all();
        }
    }

    /// Downloads every file of the server, and one it does not have (a 404).
    pub(crate) fn download(&mut self) {
        self.download_tasks.retain(|task| !task.is_finished());
        let names = (0..DOWNLOADS.files).map(|i| format!("data-{i}.csv"));
        for name in names.chain(["missing.csv".to_owned()]) {
            let task = self.service.download(name);
            self.history.track(&task);
            self.download_tasks.push(task);
        }
    }

    /// The download panel's Cancel button: cancels its scope's tasks, and notes when the
    /// window has every outcome.
    pub(crate) fn cancel_downloads(&mut self) {
        let at = Instant::now();
        self.downloads.cancel();
        let unfinished_at_return = self
            .download_tasks
            .iter()
            .filter(|task| !task.is_finished())
            .count();
        self.download_cancel = Some(CancelPress {
            frame: self.clock.frames,
            at,
            unfinished_at_return,
            landed: None,
        });
    }

    /// After a press of the download panel's Cancel button: once every download's outcome
    /// has reached the window (its signal ran here), notes how many frames that took.
    fn watch_download_cancel(&mut self, now: Instant) {
        let Some(press) = self.download_cancel.as_mut() else {
            return;
        };
        if press.landed.is_some() {
            return;
        }
        let entries = self.history.entries();
        let ended = |task: &Task<()>| {
            entries
                .iter()
                .any(|entry| entry.id == task.id() && entry.ended.is_some())
        };
        if self.download_tasks.iter().all(ended) {
            press.landed = Some((self.clock.frames - press.frame, now - press.at));
        }
    }

    /// The `async_method` way: poll the handle; the result is taken exactly once.
    fn poll_primes(&mut self) {
        let Some(task) = self.primes.as_mut() else {
            return;
        };
        if let Some(result) = task.try_take() {
            if let Ok(count) = result {
                self.service.show_primes(count);
            }
            // A failure or cancellation is in the history, from the manager's signals.
            self.primes = None;
        }
    }

    fn run_script(&mut self, ctx: &egui::Context, now: Instant) {
        let Some(script) = self.script.as_mut() else {
            return;
        };
        let gave_up = script.gave_up(now);
        for step in script.due(now) {
            match step {
                Step::StartAll => {
                    self.hash();
                    self.count_primes();
                    self.scan();
                    self.load_settings();
                    self.run_plugin();
                    self.render_preview();
                    self.download();
                    self.report.build(&self.history);
                    self.focus_search = true;
                }
                Step::CloseReport => self.report.close(),
                Step::CancelDownloads => self.cancel_downloads(),
                Step::Type(c) => self.typing.push_back(c),
                Step::Screenshot => println!("egui-demo: screenshot now"),
                Step::ClosePanel => self.close_panel(),
                Step::CancelScan => {
                    if let Some(row) = self.rows().iter().find(|r| r.task.name == "scan") {
                        self.cancel(row);
                    }
                }
                Step::Finish => {
                    self.cancel_all();
                    self.closing = true;
                }
            }
        }
        let settled = self.history.open_count() == 0 && self.events.pending() == 0;
        if (self.closing && settled) || gave_up {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn write_summary(&mut self) {
        let mut summary = Summary::new(&self.clock, &self.history);
        summary.late_callbacks = self.late_callbacks() + self.report.late_callbacks();
        summary.downloads = Some(Downloads::new(self));
        *self.summary.lock().unwrap() = Some(summary);
    }
}

impl eframe::App for DemoApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        self.clock.tick(now, self.active() > 0);
        self.events.process_events(); // callbacks and signals run here, on the UI thread
        self.watch_download_cancel(now);
        self.poll_primes();
        self.run_script(ui.ctx(), now);
        self.draw(ui, now);
        if self.active() > 0 || self.script.is_some() {
            ui.ctx().request_repaint_after(FRAME);
        }
    }

    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        // One key per frame, as a person types: the text box sees ordinary text events.
        if self.script.is_some() {
            // Xvfb has no window manager to give the window keyboard focus; a person's
            // click on the window would.
            raw_input.focused = true;
        }
        if self.search_has_focus {
            if let Some(c) = self.typing.pop_front() {
                raw_input.events.push(egui::Event::Text(c.to_string()));
            }
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // A window closed by a person may leave work running: cancel it and collect the
        // outcomes, so the summary has one for every task.
        self.cancel_all();
        let history = self.history.clone();
        // The summary counts a task still without an outcome after that, and the headless
        // run fails on it: nothing to do here when the wait runs out.
        let _ = self
            .events
            .run_until(|| history.open_count() == 0, Duration::from_secs(10));
        self.write_summary();
    }
}
