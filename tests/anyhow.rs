//! `anyhow::Error` and `anyhow::Result` in task bodies and annotated functions. They convert
//! with `?` without any feature; with the `anyhow` feature the converted `AppError` keeps the
//! `anyhow::Error` whole, so `downcast_ref` sees through its `.context(..)` layers.
//! `cargo test --test anyhow` and `cargo test --features anyhow --test anyhow` (CI runs both).

use anyhow::Context as _;
use task_macros::run_in_background;
use task_runtime::{codes, AppError, Task, TaskManager};

fn read(path: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

#[run_in_background(task_name = "settings")]
fn load_settings(path: String) -> anyhow::Result<usize> {
    Ok(read(&path)?.len())
}

#[test]
fn an_anyhow_result_function_is_a_fallible_task() {
    let task: Task<usize> = load_settings("/no/such/settings.toml".to_owned());
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_SYS_UNKNOWN);
    assert_eq!(
        err.message(),
        "Background task failed: reading /no/such/settings.toml"
    );
    let details = err.details().unwrap();
    assert!(details.contains("caused by: "), "{details}");
    assert_eq!(err.context()["task"], "settings");
}

#[test]
fn question_mark_converts_an_anyhow_error_in_a_body() {
    let manager = TaskManager::new(1);
    let task = manager
        .task(|_| -> Result<String, AppError> { Ok(read("/nope")?) })
        .start();
    assert!(task.join().unwrap_err().app_error().is_some());
}

#[cfg(feature = "anyhow")]
#[test]
fn downcast_ref_sees_through_anyhow_context() {
    let err: AppError = read("/no/such/file").unwrap_err().into();
    let io = err
        .downcast_ref::<std::io::Error>()
        .expect("the io::Error under the context");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}
