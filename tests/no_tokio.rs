//! Without feature `tokio`, a body that needs a tokio runtime fails with `ERR_TASK_PANICKED`,
//! and the error says which feature gives it one.
#![cfg(not(feature = "tokio"))]

use task_runtime::{codes, AppError, TaskError, TaskManager};

#[test]
fn a_body_without_a_runtime_is_told_of_the_feature() {
    let manager = TaskManager::new(1);
    let task = manager.spawn(|_| {
        let _ = tokio::runtime::Handle::current(); // panics: no runtime here
        Ok::<_, AppError>(())
    });
    match task.join() {
        Err(TaskError::Failed(error)) => {
            assert_eq!(error.code(), codes::ERR_TASK_PANICKED);
            let details = error.details().unwrap_or_default();
            assert!(details.contains("`tokio` feature"), "{details}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
}
