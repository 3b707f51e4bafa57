//! The report panel: load, then parse, then render, as one chain of tasks (`Task::then`) in
//! the panel's own scope. Each step is a task of its own in the table (the ones waiting for
//! their antecedent show as queued, holding no worker); closing the panel drops its scope,
//! which cancels the whole chain, and no callback of it runs after that.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use eframe::egui::{self, Color32, RichText};
use task_runtime::{AppError, TaskContext, TaskManager, TaskScope};

use crate::history::History;

/// The steps' task names.
pub const LOAD: &str = "load-report";
pub const PARSE: &str = "parse-report";
pub const RENDER: &str = "render-report";
/// Rows the load step generates; each step takes about a second per thousand.
const ROWS: usize = 2_000;
/// Each step works in this many slices, reporting progress and checking for a cancel.
const SLICES: usize = 40;

/// What the chain delivered, written by its callbacks on the UI thread.
#[derive(Default)]
struct Shown {
    /// The rendered report, once the last step completed.
    report: Option<String>,
    /// Callbacks that reached the panel, in all.
    callbacks: u64,
}

/// The panel: its scope while it is open, and what its chain showed.
///
/// `shown` is written by the chain's callbacks on the UI thread (the manager dispatches
/// there); the mutex is there because the callbacks must be `Send`.
pub struct ReportPanel {
    scope: Option<TaskScope>,
    shown: Arc<Mutex<Shown>>,
    /// Callbacks received when the panel closed: none may come after.
    callbacks_at_close: Option<u64>,
}

impl ReportPanel {
    pub fn new(manager: &TaskManager) -> Self {
        ReportPanel {
            scope: Some(manager.scope().named("report")),
            shown: Arc::default(),
            callbacks_at_close: None,
        }
    }

    /// Starts the chain: load, then parse, then render. Each `then` waits for the step
    /// before it without a worker, and joins its scope, the panel's.
    pub fn build(&mut self, history: &History) {
        let Some(scope) = &self.scope else {
            return;
        };
        let load = scope.task(load).name(LOAD).start();
        history.track(&load);
        let parse = load.then(|ctx, text| parse(ctx, &text)).name(PARSE).start();
        history.track(&parse);
        let shown = Arc::clone(&self.shown);
        let render = parse
            .then(|_, rows| render(&rows))
            .name(RENDER)
            .on_complete(move |report| {
                let mut shown = shown.lock().unwrap();
                shown.report = Some(report);
                shown.callbacks += 1;
            })
            .start();
        history.track(&render);
    }

    /// Closes the panel: dropping its scope cancels the chain, wherever it is.
    pub fn close(&mut self) {
        if self.scope.take().is_some() {
            self.callbacks_at_close = Some(self.shown.lock().unwrap().callbacks);
        }
    }

    pub fn is_open(&self) -> bool {
        self.scope.is_some()
    }

    /// Callbacks of the chain that ran after the panel closed (must stay 0).
    pub fn late_callbacks(&self) -> u64 {
        let callbacks = self.shown.lock().unwrap().callbacks;
        self.callbacks_at_close
            .map_or(0, |at_close| callbacks - at_close)
    }

    pub fn draw(&mut self, ui: &mut egui::Ui, history: &History) {
        ui.strong("Report (load, then parse, then render)");
        ui.horizontal(|ui| {
            let idle = self
                .scope
                .as_ref()
                .is_some_and(|scope| scope.active_count() == 0);
            if ui
                .add_enabled(idle, egui::Button::new("Build report"))
                .clicked()
            {
                self.build(history);
            }
            if ui
                .add_enabled(self.is_open(), egui::Button::new("Close panel"))
                .clicked()
            {
                self.close();
            }
        });
        let muted = Color32::from_gray(140);
        match (&self.scope, &self.shown.lock().unwrap().report) {
            (None, _) => ui.label(RichText::new("closed (its chain cancelled)").color(muted)),
            (Some(_), Some(report)) => ui.label(report),
            (Some(scope), None) if scope.active_count() > 0 => {
                let progress = scope.progress();
                ui.label(format!("{} of 3 steps done", progress.finished))
            }
            (Some(_), None) => ui.label(RichText::new("not built yet").color(muted)),
        };
        ui.add_space(8.0);
    }
}

/// Step one: "loads" a CSV file (generates it, slowly).
fn load(ctx: &TaskContext) -> Result<String, AppError> {
    let mut text = String::from("id,score\n");
    for slice in 0..SLICES {
        ctx.check_cancelled()?;
        for row in slice * ROWS / SLICES..(slice + 1) * ROWS / SLICES {
            text.push_str(&format!("{row},{}\n", row * 7 % 100));
        }
        thread::sleep(Duration::from_millis(25));
        ctx.report_progress(slice as u64 + 1, SLICES as u64, "loading");
    }
    Ok(text)
}

/// Step two: parses the rows, slowly.
fn parse(ctx: &TaskContext, text: &str) -> Result<Vec<u32>, AppError> {
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let mut scores = Vec::with_capacity(lines.len());
    for (slice, chunk) in lines
        .chunks(lines.len().div_ceil(SLICES).max(1))
        .enumerate()
    {
        ctx.check_cancelled()?;
        for line in chunk {
            let score = line
                .split(',')
                .nth(1)
                .ok_or_else(|| AppError::new("ERR_PARSE", format!("no score in {line:?}")))?;
            scores.push(score.parse::<u32>()?);
        }
        thread::sleep(Duration::from_millis(50));
        ctx.report_progress(slice as u64 + 1, SLICES as u64, "parsing");
    }
    Ok(scores)
}

/// Step three: renders the summary.
fn render(scores: &[u32]) -> Result<String, AppError> {
    let total: u64 = scores.iter().map(|&s| u64::from(s)).sum();
    let mean = total as f64 / scores.len().max(1) as f64;
    Ok(format!("{} rows, mean score {mean:.1}", scores.len()))
}
