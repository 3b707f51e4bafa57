//! Continuations (`Task::then`, `then_async`, `then_result`): tasks of their antecedent's
//! manager that wait for it without a worker, pass a failure or a cancellation on as it is,
//! and cancel the chain in both directions (guarantee 14).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{codes, AppError, TaskError, TaskManager, TaskState, TestClock};

fn counter() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    (Arc::clone(&count), count)
}

#[test]
fn a_chain_of_three_completes_on_a_manager_of_one_thread() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let opened = gate.clone();
    let load = manager.spawn(move |_| {
        opened.wait();
        Ok::<_, AppError>("1 2 3".to_owned())
    });
    let parse = load
        .then(|_, text| {
            text.split(' ')
                .map(|n| n.parse::<u64>().map_err(AppError::from))
                .collect::<Result<Vec<_>, _>>()
        })
        .start();
    let render = parse
        .then_async(|_, numbers| async move {
            Ok::<_, AppError>(format!("{}", numbers.iter().sum::<u64>()))
        })
        .start();
    let shown = render
        .then(|_, text| Ok::<_, AppError>(text + " shown"))
        .start();
    gate.open();
    assert_eq!(shown.join().unwrap(), "6 shown");
}

#[test]
fn a_continuation_is_queued_until_its_antecedent_ends_and_holds_no_worker() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let opened = gate.clone();
    // The antecedent waits without a worker: an async body on a signal of the test's.
    let (send, receive) = std::sync::mpsc::channel::<()>();
    let receive = Arc::new(std::sync::Mutex::new(receive));
    let head = manager.spawn_async(move |ctx| async move {
        while receive.lock().unwrap().try_recv().is_err() {
            ctx.sleep(Duration::from_millis(1)).await;
        }
        Ok::<_, AppError>(2)
    });
    let log = Log::new();
    let tail = head
        .then(|_, n| Ok::<_, AppError>(n * 21))
        .on_started(log.recorder("started"))
        .start();
    assert_eq!(tail.state(), TaskState::Queued);
    // The one worker is free for other work while the chain waits.
    let other = manager.spawn(move |_| {
        opened.open();
        Ok::<_, AppError>(())
    });
    other.join().unwrap();
    gate.wait();
    assert_eq!(
        tail.state(),
        TaskState::Queued,
        "still waiting for its antecedent"
    );
    assert!(
        log.events().is_empty(),
        "on_started waits for the antecedent"
    );
    send.send(()).unwrap();
    assert_eq!(tail.join().unwrap(), 42);
    eventually("on_started after the antecedent", || {
        log.count("started") == 1
    });
}

#[test]
fn a_failure_passes_on_unchanged_and_is_mapped_once() {
    let (maps, mapped) = counter();
    let manager = TaskManager::builder()
        .max_threads(1)
        .map_error(move |error| {
            maps.fetch_add(1, Ordering::SeqCst);
            error.with_context("mapped", "yes")
        })
        .build()
        .unwrap();
    let (runs, ran) = counter();
    let head = manager
        .task(|_| Err::<u32, _>(AppError::new("ERR_LOAD", "no such file")))
        .name("load")
        .start();
    let tail = head
        .then(move |_, n| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(n + 1)
        })
        .name("parse")
        .start();
    let error = match tail.join() {
        Err(TaskError::Failed(error)) => error,
        other => panic!("expected the antecedent's failure, got {other:?}"),
    };
    assert_eq!(error.code(), "ERR_LOAD");
    assert_eq!(
        error.context().get("task").map(String::as_str),
        Some("load")
    );
    assert_eq!(
        error.context().get("mapped").map(String::as_str),
        Some("yes")
    );
    assert_eq!(mapped.load(Ordering::SeqCst), 1, "map_error runs once");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "f never runs after a failure"
    );
}

#[test]
fn cancelling_the_antecedent_cancels_what_follows_and_f_never_runs() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let busy = common::occupy(&manager, &gate);
    let head = manager.spawn(|_| Ok::<_, AppError>(1));
    let head_id = head.id();
    let (runs, ran) = counter();
    let middle = head
        .then(move |_, n| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(n)
        })
        .start();
    let log = Log::new();
    let tail = middle
        .then(|_, n| Ok::<_, AppError>(n))
        .on_cancelled(log.recorder("tail cancelled"))
        .start();
    assert!(manager.cancel(head_id));
    gate.open();
    busy.join().unwrap();
    assert!(matches!(tail.join(), Err(TaskError::Cancelled)));
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    eventually("the tail's on_cancelled", || {
        log.count("tail cancelled") == 1
    });
}

#[test]
fn a_cancel_of_the_head_decides_the_continuations_before_it_returns() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let busy = common::occupy(&manager, &gate);
    let head = manager.spawn(|_| Ok::<_, AppError>(1));
    let head_id = head.id();
    let middle = head.then(|_, n| Ok::<_, AppError>(n + 1)).start();
    let tail = middle.then(|_, n| Ok::<_, AppError>(n + 1)).start();
    assert!(manager.cancel(head_id));
    assert!(tail.is_finished(), "decided inside the head's cancel()");
    assert!(matches!(tail.join(), Err(TaskError::Cancelled)));
    gate.open();
    busy.join().unwrap();
}

#[test]
fn cancelling_the_tail_cancels_the_whole_chain() {
    let manager = TaskManager::new(2);
    let started = Gate::new();
    let running = started.clone();
    let head = manager.spawn(move |ctx| {
        running.open();
        common::spin_until_cancelled(ctx);
        ctx.check_cancelled()?;
        Ok::<_, AppError>(1)
    });
    let head_id = head.id();
    let middle = head.then(|_, n| Ok::<_, AppError>(n + 1)).start();
    let middle_id = middle.id();
    let tail = middle.then(|_, n| Ok::<_, AppError>(n + 1)).start();
    started.wait();
    assert!(tail.cancel());
    assert!(matches!(tail.join(), Err(TaskError::Cancelled)));
    assert!(
        manager.tasks().iter().all(|t| t.id != middle_id),
        "the middle was queued: cancelled at once"
    );
    eventually("the running head to stop", || {
        manager.tasks().iter().all(|t| t.id != head_id)
    });
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn then_result_runs_on_every_outcome() {
    let manager = TaskManager::new(1);
    let failed = manager.spawn(|_| Err::<u32, _>(AppError::new("ERR_X", "broken")));
    let recovered = failed
        .then_result(|_, outcome| match outcome {
            Err(TaskError::Failed(error)) => {
                Ok::<_, AppError>(format!("recovered {}", error.code()))
            }
            other => panic!("expected a failure, got {other:?}"),
        })
        .start();
    assert_eq!(recovered.join().unwrap(), "recovered ERR_X");

    let gate = Gate::new();
    let busy = common::occupy(&manager, &gate);
    let cancelled = manager.spawn(|_| Ok::<_, AppError>(1u32));
    cancelled.cancel();
    let seen = cancelled
        .then_result(|_, outcome| Ok::<_, AppError>(matches!(outcome, Err(TaskError::Cancelled))))
        .start();
    gate.open();
    busy.join().unwrap();
    assert!(seen.join().unwrap(), "then_result sees the cancellation");
}

#[test]
fn the_continuation_joins_its_antecedents_scope_unless_told_otherwise() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let busy = common::occupy(&manager, &gate);
    let panel = manager.scope();
    let elsewhere = manager.scope();
    let head = panel.spawn(|_| Ok::<_, AppError>(1));
    let stays = head.then(|_, n| Ok::<_, AppError>(n)).start();
    let head2 = panel.spawn(|_| Ok::<_, AppError>(1));
    let moved = head2
        .then(|_, n| Ok::<_, AppError>(n))
        .scope(&elsewhere)
        .start();
    assert_eq!(
        panel.active_count(),
        3,
        "two heads and the continuation that stays"
    );
    assert_eq!(elsewhere.active_count(), 1);
    assert_eq!(panel.cancel(), 3);
    assert!(matches!(stays.join(), Err(TaskError::Cancelled)));
    // Its head was cancelled, so the moved one is too: a cancel travels along the chain.
    assert!(matches!(moved.join(), Err(TaskError::Cancelled)));
    gate.open();
    busy.join().unwrap();
}

#[test]
fn a_continuations_timeout_counts_from_its_start_and_cancels_the_chain() {
    let manager = TaskManager::new(2);
    let head = manager.spawn(|ctx| {
        common::spin_until_cancelled(ctx);
        ctx.check_cancelled()?;
        Ok::<_, AppError>(1)
    });
    let head_id = head.id();
    let tail = head
        .then(|_, n| Ok::<_, AppError>(n))
        .timeout(Duration::from_millis(30))
        .start();
    match tail.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        other => panic!("expected a timeout, got {other:?}"),
    }
    eventually("the head to be cancelled by the tail's timeout", || {
        manager.tasks().iter().all(|t| t.id != head_id)
    });
}

#[test]
#[should_panic(expected = "after the task's result was taken")]
fn then_after_the_outcome_was_taken_panics() {
    let manager = TaskManager::new(1);
    let mut head = manager.spawn(|_| Ok::<_, AppError>(1));
    assert!(head.wait_for(PATIENCE));
    let _ = head.try_take();
    let _ = head.then(|_, n| Ok::<_, AppError>(n));
}

#[test]
fn a_dropped_builder_detaches_the_antecedent() {
    let manager = TaskManager::new(1);
    let log = Log::new();
    let done = log.clone();
    let head = manager.spawn(move |_| {
        done.push("head ran");
        Ok::<_, AppError>(1)
    });
    drop(head.then(|_, n| Ok::<_, AppError>(n)));
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(log.events(), ["head ran"]);
}

#[test]
fn a_continuation_of_a_task_whose_manager_is_gone_is_cancelled_at_start() {
    let manager = TaskManager::new(1);
    let head = manager.spawn(|_| Ok::<_, AppError>(1));
    assert!(head.wait_for(PATIENCE));
    drop(manager);
    let tail = head.then(|_, n| Ok::<_, AppError>(n)).start();
    assert!(tail.is_finished());
    assert!(matches!(tail.join(), Err(TaskError::Cancelled)));
}

#[test]
fn a_manual_manager_runs_a_chain_with_run_all_and_join() {
    let clock = TestClock::new();
    let manager = common::manual_on(&clock);
    let head = manager.spawn(|_| Ok::<_, AppError>(20));
    let tail = head.then(|_, n| Ok::<_, AppError>(n + 1)).start();
    let last = tail
        .then_async(|ctx, n| async move {
            ctx.sleep(Duration::from_millis(10)).await;
            Ok::<_, AppError>(n * 2)
        })
        .start();
    manager.run_all();
    assert!(!last.is_finished(), "sleeping on the test clock");
    clock.advance(Duration::from_millis(10));
    manager.run_all();
    assert_eq!(last.join().unwrap(), 42);

    // `join` on the continuation drives the antecedent too.
    let head = manager.spawn(|_| Ok::<_, AppError>(1));
    let tail = head.then(|_, n| Ok::<_, AppError>(n + 1)).start();
    assert_eq!(tail.join().unwrap(), 2);
}

#[test]
fn a_continuation_of_another_managers_task_runs_on_that_manager() {
    let first = TaskManager::builder()
        .thread_name("first")
        .max_threads(1)
        .build()
        .unwrap();
    let head = first.spawn(|_| Ok::<_, AppError>(1));
    let tail = head
        .then(|_, n| {
            let thread = std::thread::current();
            Ok::<_, AppError>((n, thread.name().unwrap_or("").to_owned()))
        })
        .start();
    let (n, thread) = tail.join().unwrap();
    assert_eq!(n, 1);
    assert!(thread.starts_with("first"), "ran on {thread}");
}

/// A chain built in a loop, as `for step in steps { task = task.then(..) }` does: a cancel
/// travels its whole length, from either end, and a failure from the head, without a stack
/// frame per step.
#[test]
fn a_cancel_travels_a_chain_of_a_hundred_thousand_steps_from_either_end() {
    const STEPS: usize = 100_000;
    let manager = TaskManager::new(1);
    for end in ["head cancelled", "tail cancelled", "head failed"] {
        // The head waits in the queue behind a task that holds the only worker.
        let gate = Gate::new();
        let busy = common::occupy(&manager, &gate);
        let fails = end == "head failed";
        let head = manager.spawn(move |_| match fails {
            true => Err(AppError::new("ERR_LOAD", "broken")),
            false => Ok::<_, AppError>(0usize),
        });
        let head_id = head.id();
        let mut tail = head;
        for _ in 0..STEPS {
            tail = tail.then(|_, n| Ok::<_, AppError>(n + 1)).start();
        }
        match end {
            "head cancelled" => assert!(manager.cancel(head_id)),
            "tail cancelled" => assert!(tail.cancel()),
            _ => gate.open(),
        }
        if !fails {
            assert!(
                tail.is_finished(),
                "the whole chain is decided inside cancel()"
            );
            assert_eq!(manager.active_count(), 1, "only the busy task is left");
        }
        match tail.join() {
            Err(TaskError::Failed(error)) if fails => assert_eq!(error.code(), "ERR_LOAD"),
            Err(TaskError::Cancelled) if !fails => {}
            other => panic!("{end}: {other:?}"),
        }
        gate.open();
        busy.join().unwrap();
        assert!(manager.wait_for_all(PATIENCE));
    }
}

/// A failure passed on along a chain reaches the error handler once, where it happened; the
/// continuations' own `on_error` still hear it.
#[test]
fn a_failure_passed_along_a_chain_reaches_the_error_handler_once() {
    let (reports, reported) = counter();
    let manager = TaskManager::builder()
        .max_threads(1)
        .error_handler(move |_| {
            reports.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let log = Log::new();
    let head = manager.spawn(|_| Err::<u32, _>(AppError::new("ERR_LOAD", "broken")));
    let middle = head.then(|_, n| Ok::<_, AppError>(n)).start();
    let tail = middle
        .then(|_, n| Ok::<_, AppError>(n))
        .on_error({
            let log = log.clone();
            move |error| log.push(error.code().to_owned())
        })
        .start();
    assert!(tail.wait_for(PATIENCE));
    assert!(manager.wait_for_all(PATIENCE));
    eventually("the tail's on_error", || log.count("ERR_LOAD") == 1);
    assert_eq!(reported.load(Ordering::SeqCst), 1, "once, for the head");
    // A new failure of the same kind is a new error: reported again.
    let again = manager.spawn(|_| Err::<u32, _>(AppError::new("ERR_LOAD", "broken")));
    assert!(again.wait_for(PATIENCE));
    eventually("the second failure reported", || {
        reported.load(Ordering::SeqCst) == 2
    });
}
