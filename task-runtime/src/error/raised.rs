//! The errors the runtime itself raises, each built in one place.

use super::codes;
use super::{AppError, Severity};

/// "1 callback delivery was", "3 callback deliveries were" (`verb` given as singular, plural).
fn deliveries(n: u64, one: &str, many: &str) -> String {
    let (noun, verb) = if n == 1 {
        ("delivery", one)
    } else {
        ("deliveries", many)
    };
    format!("{n} callback {noun} {verb}").trim_end().to_owned()
}

impl AppError {
    /// A task body panicked: the task fails with this.
    pub(crate) fn panicked(task: &str, message: &str) -> Self {
        let error = AppError::new(
            codes::ERR_TASK_PANICKED,
            format!("task '{task}' panicked: {message}"),
        )
        .with_severity(Severity::Critical)
        .recoverable(false);
        if wants_tokio(message) {
            return error.with_details(
                "the body used tokio (a timer, a socket, `Handle::current`) outside a tokio \
                 runtime: enable task-runtime's `tokio` feature, and every body runs inside a \
                 runtime context (`TaskManagerBuilder::tokio(handle)` to give your own)",
            );
        }
        error
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

    /// `lost` callback deliveries to an `EventLoop` that is gone (dropped with them queued,
    /// or posted to after it was dropped).
    pub(crate) fn lost_with_event_loop(lost: u64) -> Self {
        AppError::new(
            codes::ERR_DELIVERY_LOST,
            format!(
                "{} dropped because their EventLoop is gone; those tasks' remaining callbacks \
                 will not run (their handles keep their outcomes)",
                deliveries(lost, "was", "were")
            ),
        )
        .with_context("lost", lost)
    }

    /// A dispatcher (`Dispatcher::from_fn`) dropped `lost` callback deliveries without
    /// running them.
    pub(crate) fn dropped_by_dispatcher(lost: u64) -> Self {
        AppError::new(
            codes::ERR_DELIVERY_LOST,
            format!(
                "the dispatcher dropped {} without running {}; the remaining callbacks of \
                 those tasks will not run (their handles keep their outcomes)",
                deliveries(lost, "", ""),
                if lost == 1 { "it" } else { "them" }
            ),
        )
        .with_context("lost", lost)
    }

    /// The callbacks of `lost` `local()` tasks, local to thread `owner`, were delivered on
    /// thread `here`, where they cannot run.
    pub(crate) fn delivered_elsewhere(owner: &str, here: &str, lost: u64) -> Self {
        AppError::new(
            codes::ERR_DELIVERY_LOST,
            format!(
                "the callbacks of {lost} local task(s), local to thread {owner}, were delivered \
                 on thread {here}, where they cannot run; deliver local tasks through a \
                 dispatcher that runs jobs on thread {owner} (an EventLoop it drains)"
            ),
        )
        .with_context("lost", lost)
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

    /// The body of `task` (or a body it runs nested) waited for `task` itself.
    pub(crate) fn self_join(task: &str) -> Self {
        AppError::new(
            codes::ERR_SELF_JOIN,
            format!(
                "task '{task}' waited for itself from its own body: it would wait forever; \
                 hand its result on from the body instead (return it, publish it, or start a \
                 continuation)"
            ),
        )
        .recoverable(false)
        .with_context("task", task)
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

/// Whether a panic message is tokio's "no runtime here" (best effort: recognised by its words,
/// which `tests/no_tokio.rs` pins).
fn wants_tokio(message: &str) -> bool {
    cfg!(not(feature = "tokio"))
        && (message.contains("there is no reactor running")
            || message.contains("must be called from the context of a Tokio"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_errors_name_their_task_or_count() {
        let panicked = AppError::callback_panicked("on_complete", "Load", "boom");
        assert_eq!(panicked.code(), codes::ERR_CALLBACK_PANICKED);
        assert_eq!(
            panicked.message(),
            "on_complete of task 'Load' panicked: boom"
        );
        assert_eq!(panicked.context()["task"], "Load");
        let lost = AppError::lost_with_event_loop(3);
        assert_eq!(lost.code(), codes::ERR_DELIVERY_LOST);
        assert!(lost
            .message()
            .starts_with("3 callback deliveries were dropped"));
        assert!(AppError::lost_with_event_loop(1)
            .message()
            .starts_with("1 callback delivery was dropped"));
        assert_eq!(lost.context()["lost"], "3");
        let dropped = AppError::dropped_by_dispatcher(2);
        assert_eq!(dropped.code(), codes::ERR_DELIVERY_LOST);
        assert_eq!(dropped.context()["lost"], "2");
        let elsewhere = AppError::delivered_elsewhere("'main'", "'worker-1'", 1);
        assert_eq!(elsewhere.code(), codes::ERR_DELIVERY_LOST);
        assert!(elsewhere.message().contains("local to thread 'main'"));
        assert!(elsewhere
            .message()
            .contains("delivered on thread 'worker-1'"));
        assert_eq!(elsewhere.context()["delivery_thread"], "'worker-1'");
        assert_eq!(elsewhere.context()["lost"], "1");
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
