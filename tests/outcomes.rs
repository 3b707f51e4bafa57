//! Outcomes as the handle sees them: values, errors (converted, kept, panics), and the
//! exactly-once guarantee under a mixed load (guarantee 1).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::PATIENCE;
use task_runtime::{codes, AppError, Category, Severity, TaskError, TaskManager, TaskState};

#[test]
fn smoke_value_returned() {
    let manager = TaskManager::new(2);
    let task = manager.spawn(|_| Ok::<_, AppError>(vec![1, 2, 3]));
    assert_eq!(task.join().unwrap(), vec![1, 2, 3]);
}

/// Hand-written std errors, so the test does not depend on how a derive formats them.
#[derive(Debug)]
struct DiskFull;

impl std::error::Error for DiskFull {}

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}

#[derive(Debug)]
struct WriteFailed(DiskFull);

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not write report.pdf")
    }
}

impl std::error::Error for WriteFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn foreign_error_is_converted() {
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_| Err::<(), _>(WriteFailed(DiskFull)))
        .name("export")
        .on_error(|_| {}) // handled: keep the default handler quiet
        .start();
    let err = match task.join() {
        Err(TaskError::Failed(err)) => err,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
    assert_eq!(
        err.message(),
        "Background task failed: could not write report.pdf"
    );
    assert_eq!(
        err.details(),
        Some("could not write report.pdf\ncaused by: disk full")
    );
    assert_eq!(
        err.context().get("task").map(String::as_str),
        Some("export")
    );
    assert_eq!(
        err.source().unwrap().to_string(),
        "could not write report.pdf"
    );
    assert_eq!(
        err.to_string(),
        "[ERR_SYS_UNKNOWN] Background task failed: could not write report.pdf | Details: could \
         not write report.pdf\ncaused by: disk full | Context: {\"task\": \"export\"} | Caused \
         by: could not write report.pdf"
    );
}

#[test]
fn app_error_is_kept_with_task_context_added() {
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_| -> Result<(), AppError> {
            Err(AppError::new("ERR_PARSE_ROW", "row 3 is short")
                .with_user_message("The file is damaged.")
                .with_category(Category::Parse)
                .with_severity(Severity::Warning)
                .recoverable(false)
                .with_context("row", 3))
        })
        .name("import")
        .on_error(|_| {})
        .start();
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), "ERR_PARSE_ROW");
    assert_eq!(err.message(), "row 3 is short");
    assert_eq!(err.user_message(), "The file is damaged.");
    assert_eq!(err.category(), Category::Parse);
    assert_eq!(err.severity(), Severity::Warning);
    assert!(!err.is_recoverable());
    assert_eq!(err.context()["row"], "3");
    assert_eq!(err.context()["task"], "import");
}

#[test]
fn question_mark_works_in_bodies() {
    let manager = TaskManager::new(1);
    let ok = manager.spawn(|_| -> Result<i64, AppError> { Ok("42".parse::<i64>()?) });
    assert_eq!(ok.join().unwrap(), 42);

    let bad = manager
        .task(|_| -> Result<i64, AppError> { Ok("4x2".parse::<i64>()?) })
        .on_error(|_| {})
        .start();
    let err = bad.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
    assert!(err.message().contains("invalid digit"));
}

#[test]
fn body_with_a_custom_error_type() {
    #[derive(Debug)]
    enum LoadError {
        Missing(String),
    }
    impl From<LoadError> for AppError {
        fn from(e: LoadError) -> Self {
            match e {
                LoadError::Missing(p) => {
                    AppError::new(codes::ERR_FILE_NOT_FOUND, format!("{p} is missing"))
                        .with_category(Category::FileNotFound)
                }
            }
        }
    }
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_| Err::<(), _>(LoadError::Missing("a.txt".into())))
        .on_error(|_| {})
        .start();
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_FILE_NOT_FOUND);
    assert_eq!(err.category(), Category::FileNotFound);
}

#[test]
fn panic_becomes_a_critical_task_error() {
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_| -> Result<(), AppError> { panic!("index out of bounds: 7") })
        .name("crunch")
        .on_error(|_| {})
        .start();
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_TASK_PANICKED);
    assert_eq!(err.severity(), Severity::Critical);
    assert!(err.message().contains("index out of bounds: 7"), "{err}");
    assert_eq!(err.context()["task"], "crunch");
}

#[test]
fn non_string_panic_payload_is_reported() {
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_| -> Result<(), AppError> { std::panic::panic_any(17_u8) })
        .on_error(|_| {})
        .start();
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_TASK_PANICKED);
    assert!(err.message().contains("non-string panic payload"), "{err}");
}

#[test]
fn states_follow_the_outcome() {
    let manager = TaskManager::new(2);
    let ok = manager.spawn(|_| Ok::<_, AppError>(()));
    let failed = manager
        .task(|_| Err::<(), _>(AppError::new("E", "x")))
        .on_error(|_| {})
        .start();
    assert!(ok.wait_for(PATIENCE) && failed.wait_for(PATIENCE));
    assert_eq!(ok.state(), TaskState::Completed);
    assert_eq!(failed.state(), TaskState::Failed);
    assert!(ok.is_finished() && failed.is_finished());
    assert!(!ok.cancel(), "cancel reports false once finished");
    assert_eq!(ok.state(), TaskState::Completed);
}

/// 5,000 tasks that succeed, fail, panic or get cancelled (queued or running), with every
/// callback counted: each task must end exactly once, both in its callbacks and its handle.
#[test]
fn mixed_stress_every_task_ends_exactly_once() {
    const N: usize = 5_000;
    let manager = TaskManager::builder()
        .max_threads(4)
        .error_handler(|_| {})
        .build()
        .unwrap();
    let ends: Arc<Mutex<HashMap<usize, Vec<&'static str>>>> = Arc::default();
    let mut tasks = Vec::with_capacity(N);
    for i in 0..N {
        let record = |what: &'static str| {
            let ends = ends.clone();
            move || ends.lock().unwrap().entry(i).or_default().push(what)
        };
        let on_error = record("failed");
        let on_complete = record("completed");
        let task = manager
            .task(move |ctx| -> Result<usize, AppError> {
                match i % 4 {
                    0 => Ok(i),
                    1 => Err(AppError::new("ERR_STRESS", "planned failure")),
                    2 => panic!("planned panic {i}"),
                    _ => {
                        // Spin until cancelled (the test cancels every fourth task).
                        while !ctx.is_cancelled() {
                            std::thread::yield_now();
                        }
                        Ok(i)
                    }
                }
            })
            .on_complete(move |_| on_complete())
            .on_error(move |_| on_error())
            .on_cancelled(record("cancelled"))
            .start();
        if i % 4 == 3 {
            task.cancel(); // queued or running, depending on timing
        }
        tasks.push(task);
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let outcome = task.join();
        match i % 4 {
            0 => assert!(outcome.is_ok(), "task {i}: {outcome:?}"),
            1 | 2 => assert!(matches!(outcome, Err(TaskError::Failed(_))), "task {i}"),
            _ => assert!(matches!(outcome, Err(TaskError::Cancelled)), "task {i}"),
        }
    }
    // Callbacks run on the workers right after the outcome is decided.
    common::eventually("all terminal callbacks", || {
        ends.lock().unwrap().values().map(Vec::len).sum::<usize>() == N
    });
    let ends = ends.lock().unwrap();
    for i in 0..N {
        let expected = match i % 4 {
            0 => "completed",
            1 | 2 => "failed",
            _ => "cancelled",
        };
        assert_eq!(
            ends.get(&i).map(Vec::as_slice),
            Some(&[expected][..]),
            "task {i}"
        );
    }
    assert!(manager.wait_for_all(Duration::from_secs(5)));
    assert_eq!(manager.active_count(), 0);
}
