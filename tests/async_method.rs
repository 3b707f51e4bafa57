//! `#[async_method]`: a background function whose handle is awaited or joined, with progress
//! shown by default.

mod common;

use common::{eventually, Gate, PATIENCE};
use task_macros::async_method;
use task_runtime::{AppError, TaskContext, TaskError, TaskManager, TaskState};

#[async_method]
fn checksum(data: Vec<u8>, ctx: &TaskContext) -> Result<u32, AppError> {
    let mut sum = 0u32;
    for (i, byte) in data.iter().enumerate() {
        ctx.check_cancelled()?;
        sum = sum.rotate_left(5) ^ u32::from(*byte);
        ctx.set_progress(i as u64 + 1, data.len() as u64);
    }
    Ok(sum)
}

struct Store {
    tasks: TaskManager,
}

impl Store {
    #[async_method(task_name = "fetch", manager = &self.tasks, priority = 3)]
    fn fetch(&self, key: String) -> String {
        format!("value of {key}")
    }

    #[async_method(manager = &self.tasks, show_progress = false)]
    fn wait_on(&self, gate: Gate, ctx: &TaskContext) -> Result<(), AppError> {
        while !gate.is_open() {
            ctx.check_cancelled()?;
            std::thread::yield_now();
        }
        Ok(())
    }
}

impl Clone for Store {
    fn clone(&self) -> Self {
        Store {
            tasks: self.tasks.clone(),
        }
    }
}

#[test]
fn awaiting_an_async_method() {
    let expected = checksum(vec![1, 2, 3]).join().unwrap();
    let awaited = futures::executor::block_on(async { checksum(vec![1, 2, 3]).await });
    assert_eq!(awaited.unwrap(), expected);
}

#[test]
fn methods_with_options() {
    let store = Store {
        tasks: TaskManager::new(2),
    };
    let task = store.fetch("k".into());
    assert_eq!(task.name(), "fetch");
    assert_eq!(futures::executor::block_on(task).unwrap(), "value of k");
}

#[test]
fn cancelling_an_awaited_task() {
    let store = Store {
        tasks: TaskManager::new(1),
    };
    let task = store.wait_on(Gate::new());
    eventually("running", || task.state() == TaskState::Running);
    task.cancel();
    let outcome = futures::executor::block_on(task);
    assert!(matches!(outcome, Err(TaskError::Cancelled)));
    assert!(store.tasks.wait_for_all(PATIENCE));
}
