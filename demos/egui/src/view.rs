//! Drawing: controls on top, the task table in the middle, results and errors on the right,
//! frame timing at the bottom. Reads state; the only changes it makes are button presses.

use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, RichText};
use task_runtime::{Outcome, Task, TaskState};

use crate::app::{DemoApp, DOWNLOADS, PRIMES_BELOW, STREAMS, STREAM_MB};

const DONE: Color32 = Color32::from_rgb(90, 180, 90);
const FAILED: Color32 = Color32::from_rgb(230, 90, 80);
const MUTED: Color32 = Color32::from_gray(140);
/// Finished tasks listed under the running ones.
const FINISHED_SHOWN: usize = 12;

impl DemoApp {
    pub(crate) fn draw(&mut self, ui: &mut egui::Ui, now: Instant) {
        egui::Panel::top("controls").show(ui, |ui| self.controls(ui));
        egui::Panel::bottom("frames").show(ui, |ui| self.frame_readout(ui));
        egui::Panel::right("results")
            .exact_size(390.0)
            .show(ui, |ui| self.results(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| self.task_table(ui, now));
        });
    }

    fn controls(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        ui.heading("task-runtime in an egui window");
        ui.horizontal(|ui| {
            let total = STREAMS * STREAM_MB;
            if ui.button(format!("Hash {total} MB")).clicked() {
                self.hash();
            }
            let primes = format!("Count primes below {}M", PRIMES_BELOW / 1_000_000);
            if ui
                .add_enabled(!self.primes_running(), egui::Button::new(primes))
                .clicked()
            {
                self.count_primes();
            }
            if ui.button("Scan (until cancelled)").clicked() {
                self.scan();
            }
            if ui.button("Load settings (fails)").clicked() {
                self.load_settings();
            }
            if ui.button("Run plugin (panics)").clicked() {
                self.run_plugin();
            }
            if ui
                .button(format!("Download {} files", DOWNLOADS.files))
                .clicked()
            {
                self.download();
            }
            ui.separator();
            if ui.button("Cancel all").clicked() {
                self.cancel_all();
            }
        });
        ui.horizontal(|ui| {
            ui.label("Search:");
            let search = egui::TextEdit::singleline(&mut self.query)
                .hint_text("one task per keystroke")
                .desired_width(220.0);
            let response = ui.add(search);
            if self.focus_search {
                response.request_focus();
                self.focus_search = false;
            }
            self.search_has_focus = response.has_focus();
            if response.changed() {
                self.search();
            }
            // Listed as they are found: the count is there once the search is done.
            let results = self.service.results.lock().unwrap();
            let shown: Vec<&str> = results
                .found
                .iter()
                .rev()
                .take(3)
                .map(String::as_str)
                .collect();
            match (results.search, results.found.len()) {
                (_, 0) => ui.label(RichText::new("no results yet").color(MUTED)),
                (Some(count), _) => ui.label(format!("{count} results: .. {}", shown.join(", "))),
                (None, found) => ui.label(format!("{found} so far: .. {}", shown.join(", "))),
            };
        });
        ui.add_space(4.0);
    }

    fn task_table(&self, ui: &mut egui::Ui, now: Instant) {
        let rows = self.rows();
        ui.strong(format!("Running ({})", rows.len()));
        egui::Grid::new("running")
            .num_columns(5)
            .striped(true)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                for row in &rows {
                    let task = &row.task;
                    ui.label(&task.name);
                    ui.add(progress_bar(task));
                    ui.label(task.state.to_string());
                    let since = task.started_at.unwrap_or(task.queued_at);
                    ui.label(seconds(now - since));
                    if ui.small_button("Cancel").clicked() {
                        self.cancel(row);
                    }
                    ui.end_row();
                }
            });
        ui.add_space(12.0);
        ui.strong("Finished");
        let history = self.history.entries();
        let finished = history.iter().rev().filter(|e| e.ended.is_some());
        egui::Grid::new("finished")
            .num_columns(3)
            .striped(true)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                for entry in finished.take(FINISHED_SHOWN) {
                    let Some((_, outcome)) = &entry.ended else {
                        continue;
                    };
                    ui.label(&entry.name);
                    let color = match outcome {
                        Outcome::Completed => DONE,
                        Outcome::Failed(_) => FAILED,
                        Outcome::Cancelled => MUTED,
                    };
                    ui.label(RichText::new(outcome.to_string()).color(color));
                    ui.label(entry.duration().map(seconds).unwrap_or_default());
                    ui.end_row();
                }
            });
    }

    fn results(&mut self, ui: &mut egui::Ui) {
        self.download_panel(ui);
        self.report.draw(ui, &self.history);
        let results = self.service.results.lock().unwrap();
        ui.add_space(4.0);
        ui.strong("Results");
        // The hashing panel's map counts its streams: one task, however many.
        if let Some(progress) = self.hashed.as_ref().and_then(Task::progress) {
            ui.label(format!(
                "hashed {} of {} streams",
                progress.current, progress.total
            ));
        }
        for (label, fnv, crc) in &results.hashes {
            ui.label(label);
            ui.monospace(format!("  fnv-1a {fnv:016x}  crc-32 {crc:08x}"));
        }
        if let Some(count) = results.primes {
            ui.monospace(format!("primes below {PRIMES_BELOW}: {count}"));
        }
        ui.add_space(12.0);
        // A panel with a scope of its own: closed, its task stops and its callbacks with it.
        ui.strong("Preview panel");
        match (self.panel_open(), results.preview) {
            (false, _) => ui.label(RichText::new("closed (its task cancelled)").color(MUTED)),
            (true, Some(step)) => ui.label(format!("step {step} of 400")),
            (true, None) => ui.label(RichText::new("waiting").color(MUTED)),
        };
        ui.add_space(12.0);
        ui.strong("Errors");
        if results.errors.is_empty() {
            ui.label(RichText::new("none").color(MUTED));
        }
        for error in results.errors.iter().rev() {
            ui.label(RichText::new(error.user_message()).color(FAILED));
            let details = error.details().unwrap_or(error.message());
            ui.label(
                RichText::new(format!(
                    "{} · {} · {details}",
                    error.code(),
                    error.severity()
                ))
                .small()
                .color(MUTED),
            );
            ui.add_space(4.0);
        }
    }

    /// Async downloads in a scope of their own: its progress, its Cancel button, and how
    /// fast a press of it reached the window.
    fn download_panel(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        ui.strong("Downloads (async bodies, one worker)");
        let progress = self.downloads.progress();
        let done = self.service.results.lock().unwrap().downloads.len();
        ui.horizontal(|ui| {
            let running = self.downloads.active_count();
            if ui
                .add_enabled(running > 0, egui::Button::new("Cancel downloads"))
                .clicked()
            {
                self.cancel_downloads();
            }
            if progress.started == 0 {
                ui.label(RichText::new("none yet").color(MUTED));
            } else {
                ui.label(format!(
                    "{done} of {} saved, {running} running, {} KB",
                    progress.started,
                    progress.current >> 10
                ));
            }
        });
        if progress.total > 0 {
            let fraction = progress.current as f32 / progress.total as f32;
            ui.add(egui::ProgressBar::new(fraction).desired_width(360.0));
        }
        if let Some(press) = &self.download_cancel {
            let landed = match press.landed {
                Some((frames, time)) => format!(
                    "every outcome shown {frames} frame(s), {:.1} ms after the press",
                    time.as_secs_f64() * 1e3
                ),
                None => "waiting for the outcomes".to_owned(),
            };
            let closed = self.service.server.closed_early();
            ui.label(
                RichText::new(format!(
                    "Cancel: {landed}; the server saw {closed} connection(s) close"
                ))
                .small()
                .color(MUTED),
            );
        }
        ui.add_space(8.0);
    }

    fn frame_readout(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let clock = &self.clock;
            ui.label(format!("frames drawn: {}", clock.frames));
            ui.separator();
            ui.label(format!("last gap: {} ms", clock.last_gap.as_millis()));
            ui.separator();
            ui.label(format!(
                "longest gap while tasks ran: {} ms",
                clock.longest_busy_gap.as_millis()
            ));
            ui.separator();
            ui.label(format!("{} tasks active", self.active()));
        });
    }
}

/// A bar with the task's message; a moving one when the total is unknown.
fn progress_bar(task: &task_runtime::TaskSnapshot) -> egui::ProgressBar {
    let bar = |fraction: f32| egui::ProgressBar::new(fraction).desired_width(320.0);
    match (&task.progress, task.state) {
        (Some(progress), _) => match progress.fraction() {
            Some(fraction) => bar(fraction as f32).text(&progress.message),
            None => bar(0.0).animate(true).text(&progress.message),
        },
        (None, TaskState::Queued) => bar(0.0).text("queued"),
        (None, _) => bar(0.0).animate(true).text("starting"),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
