//! Properties of the public types that users' code relies on: which ones cross threads, and
//! which are cheap handles.

use task_runtime::{
    AppError, BuildError, Cancelled, Dispatcher, EventLoop, Job, ManagerSignals, Progress, Signal,
    Task, TaskContext, TaskError, TaskId, TaskInfo, TaskManager, TaskManagerBuilder, TaskSnapshot,
    TaskState,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn clone<T: Clone>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn handles_cross_threads() {
    // A task handle can be moved to (and shared with) another thread, e.g. a UI thread.
    send::<Task<Vec<u8>>>();
    sync::<Task<Vec<u8>>>();
    send::<TaskManager>();
    sync::<TaskManager>();
    send::<TaskManagerBuilder>();
    send::<TaskContext>();
    sync::<TaskContext>();
    send::<Dispatcher>();
    sync::<Dispatcher>();
    send::<EventLoop>();
    send::<Job>();
    sync::<Signal<TaskInfo>>();
    sync::<ManagerSignals>();
    send::<AppError>();
    sync::<AppError>();
    send::<(TaskSnapshot, Progress, TaskId, TaskState, Cancelled)>();
}

#[test]
fn cheap_handles_and_values_clone() {
    clone::<TaskManager>();
    clone::<TaskContext>();
    clone::<Dispatcher>();
    clone::<AppError>();
    clone::<TaskError>();
    clone::<(TaskSnapshot, TaskInfo, Progress)>();
}

#[test]
fn error_types_are_std_errors_except_app_error() {
    error::<TaskError>();
    error::<BuildError>();
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
