//! [`Progress`]: how far a task has come.

use std::fmt;

/// How far a task has come: `current` out of `total`, with a message.
///
/// Reported from a body with [`TaskContext::report_progress`](crate::TaskContext::report_progress)
/// or [`TaskContext::set_progress`](crate::TaskContext::set_progress), delivered to
/// `on_progress` callbacks (coalesced: the latest value wins), and readable at any time with
/// [`Task::progress`](crate::Task::progress).
///
/// A `total` of 0 means "unknown": [`fraction`](Progress::fraction) is then `None` and progress
/// displays show a spinner.
///
/// ```
/// use task_runtime::Progress;
///
/// let p = Progress::new(30, 120, "hashing");
/// assert_eq!(p.fraction(), Some(0.25));
/// assert_eq!(p.to_string(), "30/120 hashing");
/// assert_eq!(Progress::new(5, 0, "").fraction(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Progress {
    /// Units done so far.
    pub current: u64,
    /// Units in all; 0 when unknown.
    pub total: u64,
    /// What the task is doing now; may be empty.
    pub message: String,
}

impl Progress {
    /// Creates a progress value.
    pub fn new(current: u64, total: u64, message: impl Into<String>) -> Self {
        Progress {
            current,
            total,
            message: message.into(),
        }
    }

    /// `current / total` clamped to `0.0..=1.0`, or `None` when `total` is 0.
    pub fn fraction(&self) -> Option<f64> {
        if self.total == 0 {
            None
        } else {
            Some((self.current as f64 / self.total as f64).min(1.0))
        }
    }
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.current, self.total)?;
        if !self.message.is_empty() {
            write!(f, " {}", self.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_is_clamped() {
        assert_eq!(Progress::new(15, 10, "").fraction(), Some(1.0));
        assert_eq!(Progress::new(0, 10, "").fraction(), Some(0.0));
        assert_eq!(Progress::new(3, 10, "").to_string(), "3/10");
    }
}
