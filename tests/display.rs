//! Progress displays: which tasks reach one, in what order, coalesced, off the workers, and
//! switched off when they panic. `LogProgress` and `TerminalProgress` are tested in
//! `display_builtin.rs`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{eventually, Gate, PATIENCE};
use task_macros::{async_method, run_in_background};
use task_runtime::{
    codes, AppError, Outcome, Progress, ProgressDisplay, TaskInfo, TaskManager, TaskState,
};

/// Every call a display received, as text, in order.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<String>>>,
    /// Opened by the test; `task_progress` waits on it when set.
    hold_progress: Option<Gate>,
}

impl Recorder {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn calls_for(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name} ");
        self.calls()
            .into_iter()
            .filter(|call| call.starts_with(&prefix))
            .collect()
    }

    fn manager(&self, threads: usize) -> TaskManager {
        TaskManager::builder()
            .max_threads(threads)
            .progress_display(self.clone())
            .build()
            .unwrap()
    }
}

impl ProgressDisplay for Recorder {
    fn task_started(&self, task: &TaskInfo) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{} started", task.name));
    }
    fn task_progress(&self, task: &TaskInfo, progress: &Progress) {
        if let Some(gate) = &self.hold_progress {
            gate.wait();
        }
        self.calls
            .lock()
            .unwrap()
            .push(format!("{} progress {progress}", task.name));
    }
    fn task_finished(&self, task: &TaskInfo, outcome: &Outcome) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{} finished {outcome}", task.name));
    }
}

fn finished(recorder: &Recorder, name: &str) -> bool {
    recorder
        .calls_for(name)
        .iter()
        .any(|call| call.contains(" finished "))
}

#[test]
fn only_tasks_with_show_progress_reach_the_display_in_order() {
    let recorder = Recorder::default();
    let manager = recorder.manager(2);
    let shown = manager
        .task(|ctx| {
            ctx.report_progress(1, 2, "first half");
            ctx.report_progress(2, 2, "second half");
            Ok::<_, AppError>(())
        })
        .name("shown")
        .show_progress(true)
        .start();
    let hidden = manager
        .task(|ctx| {
            ctx.report_progress(1, 1, "hidden");
            Ok::<_, AppError>(())
        })
        .name("hidden")
        .start();
    shown.join().unwrap();
    hidden.join().unwrap();
    eventually("the shown task finished", || finished(&recorder, "shown"));

    let calls = recorder.calls_for("shown");
    assert_eq!(calls.first().unwrap(), "shown started");
    assert_eq!(calls.last().unwrap(), "shown finished done");
    let progress: Vec<_> = calls[1..calls.len() - 1].to_vec();
    assert!(
        !progress.is_empty() && progress.iter().all(|c| c.starts_with("shown progress")),
        "{calls:?}"
    );
    // Coalescing may skip the first report, never the last.
    assert_eq!(progress.last().unwrap(), "shown progress 2/2 second half");
    assert!(
        recorder.calls_for("hidden").is_empty(),
        "{:?}",
        recorder.calls()
    );
}

#[test]
fn outcomes_failed_and_cancelled_reach_the_display() {
    let recorder = Recorder::default();
    let manager = recorder.manager(1);
    let failing = manager
        .task(|_| {
            Err::<(), _>(
                AppError::new("ERR_SHOWN", "internal detail").with_user_message("Could not load"),
            )
        })
        .name("failing")
        .show_progress(true)
        .start();
    assert!(failing.join().is_err());

    // Cancelled while running: no progress after the request, then "cancelled".
    let running = manager
        .task(|ctx| {
            while !ctx.is_cancelled() {
                std::thread::yield_now();
            }
            ctx.report_progress(9, 10, "after cancel");
            Ok::<_, AppError>(())
        })
        .name("running")
        .show_progress(true)
        .start();
    eventually("running", || running.state() == TaskState::Running);
    // And one cancelled while queued behind it: it never starts.
    let queued = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("queued")
        .show_progress(true)
        .start();
    assert!(queued.cancel());
    assert!(running.cancel());
    assert!(running.join().unwrap_err().is_cancelled());

    eventually("three finishes", || {
        ["failing", "running", "queued"]
            .iter()
            .all(|name| finished(&recorder, name))
    });
    assert_eq!(
        recorder.calls_for("failing"),
        ["failing started", "failing finished failed: Could not load"]
    );
    assert_eq!(
        recorder.calls_for("running"),
        ["running started", "running finished cancelled"]
    );
    assert_eq!(recorder.calls_for("queued"), ["queued finished cancelled"]);
}

/// A display that is stuck does not hold up the body, and what it misses meanwhile is
/// coalesced into one call with the latest value.
#[test]
fn progress_is_coalesced_and_a_stuck_display_never_blocks_a_worker() {
    const REPORTS: u64 = 1_000_000;
    let gate = Gate::new();
    let recorder = Recorder {
        hold_progress: Some(gate.clone()),
        ..Recorder::default()
    };
    let manager = recorder.manager(1);
    let task = manager
        .task(|ctx| {
            for i in 1..=REPORTS {
                ctx.set_progress(i, REPORTS);
            }
            Ok::<_, AppError>(())
        })
        .name("chatty")
        .show_progress(true)
        .start();
    // The display thread is stuck in the first `task_progress` the whole time.
    assert!(task.wait_for(PATIENCE), "the body waited for the display");
    assert!(recorder.calls_for("chatty").len() <= 1);
    gate.open();
    eventually("the display caught up", || finished(&recorder, "chatty"));

    let calls = recorder.calls_for("chatty");
    let progress = calls.iter().filter(|c| c.contains(" progress ")).count();
    assert!(
        progress <= 2,
        "{REPORTS} reports made {progress} display calls, ending {:?}",
        &calls[calls.len().saturating_sub(3)..]
    );
    assert_eq!(
        calls[calls.len() - 2],
        format!("chatty progress {REPORTS}/{REPORTS}")
    );
}

/// Panics in `task_started`: the error handler hears of it once, the display gets no more
/// calls, and the tasks' outcomes are untouched.
#[test]
fn a_panicking_display_is_reported_and_switched_off() {
    struct Exploding(Arc<AtomicUsize>);
    impl ProgressDisplay for Exploding {
        fn task_started(&self, _: &TaskInfo) {
            self.0.fetch_add(1, Ordering::SeqCst);
            panic!("display exploded");
        }
        fn task_progress(&self, _: &TaskInfo, _: &Progress) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn task_finished(&self, _: &TaskInfo, _: &Outcome) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let heard = Arc::new(Mutex::new(Vec::<AppError>::new()));
    let manager = {
        let heard = heard.clone();
        TaskManager::builder()
            .max_threads(2)
            .progress_display(Exploding(calls.clone()))
            .error_handler(move |e| heard.lock().unwrap().push(e.clone()))
            .build()
            .unwrap()
    };
    let first = manager
        .task(|ctx| {
            ctx.set_progress(1, 1);
            Ok::<_, AppError>(1)
        })
        .name("first")
        .show_progress(true)
        .start();
    assert_eq!(first.join().unwrap(), 1);
    eventually("the panic reported", || !heard.lock().unwrap().is_empty());

    for n in 0..10 {
        let task = manager
            .task(move |ctx| {
                ctx.set_progress(1, 1);
                Ok::<_, AppError>(n)
            })
            .show_progress(true)
            .start();
        assert_eq!(task.join().unwrap(), n);
    }
    assert!(manager.wait_for_all(PATIENCE));
    drop(manager); // stops the display thread after it showed what was queued
    assert_eq!(calls.load(Ordering::SeqCst), 1, "called after it panicked");
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0].code(), codes::ERR_CALLBACK_PANICKED);
    assert!(
        heard[0].message().contains("display exploded"),
        "{}",
        heard[0]
    );
    assert!(heard[0].message().contains("first"), "{}", heard[0]);
}

#[derive(Clone)]
struct Service {
    tasks: TaskManager,
}

impl Service {
    #[run_in_background(manager = &self.tasks, show_progress = true)]
    fn shown_by_key(&self) -> u32 {
        1
    }

    #[run_in_background(manager = &self.tasks)]
    fn not_shown(&self) -> u32 {
        2
    }

    /// `async_method` shows progress unless told otherwise.
    #[async_method(manager = &self.tasks)]
    fn shown_by_default(&self) -> u32 {
        3
    }
}

#[test]
fn the_macros_show_progress_key_and_async_method_default() {
    let recorder = Recorder::default();
    let service = Service {
        tasks: recorder.manager(2),
    };
    assert_eq!(service.shown_by_key().join().unwrap(), 1);
    assert_eq!(service.not_shown().join().unwrap(), 2);
    assert_eq!(service.shown_by_default().join().unwrap(), 3);
    eventually("both shown tasks finished", || {
        finished(&recorder, "shown_by_key") && finished(&recorder, "shown_by_default")
    });
    drop(service); // the display thread has shown everything queued
    assert!(recorder.calls_for("not_shown").is_empty());
}

/// A named scope with `show_progress(true)` is one line: the display sees the scope, never
/// its tasks, with finished-of-started as the progress; `wait` returns once the display drew
/// it; the drop finishes the line.
#[test]
fn a_shown_scope_is_one_line_and_its_tasks_are_not_drawn() {
    let recorder = Recorder::default();
    let manager = recorder.manager(2);
    let batch = manager.scope().named("batch").show_progress(true);
    let child = batch.child();
    for units in [2u64, 3] {
        batch
            .task(move |ctx| {
                ctx.set_progress(units, 10);
                Ok::<_, AppError>(())
            })
            .name("member")
            .show_progress(true)
            .start();
    }
    child
        .task(|_| Ok::<_, AppError>(()))
        .name("member")
        .show_progress(true)
        .start();
    assert!(batch.wait(PATIENCE));
    // Drawn before `wait` returned: the program's own output comes after the last line.
    let calls = recorder.calls();
    assert!(recorder.calls_for("member").is_empty(), "{calls:?}");
    assert_eq!(calls.first().map(String::as_str), Some("batch started"));
    assert_eq!(
        calls.last().unwrap(),
        "batch progress 3/3 5 of 20 units, 3 completed, 0 failed, 0 cancelled",
        "{calls:?}"
    );
    drop(child);
    drop(batch);
    assert!(manager.wait_for_all(PATIENCE));
    drop(manager); // stops the display after what is queued
    assert_eq!(recorder.calls().last().unwrap(), "batch finished done");
}

/// A shown scope's line counts the units of its running tasks too (it read "N of N units",
/// the finished tasks' only, until the end), and says how its tasks ended.
#[test]
fn a_shown_scopes_line_counts_running_tasks_and_how_tasks_ended() {
    let recorder = Recorder::default();
    let manager = recorder.manager(2);
    let batch = manager.scope().named("batch").show_progress(true);
    let gate = Gate::new();
    let held = gate.clone();
    let running = batch.spawn(move |ctx| {
        ctx.set_progress(3, 10);
        held.wait();
        Ok::<_, AppError>(())
    });
    eventually("the running task's units on the line", || {
        recorder
            .calls_for("batch")
            .iter()
            .any(|call| call == "batch progress 0/1 3 of 10 units")
    });
    batch
        .spawn(|_| Err::<(), _>(AppError::new("ERR_X", "no")))
        .join()
        .unwrap_err();
    let cancelled = batch.spawn(|ctx| {
        common::spin_until_cancelled(ctx);
        Ok::<_, AppError>(())
    });
    eventually("running", || cancelled.state() == TaskState::Running);
    cancelled.cancel();
    gate.open();
    running.join().unwrap();
    assert!(batch.wait(PATIENCE));
    assert_eq!(
        recorder.calls().last().unwrap(),
        "batch progress 3/3 3 of 10 units, 1 completed, 1 failed, 1 cancelled"
    );
}
