//! What the demo prints when its window closes: one line for the CI check, then a line per
//! task for people.

use std::fmt;
use std::time::Duration;

use task_runtime::Outcome;

use crate::app::DemoApp;
use crate::clock::FrameClock;
use crate::history::History;

pub struct Summary {
    pub frames: u64,
    pub longest_busy_gap: Duration,
    pub median_busy_gap: Duration,
    pub p95_busy_gap: Duration,
    pub median_idle_gap: Duration,
    pub tasks: Vec<TaskLine>,
    /// Callbacks of the preview and of the report's chain that ran after their panel (its
    /// scope) was closed.
    pub late_callbacks: u64,
    pub downloads: Option<Downloads>,
}

/// How the download panel's tasks ended, and how fast its Cancel button landed.
pub struct Downloads {
    pub started: usize,
    pub completed: usize,
    /// Failures with `ERR_HTTP_STATUS` (the file the server does not have).
    pub not_found: usize,
    pub cancelled: usize,
    /// Downloads still unfinished when the scope's `cancel()` returned.
    pub unfinished_at_return: Option<usize>,
    /// Frames from the press until every download's outcome reached the window, and the time.
    pub cancel_landed: Option<(u64, Duration)>,
    /// Connections the server saw closed mid-body: the cancelled downloads' sockets.
    pub closed_by_cancel: usize,
}

impl Downloads {
    pub fn new(app: &DemoApp) -> Self {
        let entries = app.history.entries();
        let downloads: Vec<_> = entries.iter().filter(|e| e.name == "download").collect();
        let count = |wanted: fn(&Outcome) -> bool| {
            downloads
                .iter()
                .filter(|e| e.ended.as_ref().is_some_and(|(_, o)| wanted(o)))
                .count()
        };
        let press = app.download_cancel.as_ref();
        Downloads {
            started: downloads.len(),
            completed: count(|o| matches!(o, Outcome::Completed)),
            not_found: count(|o| matches!(o, Outcome::Failed(e) if e.code() == "ERR_HTTP_STATUS")),
            cancelled: count(|o| matches!(o, Outcome::Cancelled)),
            unfinished_at_return: press.map(|p| p.unfinished_at_return),
            cancel_landed: press.and_then(|p| p.landed),
            closed_by_cancel: app.service.server.closed_early(),
        }
    }
}

pub struct TaskLine {
    pub name: String,
    pub outcome: Option<Outcome>,
    pub duration: Option<Duration>,
    pub extra_outcomes: u32,
}

impl Summary {
    pub fn new(clock: &FrameClock, history: &History) -> Self {
        let tasks = history
            .entries()
            .iter()
            .map(|entry| TaskLine {
                name: entry.name.clone(),
                outcome: entry.ended.as_ref().map(|(_, outcome)| outcome.clone()),
                duration: entry.duration(),
                extra_outcomes: entry.extra_outcomes,
            })
            .collect();
        Summary {
            frames: clock.frames,
            longest_busy_gap: clock.longest_busy_gap,
            median_busy_gap: clock.busy_gap_percentile(50),
            p95_busy_gap: clock.busy_gap_percentile(95),
            median_idle_gap: clock.idle_gap_percentile(50),
            tasks,
            late_callbacks: 0,
            downloads: None,
        }
    }

    fn without_outcome(&self) -> usize {
        self.tasks.iter().filter(|t| t.outcome.is_none()).count()
    }

    fn extra_outcomes(&self) -> u32 {
        self.tasks.iter().map(|t| t.extra_outcomes).sum()
    }
}

/// A word per outcome, for the machine-read line.
fn word(outcome: Option<&Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Completed) => "done",
        Some(Outcome::Failed(_)) => "failed",
        Some(Outcome::Cancelled) => "cancelled",
        None => "NONE",
    }
}

/// `summary: frames=.. longest_gap_ms=.. median_gap_ms=.. p95_gap_ms=.. tasks=..
/// without_outcome=.. extra_outcomes=.. late_callbacks=.. outcomes=name:word,..`, a
/// `downloads: started=.. completed=.. not_found=.. cancelled=.. unfinished_at_return=..
/// cancel_frames=.. cancel_ms=.. closed_by_cancel=..` line (`none` where the Cancel button was
/// not pressed or its effect never showed), then the per-task lines.
/// The gaps are those between frames while tasks ran; `idle_median_gap_ms` is the baseline
/// of the frames drawn while none ran (in script mode the window keeps drawing).
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcomes: Vec<String> = self
            .tasks
            .iter()
            .map(|t| format!("{}:{}", t.name, word(t.outcome.as_ref())))
            .collect();
        writeln!(
            f,
            "summary: frames={} longest_gap_ms={} median_gap_ms={} p95_gap_ms={} \
             idle_median_gap_ms={} tasks={} \
             without_outcome={} extra_outcomes={} late_callbacks={} outcomes={}",
            self.frames,
            self.longest_busy_gap.as_millis(),
            self.median_busy_gap.as_millis(),
            self.p95_busy_gap.as_millis(),
            self.median_idle_gap.as_millis(),
            self.tasks.len(),
            self.without_outcome(),
            self.extra_outcomes(),
            self.late_callbacks,
            outcomes.join(",")
        )?;
        if let Some(d) = &self.downloads {
            let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".to_owned());
            writeln!(
                f,
                "downloads: started={} completed={} not_found={} cancelled={} \
                 unfinished_at_return={} cancel_frames={} cancel_ms={} closed_by_cancel={}",
                d.started,
                d.completed,
                d.not_found,
                d.cancelled,
                or_none(d.unfinished_at_return.map(|n| n.to_string())),
                or_none(d.cancel_landed.map(|(frames, _)| frames.to_string())),
                or_none(
                    d.cancel_landed
                        .map(|(_, t)| format!("{:.1}", t.as_secs_f64() * 1e3))
                ),
                d.closed_by_cancel,
            )?;
        }
        for task in &self.tasks {
            let outcome = task
                .outcome
                .as_ref()
                .map_or_else(|| "(no outcome)".to_owned(), Outcome::to_string);
            let time = task
                .duration
                .map_or_else(String::new, |d| format!("{:.2} s", d.as_secs_f64()));
            writeln!(f, "  {:<9} {:<58} {:>8}", task.name, outcome, time)?;
        }
        Ok(())
    }
}
