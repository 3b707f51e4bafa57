//! `BackgroundMethod`: one configuration, many calls.

mod common;

use std::sync::{Arc, Mutex};

use common::PATIENCE;
use task_runtime::{AppError, BackgroundMethod, EventLoop, Progress, TaskManager};

#[test]
fn reusable_with_callbacks_on_a_chosen_manager() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let results = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::new(Mutex::new(Vec::new()));
    let (r, e, p) = (results.clone(), errors.clone(), progress.clone());
    let square = BackgroundMethod::new("square", |ctx, n: i64| {
        ctx.set_progress(1, 1);
        if n < 0 {
            return Err(AppError::new("ERR_NEGATIVE", format!("{n} is negative")));
        }
        Ok(n * n)
    })
    .on_complete(move |v| r.lock().unwrap().push(v))
    .on_error(move |err| e.lock().unwrap().push(err.code().to_owned()))
    .on_progress(move |pr: Progress| p.lock().unwrap().push(pr.current))
    .manager(&manager);
    assert_eq!(square.name(), "square");

    let tasks: Vec<_> = [3, -1, 4].into_iter().map(|n| square.call(n)).collect();
    for task in &tasks {
        assert_eq!(task.name(), "square");
    }
    assert!(ui.run_until_idle(&manager, PATIENCE));
    let mut values = results.lock().unwrap().clone();
    values.sort();
    assert_eq!(values, [9, 16]);
    assert_eq!(*errors.lock().unwrap(), ["ERR_NEGATIVE"]);
    assert_eq!(progress.lock().unwrap().len(), 3);
}

#[test]
fn without_on_complete_calls_return_the_value() {
    let manager = TaskManager::new(1);
    let upper = BackgroundMethod::new("upper", |_ctx, s: String| {
        Ok::<_, AppError>(s.to_uppercase())
    })
    .manager(&manager);
    let copy = upper.clone();
    assert_eq!(upper.call("a".into()).join().unwrap(), "A");
    assert_eq!(copy.call("b".into()).join().unwrap(), "B");
}

#[test]
fn uses_the_global_manager_by_default() {
    let tuple = BackgroundMethod::new("add", |_ctx, (a, b): (u32, u32)| Ok::<_, AppError>(a + b));
    let task = tuple.call((2, 3));
    assert_eq!(task.name(), "add");
    assert_eq!(task.join().unwrap(), 5);
}
