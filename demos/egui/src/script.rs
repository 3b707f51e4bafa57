//! `--script SECONDS`: the window driven without a person, for CI and screenshots.
//!
//! The script presses the same buttons a person would (the app runs the same code for
//! both), types a query into the search box a key at a time as real keyboard events,
//! cancels the scan from its row, closes the preview panel (dropping its scope) mid-run,
//! presses the download panel's Cancel button while downloads run, closes the report panel
//! mid-chain (its scope's drop cancels the chain), and
//! at the end presses "Cancel all" and closes the window once every task has its outcome.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the script does at a moment of its run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Press every button that starts work.
    StartAll,
    /// Type a character into the search box.
    Type(char),
    /// Tell the harness that the window is busy: time for a screenshot.
    Screenshot,
    /// Press the Cancel button of the scan's row.
    CancelScan,
    /// Close the preview panel: its scope is dropped mid-run.
    ClosePanel,
    /// Press the download panel's Cancel button, with some downloads still running.
    CancelDownloads,
    /// Close the report panel mid-chain: its scope's drop cancels the chain.
    CloseReport,
    /// Press "Cancel all", then close once every task has an outcome.
    Finish,
}

/// The script's own clock starts at the first frame, once the window exists.
pub struct Script {
    length: Duration,
    started: Option<Instant>,
    timeline: VecDeque<(Duration, Step)>,
}

/// The query the script types.
const QUERY: &str = "rust";

impl Script {
    pub fn new(length: Duration) -> Self {
        let ms = Duration::from_millis;
        // Half a second for the window to settle, as a person would take to click.
        let mut timeline = vec![(ms(500), Step::StartAll)];
        for (i, c) in QUERY.chars().enumerate() {
            timeline.push((ms(900 + 150 * i as u64), Step::Type(c)));
        }
        timeline.push((ms(1400), Step::Screenshot));
        timeline.push((ms(1600), Step::ClosePanel));
        timeline.push((ms(2200), Step::CancelDownloads));
        timeline.push((ms(2600), Step::CloseReport));
        timeline.push((ms(3000).min(length / 2).max(ms(1700)), Step::CancelScan));
        timeline.push((length.max(ms(1500)), Step::Finish));
        timeline.sort_by_key(|(at, _)| *at);
        Script {
            length,
            started: None,
            timeline: timeline.into(),
        }
    }

    /// The steps that are due at `now`, in order.
    pub fn due(&mut self, now: Instant) -> Vec<Step> {
        let elapsed = now - *self.started.get_or_insert(now);
        let mut due = Vec::new();
        while let Some(&(at, step)) = self.timeline.front() {
            if at > elapsed {
                break;
            }
            self.timeline.pop_front();
            due.push(step);
        }
        due
    }

    /// After this, the window closes even if a task still has no outcome (the summary then
    /// says which): a lost task must not hang CI.
    pub fn gave_up(&self, now: Instant) -> bool {
        self.started
            .is_some_and(|started| now - started > self.length + Duration::from_secs(20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_come_in_order_once() {
        let mut script = Script::new(Duration::from_secs(6));
        let start = Instant::now();
        assert_eq!(script.due(start), []);
        assert_eq!(
            script.due(start + Duration::from_millis(500)),
            [Step::StartAll]
        );
        assert_eq!(script.due(start + Duration::from_millis(500)), []);
        let typed = script.due(start + Duration::from_millis(1500));
        assert_eq!(
            typed,
            [
                Step::Type('r'),
                Step::Type('u'),
                Step::Type('s'),
                Step::Type('t'),
                Step::Screenshot
            ]
        );
        assert_eq!(
            script.due(start + Duration::from_secs(7)),
            [
                Step::ClosePanel,
                Step::CancelDownloads,
                Step::CloseReport,
                Step::CancelScan,
                Step::Finish
            ]
        );
        assert!(!script.gave_up(start + Duration::from_secs(7)));
        assert!(script.gave_up(start + Duration::from_secs(27)));
    }
}
