//! Frame timing: how many frames the window drew and the longest wait between two of them
//! while work was running. A frozen UI thread shows here first.

use std::time::{Duration, Instant};

#[derive(Default)]
pub struct FrameClock {
    pub frames: u64,
    pub last_gap: Duration,
    /// The longest gap between two frames that began while tasks were active. Idle gaps do
    /// not count: an idle egui window draws nothing until something happens.
    pub longest_busy_gap: Duration,
    /// Every such gap, for the percentiles.
    busy_gaps: Vec<Duration>,
    /// The other gaps: a baseline when something keeps the window drawing (the script).
    idle_gaps: Vec<Duration>,
    last: Option<(Instant, bool)>,
}

impl FrameClock {
    /// Records a frame starting at `now`; `busy` says whether tasks are active.
    pub fn tick(&mut self, now: Instant, busy: bool) {
        if let Some((last, was_busy)) = self.last {
            self.last_gap = now - last;
            if was_busy {
                self.longest_busy_gap = self.longest_busy_gap.max(self.last_gap);
                self.busy_gaps.push(self.last_gap);
            } else {
                self.idle_gaps.push(self.last_gap);
            }
        }
        self.last = Some((now, busy));
        self.frames += 1;
    }

    /// The busy gap that `percent` of busy gaps do not exceed.
    pub fn busy_gap_percentile(&self, percent: usize) -> Duration {
        percentile(&self.busy_gaps, percent)
    }

    /// The same for the gaps while no task ran.
    pub fn idle_gap_percentile(&self, percent: usize) -> Duration {
        percentile(&self.idle_gaps, percent)
    }
}

/// Nearest rank; zero for no gaps.
fn percentile(gaps: &[Duration], percent: usize) -> Duration {
    let mut gaps = gaps.to_vec();
    gaps.sort_unstable();
    let rank = (gaps.len() * percent).div_ceil(100).max(1);
    gaps.get(rank - 1).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gaps_that_start_busy_count() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut clock = FrameClock::default();
        clock.tick(at(0), false);
        clock.tick(at(500), true); // idle before: not counted
        clock.tick(at(520), true);
        clock.tick(at(560), false);
        clock.tick(at(2000), false);
        assert_eq!(clock.frames, 5);
        assert_eq!(clock.longest_busy_gap, Duration::from_millis(40));
        assert_eq!(clock.busy_gap_percentile(50), Duration::from_millis(20));
        assert_eq!(clock.busy_gap_percentile(100), Duration::from_millis(40));
        assert_eq!(clock.idle_gap_percentile(50), Duration::from_millis(500));
        assert_eq!(clock.last_gap, Duration::from_millis(1440));
    }
}
