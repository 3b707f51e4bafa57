//! What the demo prints when its window closes: one line for the CI check, then a line per
//! task for people.

use std::fmt;
use std::time::Duration;

use task_runtime::Outcome;

use crate::clock::FrameClock;
use crate::history::History;

pub struct Summary {
    pub frames: u64,
    pub longest_busy_gap: Duration,
    pub median_busy_gap: Duration,
    pub p95_busy_gap: Duration,
    pub median_idle_gap: Duration,
    pub tasks: Vec<TaskLine>,
    /// Callbacks of the preview that ran after its panel (its scope) was closed.
    pub late_callbacks: u64,
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
/// without_outcome=.. extra_outcomes=.. late_callbacks=.. outcomes=name:word,..`, then the per-task lines.
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
