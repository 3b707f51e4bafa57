//! Errors as applications give them their kind: `map_error`, `downcast_ref`, `io::Error`
//! kinds through `?`, boxed errors (DESIGN.md, version 2 "Errors").

mod common;

use std::sync::{Arc, Mutex};

use common::{eventually, PATIENCE};
use task_runtime::{codes, AppError, Category, EventLoop, TaskError, TaskManager};

#[derive(Debug, thiserror::Error)]
#[error("document {0} is locked")]
struct Locked(String);

/// The manager every test here uses: `Locked` becomes `ERR_DOC_LOCKED`, panics get a friendly
/// user message, and the mapper counts its calls.
fn mapping_manager(
    ui: &EventLoop,
    calls: &Arc<Mutex<Vec<String>>>,
    heard: &Arc<Mutex<Vec<AppError>>>,
) -> TaskManager {
    let (calls, heard) = (calls.clone(), heard.clone());
    TaskManager::builder()
        .dispatcher(ui.dispatcher())
        .error_handler(move |err| heard.lock().unwrap().push(err.clone()))
        .map_error(move |err| {
            calls.lock().unwrap().push(err.code().to_owned());
            if let Some(Locked(name)) = err.downcast_ref::<Locked>() {
                return AppError::new("ERR_DOC_LOCKED", err.message())
                    .with_category(Category::Permission)
                    .with_user_message(format!("{name} is open elsewhere."));
            }
            if err.code() == codes::ERR_TASK_PANICKED {
                return err.with_user_message("Something went wrong.");
            }
            err
        })
        .build()
        .unwrap()
}

#[test]
fn map_error_reaches_join_on_error_the_handler_and_task_failed() {
    let ui = EventLoop::new();
    let (calls, heard) = (Arc::default(), Arc::default());
    let manager = mapping_manager(&ui, &calls, &heard);
    let signalled = Arc::new(Mutex::new(Vec::new()));
    let s = signalled.clone();
    manager.signals().task_failed.connect(move |(_, err)| {
        s.lock().unwrap().push(err.code().to_owned());
    });

    let on_error = Arc::new(Mutex::new(None));
    let o = on_error.clone();
    let with_callback = manager
        .task(|_| -> Result<(), Locked> { Err(Locked("a.md".into())) })
        .name("save")
        .on_error(move |err| *o.lock().unwrap() = Some(err))
        .start();
    let without = manager
        .task(|_| -> Result<(), Locked> { Err(Locked("b.md".into())) })
        .name("save")
        .start();
    let panicking = manager
        .task(|_| -> Result<(), AppError> { panic!("index out of range") })
        .name("plugin")
        .start();

    assert!(ui.run_until_idle(&manager, PATIENCE));
    for task in [with_callback, without] {
        let err = task.join().unwrap_err().into_app_error();
        assert_eq!(err.code(), "ERR_DOC_LOCKED");
        assert_eq!(
            err.context()["task"],
            "save",
            "the mapped error keeps its task"
        );
    }
    let on_error = on_error.lock().unwrap().clone().expect("on_error ran");
    assert_eq!(on_error.user_message(), "a.md is open elsewhere.");
    let heard: Vec<_> = heard
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.code().to_owned())
        .collect();
    assert_eq!(heard, ["ERR_DOC_LOCKED", codes::ERR_TASK_PANICKED]);
    let panicked = panicking.join().unwrap_err().into_app_error();
    assert_eq!(panicked.user_message(), "Something went wrong.");
    assert_eq!(panicked.context()["task"], "plugin");
    eventually("three task_failed signals", || {
        signalled.lock().unwrap().len() == 3
    });
    assert_eq!(
        *signalled.lock().unwrap(),
        ["ERR_DOC_LOCKED", "ERR_DOC_LOCKED", codes::ERR_TASK_PANICKED]
    );
    assert_eq!(calls.lock().unwrap().len(), 3, "once per failed task");
}

#[test]
fn map_error_leaves_cancellations_and_values_alone() {
    let ui = EventLoop::new();
    let (calls, heard) = (Arc::default(), Arc::default());
    let manager = mapping_manager(&ui, &calls, &heard);
    let gate = common::Gate::new();
    let g = gate.clone();
    let cancelled = manager.spawn(move |ctx| {
        g.wait();
        ctx.check_cancelled()?;
        Ok::<_, AppError>(())
    });
    let value = manager.spawn(|_| Ok::<_, AppError>(5));
    common::eventually("the gated task to run", || {
        cancelled.state() == task_runtime::TaskState::Running
    });
    cancelled.cancel();
    gate.open();
    assert!(matches!(cancelled.join(), Err(TaskError::Cancelled)));
    assert_eq!(value.join().unwrap(), 5);
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert!(
        calls.lock().unwrap().is_empty(),
        "{:?}",
        calls.lock().unwrap()
    );
}

#[test]
fn a_panicking_map_error_keeps_the_error_unmapped_and_is_reported() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    let manager = TaskManager::builder()
        .error_handler(move |err| h.lock().unwrap().push(err.code().to_owned()))
        .map_error(|_| panic!("mapper bug"))
        .build()
        .unwrap();
    let err = manager
        .spawn(|_| -> Result<(), AppError> { Err(AppError::new("ERR_MINE", "x")) })
        .join()
        .unwrap_err()
        .into_app_error();
    assert_eq!(err.code(), "ERR_MINE");
    assert!(err.context().contains_key("task"));
    eventually("both reports", || heard.lock().unwrap().len() == 2);
    let mut heard = heard.lock().unwrap().clone();
    heard.sort();
    assert_eq!(heard, [codes::ERR_CALLBACK_PANICKED, "ERR_MINE"]);
}

#[test]
fn io_errors_keep_their_kind_through_a_task() {
    let manager = TaskManager::new(1);
    let err = manager
        .task(|_| std::fs::read_to_string("/definitely/not/here.toml"))
        .on_error(|_| {})
        .start()
        .join()
        .unwrap_err()
        .into_app_error();
    assert_eq!(err.code(), codes::ERR_FILE_NOT_FOUND);
    assert_eq!(err.category(), Category::FileNotFound);
    assert!(
        err.message().starts_with("Background task failed: "),
        "{}",
        err.message()
    );
    let io = err
        .downcast_ref::<std::io::Error>()
        .expect("the original error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn boxed_errors_convert_with_question_mark() {
    fn parse(text: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
        Ok(text.parse::<u32>()?)
    }
    let manager = TaskManager::new(1);
    let err = manager
        .task(|_| -> Result<u32, AppError> { Ok(parse("seven")?) })
        .on_error(|_| {})
        .start()
        .join()
        .unwrap_err()
        .into_app_error();
    assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
    assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
    // A body may also return the boxed error type itself.
    let task = manager.task(|_| parse("8")).start();
    assert_eq!(task.join().unwrap(), 8);
}
