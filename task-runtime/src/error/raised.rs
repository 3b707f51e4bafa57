//! The errors the runtime itself raises, each built in one place.

use super::codes;
use super::{AppError, Severity};

impl AppError {
    /// A task body panicked: the task fails with this.
    pub(crate) fn panicked(task: &str, message: &str) -> Self {
        AppError::new(
            codes::ERR_TASK_PANICKED,
            format!("task '{task}' panicked: {message}"),
        )
        .with_severity(Severity::Critical)
        .recoverable(false)
        .with_details(message.to_owned())
    }

    /// User code the runtime ran for `task` panicked: `what` names it (`on_complete`, "a
    /// task_started slot", "the dispatcher"...). Reported; the outcome is not affected.
    pub(crate) fn callback_panicked(what: &str, task: &str, message: &str) -> Self {
        AppError::new(
            codes::ERR_CALLBACK_PANICKED,
            format!("{what} of task '{task}' panicked: {message}"),
        )
        .with_context("task", task)
    }

    /// A dispatcher dropped the delivery job of `task` without running it.
    pub(crate) fn delivery_lost(task: &str) -> Self {
        AppError::new(
            codes::ERR_DELIVERY_LOST,
            format!(
                "the dispatcher of task '{task}' dropped a callback delivery without running it; \
                 the task's remaining callbacks will not run"
            ),
        )
        .with_context("task", task)
    }

    /// A delivery of `task`, whose callbacks are local to thread `owner`, ran on thread
    /// `here`: its callbacks could not run there.
    pub(crate) fn delivered_elsewhere(task: &str, owner: &str, here: &str) -> Self {
        AppError::new(
            codes::ERR_DELIVERY_LOST,
            format!(
                "the callbacks of task '{task}' are local to thread {owner}, but its dispatcher \
                 delivered them on thread {here}, where they cannot run; deliver local tasks \
                 through a dispatcher that runs jobs on thread {owner} (an EventLoop it drains)"
            ),
        )
        .with_context("task", task)
        .with_context("owner_thread", owner)
        .with_context("delivery_thread", here)
    }

    /// `task` did not finish within `timeout`.
    pub(crate) fn timed_out(task: &str, timeout: std::time::Duration) -> Self {
        let ms = timeout.as_millis();
        AppError::new(
            codes::ERR_TASK_TIMEOUT,
            format!("task '{task}' did not finish within {ms} ms"),
        )
        .with_severity(Severity::Warning)
        .with_user_message(format!(
            "This took too long (more than {ms} ms) and was stopped."
        ))
        .with_context("task", task)
        .with_context("timeout_ms", ms)
    }

    /// No worker thread could run `task`, for `reason`.
    pub(crate) fn thread_spawn(task: &str, reason: &str) -> Self {
        AppError::new(
            codes::ERR_THREAD_SPAWN,
            format!("task '{task}' could not run: {reason}"),
        )
        .with_severity(Severity::Critical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_errors_name_their_task() {
        let panicked = AppError::callback_panicked("on_complete", "Load", "boom");
        assert_eq!(panicked.code(), codes::ERR_CALLBACK_PANICKED);
        assert_eq!(
            panicked.message(),
            "on_complete of task 'Load' panicked: boom"
        );
        assert_eq!(panicked.context()["task"], "Load");
        let lost = AppError::delivery_lost("Load");
        assert_eq!(lost.code(), codes::ERR_DELIVERY_LOST);
        assert!(lost.message().contains("dropped a callback delivery"));
        assert_eq!(lost.context()["task"], "Load");
        let elsewhere = AppError::delivered_elsewhere("Load", "'main'", "'worker-1'");
        assert_eq!(elsewhere.code(), codes::ERR_DELIVERY_LOST);
        assert!(elsewhere.message().contains("local to thread 'main'"));
        assert!(elsewhere.message().contains("on thread 'worker-1'"));
        assert_eq!(elsewhere.context()["delivery_thread"], "'worker-1'");
        let timeout = AppError::timed_out("Load", std::time::Duration::from_millis(200));
        assert_eq!(timeout.code(), codes::ERR_TASK_TIMEOUT);
        assert_eq!(timeout.severity(), Severity::Warning);
        assert_eq!(timeout.context()["timeout_ms"], "200");
        let spawn = AppError::thread_spawn("Load", "no threads");
        assert_eq!(spawn.code(), codes::ERR_THREAD_SPAWN);
        assert_eq!(spawn.severity(), Severity::Critical);
        assert_eq!(spawn.message(), "task 'Load' could not run: no threads");
    }
}
