//! Properties of the public types that users' code relies on: which ones cross threads, and
//! which are cheap handles.

use task_runtime::{AppError, TaskManager};

// Which types are `Send`, `Sync`, `Unpin`, `Clone` or std errors is checked where the types
// are defined (the end of task-runtime's `lib.rs`): a type that loses one breaks the build.

#[test]
fn app_error_displays_and_debugs() {
    // AppError deliberately is not (so that `?` converts any std error into it); it still
    // displays and debugs.
    let err = AppError::new("E", "m");
    assert_eq!(format!("{err}"), "[E] m");
    assert!(format!("{err:?}").starts_with("AppError"));
}

#[test]
fn a_task_handle_can_be_joined_on_another_thread() {
    let manager = TaskManager::new(1);
    let task = manager.spawn(|_| Ok::<_, AppError>(String::from("moved")));
    let joined = std::thread::spawn(move || task.join().unwrap())
        .join()
        .unwrap();
    assert_eq!(joined, "moved");
}
