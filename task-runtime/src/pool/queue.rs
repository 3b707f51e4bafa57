//! The pool's run queue: higher priority first, first-in first-out within a priority.
//!
//! One `VecDeque` per level, kept in a `BTreeMap` ordered from highest to lowest: pushing and
//! popping cost O(log levels) (in practice one or two levels), and FIFO order within a level
//! needs no sequence numbers. A level is a [`Rank`]: a job that resumes work already begun
//! (a polled body that was woken) ranks just above the never-started jobs of its priority.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

/// Where a job queues: by priority, then resumed work ahead of never-started work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    pub(crate) priority: i32,
    pub(crate) resumed: bool,
}

impl Rank {
    /// Whether jobs of this rank run before the never-started jobs of priority 0 (which the
    /// pool queues apart, on its channel).
    pub(crate) fn above_zero(self) -> bool {
        self.priority > 0 || (self.priority == 0 && self.resumed)
    }
}

pub(crate) struct PriorityQueue<J> {
    levels: BTreeMap<Reverse<Rank>, VecDeque<J>>,
    len: usize,
}

impl<J> PriorityQueue<J> {
    pub(crate) fn new() -> Self {
        PriorityQueue {
            levels: BTreeMap::new(),
            len: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push(&mut self, rank: Rank, job: J) {
        self.levels.entry(Reverse(rank)).or_default().push_back(job);
        self.len += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<J> {
        let mut level = self.levels.first_entry()?;
        let job = level.get_mut().pop_front();
        // Empty levels are removed so that many distinct priorities over time do not pile up.
        if level.get().is_empty() {
            level.remove();
        }
        self.len -= usize::from(job.is_some());
        job
    }

    /// Pops the next job if `wanted` accepts its rank.
    pub(crate) fn pop_if(&mut self, wanted: impl FnOnce(Rank) -> bool) -> Option<J> {
        let (Reverse(rank), _) = self.levels.first_key_value()?;
        if wanted(*rank) {
            self.pop()
        } else {
            None
        }
    }

    /// Keeps only the jobs for which `keep` returns true; returns the removed ones.
    pub(crate) fn extract_if_not(&mut self, mut keep: impl FnMut(&J) -> bool) -> Vec<J> {
        let mut removed = Vec::new();
        for level in self.levels.values_mut() {
            let mut kept = VecDeque::with_capacity(level.len());
            for job in level.drain(..) {
                if keep(&job) {
                    kept.push_back(job);
                } else {
                    removed.push(job);
                }
            }
            *level = kept;
        }
        self.levels.retain(|_, level| !level.is_empty());
        self.len -= removed.len();
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(priority: i32) -> Rank {
        Rank {
            priority,
            resumed: false,
        }
    }

    #[test]
    fn higher_priority_first_fifo_within_a_level() {
        let mut q = PriorityQueue::new();
        for (p, name) in [(0, "a"), (5, "b"), (0, "c"), (-3, "d"), (5, "e"), (0, "f")] {
            q.push(fresh(p), name);
        }
        assert_eq!(q.len(), 6);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, ["b", "e", "a", "c", "f", "d"]);
        assert!(q.is_empty());
        assert!(q.levels.is_empty());
    }

    #[test]
    fn extract_keeps_order_of_the_rest() {
        let mut q = PriorityQueue::new();
        for n in 0..10 {
            q.push(fresh(n % 2), n);
        }
        let removed = q.extract_if_not(|n| n % 3 != 0);
        assert_eq!(removed.len(), 4);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [1, 5, 7, 2, 4, 8]);
    }

    #[test]
    fn resumed_work_goes_ahead_of_its_priority_only() {
        let mut q = PriorityQueue::new();
        let resumed = |priority| Rank {
            priority,
            resumed: true,
        };
        q.push(fresh(0), "new 0");
        q.push(fresh(1), "new 1");
        q.push(resumed(0), "woken 0");
        q.push(resumed(-1), "woken -1");
        q.push(resumed(0), "woken 0 later");
        q.push(fresh(-1), "new -1");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [
                "new 1",
                "woken 0",
                "woken 0 later",
                "new 0",
                "woken -1",
                "new -1"
            ]
        );
        assert!(resumed(0).above_zero() && fresh(1).above_zero());
        assert!(!fresh(0).above_zero() && !resumed(-1).above_zero());
    }
}
