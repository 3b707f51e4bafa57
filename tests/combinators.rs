//! Combinators (`when_all`, `when_any`, `when_each`): tasks that wait for many others
//! without a worker, with the rules of DESIGN.md (guarantee 14).

mod common;

use std::time::Duration;

use common::{eventually, Gate, PATIENCE};
use task_runtime::{codes, AppError, EventLoop, Task, TaskError, TaskManager, TaskState};

/// A task that completes with `value` once `gate` opens.
fn after(manager: &TaskManager, gate: &Gate, value: u32) -> Task<u32> {
    let gate = gate.clone();
    manager.spawn(move |_| {
        gate.wait();
        Ok::<_, AppError>(value)
    })
}

/// A task that runs until it is cancelled.
fn endless(manager: &TaskManager) -> Task<u32> {
    manager.spawn_async(|ctx| async move {
        ctx.cancelled().await;
        Ok::<_, AppError>(0)
    })
}

fn failing(manager: &TaskManager, name: &str, code: &'static str) -> Task<u32> {
    manager
        .task(move |_| Err::<u32, _>(AppError::new(code, "broken")))
        .name(name)
        .start()
}

#[test]
fn when_all_gives_every_value_in_input_order() {
    let manager = TaskManager::new(3);
    let (first, second) = (Gate::new(), Gate::new());
    let inputs = vec![after(&manager, &first, 1), after(&manager, &second, 2)];
    let all = manager.when_all(inputs).start();
    second.open(); // the second ends first
    std::thread::sleep(Duration::from_millis(5));
    first.open();
    assert_eq!(all.join().unwrap(), [1, 2]);
}

#[test]
fn when_all_ends_with_the_first_failure_as_it_is_and_cancels_the_others() {
    let manager = TaskManager::new(3);
    let running = endless(&manager);
    let running_id = running.id();
    let inputs = vec![running, failing(&manager, "load", "ERR_LOAD")];
    let all = manager.when_all(inputs).name("all").start();
    match all.join() {
        Err(TaskError::Failed(error)) => {
            assert_eq!(error.code(), "ERR_LOAD");
            assert_eq!(
                error.context().get("task").map(String::as_str),
                Some("load")
            );
        }
        other => panic!("expected the input's failure, got {other:?}"),
    }
    eventually("the other input to be cancelled", || {
        manager.tasks().iter().all(|t| t.id != running_id)
    });
}

#[test]
fn when_all_over_a_cancelled_input_is_cancelled() {
    let manager = TaskManager::new(2);
    let cancelled = endless(&manager);
    let other = endless(&manager);
    let other_id = other.id();
    let to_cancel = cancelled.id();
    let all = manager.when_all(vec![cancelled, other]).start();
    assert!(manager.cancel(to_cancel));
    assert!(matches!(all.join(), Err(TaskError::Cancelled)));
    eventually("the other input to be cancelled", || {
        manager.tasks().iter().all(|t| t.id != other_id)
    });
}

#[test]
fn the_empty_cases() {
    let manager = TaskManager::new(1);
    let none: Vec<Task<u32>> = Vec::new();
    assert_eq!(
        manager.when_all(none).start().join().unwrap(),
        Vec::<u32>::new()
    );
    match manager.when_any(Vec::<Task<u32>>::new()).start().join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_NO_TASKS),
        other => panic!("expected ERR_NO_TASKS, got {other:?}"),
    }
    let each = manager.when_each(Vec::<Task<u32>>::new()).start();
    assert!(each.wait_for(PATIENCE));
    assert!(each.take_items().is_empty());
    assert!(each.join().is_ok());
}

#[test]
fn when_any_takes_the_first_completion_and_cancels_the_rest() {
    let manager = TaskManager::new(3);
    let slow = endless(&manager);
    let slow_id = slow.id();
    let inputs = vec![
        slow,
        failing(&manager, "broken", "ERR_X"),
        manager.spawn(|_| Ok::<_, AppError>(7)),
    ];
    let (index, value) = manager.when_any(inputs).start().join().unwrap();
    assert_eq!((index, value), (2, 7));
    eventually("the slow input to be cancelled", || {
        manager.tasks().iter().all(|t| t.id != slow_id)
    });
}

#[test]
fn when_any_without_a_completion_fails_with_the_last_failure_or_is_cancelled() {
    let manager = TaskManager::new(2);
    let gate = Gate::new();
    let late = {
        let gate = gate.clone();
        manager
            .task(move |_| {
                gate.wait();
                Err::<u32, _>(AppError::new("ERR_LATE", "later"))
            })
            .name("late")
            .start()
    };
    let early = failing(&manager, "early", "ERR_EARLY");
    let cancelled = endless(&manager);
    cancelled.cancel();
    let any = manager.when_any(vec![late, early, cancelled]).start();
    eventually("the early failure and the cancel to be recorded", || {
        any.state() == TaskState::Running
    });
    std::thread::sleep(Duration::from_millis(10));
    gate.open();
    match any.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), "ERR_LATE"),
        other => panic!("expected the last failure, got {other:?}"),
    }

    let (a, b) = (endless(&manager), endless(&manager));
    a.cancel();
    b.cancel();
    assert!(matches!(
        manager.when_any(vec![a, b]).start().join(),
        Err(TaskError::Cancelled)
    ));
}

#[test]
fn when_each_publishes_every_outcome_as_it_comes_on_the_ui_thread() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let inputs = vec![
        manager.spawn(|_| Ok::<_, AppError>(1u32)),
        failing(&manager, "broken", "ERR_X"),
        endless(&manager),
    ];
    inputs[2].cancel();
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let into = seen.clone();
    let each = manager
        .when_each(inputs)
        .local()
        .on_items(move |batch| {
            for (index, outcome) in batch {
                let word = match outcome {
                    Ok(value) => format!("{index}:ok {value}"),
                    Err(TaskError::Failed(error)) => format!("{index}:failed {}", error.code()),
                    Err(TaskError::Cancelled) => format!("{index}:cancelled"),
                };
                into.borrow_mut().push(word);
            }
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(each.join().is_ok());
    let mut seen = seen.borrow().clone();
    seen.sort();
    assert_eq!(seen, ["0:ok 1", "1:failed ERR_X", "2:cancelled"]);
}

#[test]
fn cancelling_a_combinator_cancels_its_inputs() {
    let manager = TaskManager::new(2);
    let inputs = vec![endless(&manager), endless(&manager)];
    let ids: Vec<_> = inputs.iter().map(Task::id).collect();
    let all = manager.when_all(inputs).start();
    let each = manager.when_each(vec![endless(&manager)]).start();
    assert!(all.cancel());
    assert!(each.cancel());
    assert!(matches!(all.join(), Err(TaskError::Cancelled)));
    eventually("the inputs to be cancelled", || {
        manager.tasks().iter().all(|t| !ids.contains(&t.id))
    });
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn a_combinator_waits_without_a_worker_on_a_manager_of_one_thread() {
    let manager = TaskManager::new(1);
    let inputs: Vec<_> = (0..3)
        .map(|i| manager.spawn(move |_| Ok::<_, AppError>(i)))
        .collect();
    let combined = manager.when_all(inputs).start();
    // The combinator started first would hold the only worker if it blocked.
    let any = manager
        .when_any(vec![manager.spawn(|_| Ok::<_, AppError>(9))])
        .start();
    assert_eq!(combined.join().unwrap(), [0, 1, 2]);
    assert_eq!(any.join().unwrap(), (0, 9));
}

#[test]
fn inputs_may_belong_to_another_manager_and_a_scope_holds_the_combinator() {
    let here = TaskManager::new(1);
    let there = TaskManager::new(1);
    let scope = here.scope();
    let inputs = vec![there.spawn(|_| Ok::<_, AppError>(1)), endless(&there)];
    let all = scope.when_all(inputs).start();
    assert_eq!(scope.active_count(), 1);
    assert_eq!(scope.cancel(), 1);
    assert!(matches!(all.join(), Err(TaskError::Cancelled)));
    assert!(
        there.wait_for_all(PATIENCE),
        "the input of the other manager was cancelled"
    );
}

#[test]
fn ten_thousand_inputs() {
    let manager = TaskManager::new(2);
    let inputs: Vec<_> = (0..10_000u32)
        .map(|i| manager.spawn(move |_| Ok::<_, AppError>(i)))
        .collect();
    let all = manager.when_all(inputs).start();
    let values = all.join().unwrap();
    assert_eq!(values.len(), 10_000);
    assert!(values.iter().enumerate().all(|(i, v)| *v as usize == i));
}

#[test]
fn a_combinator_is_running_from_its_start_even_with_every_worker_busy() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let busy = common::occupy(&manager, &gate);
    let log = common::Log::new();
    let all = manager
        .when_all(vec![manager.spawn(|_| Ok::<_, AppError>(1))])
        .on_started(log.recorder("started"))
        .start();
    assert_eq!(all.state(), TaskState::Running);
    let any = manager
        .when_any(vec![manager.spawn(|_| Ok::<_, AppError>(2))])
        .start();
    assert_eq!(any.state(), TaskState::Running);
    let cancelled = manager.when_each(vec![endless(&manager)]).start();
    assert_eq!(cancelled.state(), TaskState::Running);
    assert!(cancelled.cancel());
    assert!(
        cancelled.is_finished(),
        "a combinator waiting for its first poll is decided at once"
    );
    gate.open();
    busy.join().unwrap();
    assert_eq!(all.join().unwrap(), [1]);
    assert_eq!(any.join().unwrap(), (0, 2));
    eventually("on_started", || log.count("started") == 1);
}
