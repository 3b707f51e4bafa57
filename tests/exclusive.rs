//! `Exclusive::CancelPrevious` ("latest wins") and `Exclusive::SkipIfActive`, keyed by name.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{AppError, EventLoop, Exclusive, TaskManager, TaskState};

/// A search box firing one task per keystroke while the UI thread is too busy to process
/// events: every body finishes, but only the last result is shown.
#[test]
fn cancel_previous_drops_stale_callbacks_with_a_slow_ui_queue() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 4);
    let shown = Log::new();
    let mut handles = Vec::new();
    for query in ["r", "ru", "rus", "rust"] {
        let s = shown.clone();
        let task = manager
            .task(move |ctx| {
                ctx.set_progress(1, 1);
                Ok::<_, AppError>(format!("results for {query}"))
            })
            .name("search")
            .exclusive(Exclusive::CancelPrevious)
            .on_started(shown.recorder(&format!("started {query}")))
            .on_progress({
                let s = shown.clone();
                move |_| s.push(format!("progress {query}"))
            })
            .on_complete(move |results| s.push(results))
            .on_cancelled(shown.recorder(&format!("cancelled {query}")))
            .start();
        // Let each body finish before the next keystroke: their callbacks are all queued.
        assert!(task.wait_for(PATIENCE));
        handles.push(task);
    }
    assert!(ui.pending() > 0, "the UI has not processed anything yet");
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(
        shown.events(),
        ["started rust", "progress rust", "results for rust"]
    );
    // The superseded tasks still ended exactly once, observably.
    for task in handles {
        assert!(task.is_finished());
        assert!(
            task.join().is_ok(),
            "their bodies completed before being superseded"
        );
    }
}

#[test]
fn cancel_previous_cancels_an_active_task_of_the_name() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let log = Log::new();
    let gate = Gate::new();
    let g = gate.clone();
    let cancelled_signals = Arc::new(AtomicUsize::new(0));
    let c = cancelled_signals.clone();
    manager.signals().task_cancelled.connect(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    let old = manager
        .task(move |ctx| {
            g.wait();
            assert!(ctx.is_cancelled());
            Ok::<_, AppError>("old")
        })
        .name("preview")
        .exclusive(Exclusive::CancelPrevious)
        .on_complete({
            let l = log.clone();
            move |v| l.push(v)
        })
        .on_cancelled(log.recorder("old cancelled"))
        .start();
    eventually("old running", || old.state() == TaskState::Running);
    let l = log.clone();
    let new = manager
        .task(|_| Ok::<_, AppError>("new"))
        .name("preview")
        .exclusive(Exclusive::CancelPrevious)
        .on_complete(move |v| l.push(v))
        .start();
    assert!(old.is_cancelled(), "superseded at once");
    gate.open();
    assert!(old.join().unwrap_err().is_cancelled());
    new.join().unwrap();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(
        log.events(),
        ["new"],
        "the superseded task delivers nothing"
    );
    assert_eq!(
        cancelled_signals.load(Ordering::SeqCst),
        1,
        "but the manager sees it end"
    );
}

#[test]
fn cancel_previous_only_affects_tasks_of_the_same_name() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 4);
    let log = Log::new();
    for name in ["a", "b", "a"] {
        let l = log.clone();
        let task = manager
            .task(move |_| Ok::<_, AppError>(name))
            .name(name)
            .exclusive(Exclusive::CancelPrevious)
            .on_complete(move |v| l.push(v))
            .start();
        assert!(task.wait_for(PATIENCE));
    }
    assert!(ui.run_until_idle(&manager, PATIENCE));
    let mut events = log.events();
    events.sort();
    assert_eq!(events, ["a", "b"]);
}

#[test]
fn skip_if_active_cancels_the_newcomer() {
    let manager = TaskManager::new(2);
    let gate = Gate::new();
    let g = gate.clone();
    let first = manager
        .task(move |_| {
            g.wait();
            Ok::<_, AppError>(1)
        })
        .name("refresh")
        .exclusive(Exclusive::SkipIfActive)
        .start();
    eventually("first running", || first.state() == TaskState::Running);

    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let log = Log::new();
    let second = manager
        .task(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(2)
        })
        .name("refresh")
        .exclusive(Exclusive::SkipIfActive)
        .on_cancelled(log.recorder("second skipped"))
        .start();
    assert_eq!(second.state(), TaskState::Cancelled, "cancelled at once");
    assert_eq!(log.events(), ["second skipped"]);
    assert!(second.join().unwrap_err().is_cancelled());

    gate.open();
    assert_eq!(first.join().unwrap(), 1);
    assert!(manager.wait_for_all(PATIENCE));
    let third = manager
        .task(|_| Ok::<_, AppError>(3))
        .name("refresh")
        .exclusive(Exclusive::SkipIfActive)
        .start();
    assert_eq!(
        third.join().unwrap(),
        3,
        "runs once no task of the name is active"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// Regression: a superseded task whose terminal event arrives after the newest task of its
/// name has fully settled must stay silent (it used to be "forgotten" and delivered).
#[test]
fn repro_superseded_task_stays_silent_after_the_newest_settles() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let log = Log::new();
    let gate = Gate::new();
    let g = gate.clone();
    let old = manager
        .task(move |_| {
            g.wait();
            Ok::<_, AppError>(())
        })
        .name("query")
        .exclusive(Exclusive::CancelPrevious)
        .on_started(log.recorder("old started"))
        .on_cancelled(log.recorder("old cancelled"))
        .on_complete({
            let l = log.clone();
            move |()| l.push("old completed")
        })
        .start();
    // Its "started" is delivered before anything supersedes it.
    assert!(ui.run_until(|| log.len() == 1, PATIENCE));

    let l = log.clone();
    let new = manager
        .task(|_| Ok::<_, AppError>(()))
        .name("query")
        .exclusive(Exclusive::CancelPrevious)
        .on_complete(move |()| l.push("new completed"))
        .start();
    new.join().unwrap();
    assert!(
        ui.run_until(|| log.len() == 2, PATIENCE),
        "the newest settles first"
    );

    gate.open();
    assert!(old.join().unwrap_err().is_cancelled());
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(log.events(), ["old started", "new completed"]);
}
