//! `mut` arguments are mutated in the body; a raw identifier names its task without `r#`;
//! `manager = ..` may borrow a temporary.

use task_macros::run_in_background;
use task_runtime::{AppError, TaskManager};

#[run_in_background]
fn grow(mut v: Vec<u8>) -> Vec<u8> {
    v.push(1);
    v
}

/// Mutates without giving the argument back: the body is `FnMut`.
#[run_in_background]
fn count(mut v: Vec<u8>) -> usize {
    v.push(1);
    v.len()
}

#[run_in_background]
fn r#match(pattern: String) -> bool {
    pattern.is_empty()
}

#[derive(Clone)]
struct App {
    tasks: TaskManager,
}

impl App {
    fn manager(&self) -> TaskManager {
        self.tasks.clone()
    }
}

#[derive(Clone)]
struct Service {
    app: App,
}

impl Service {
    #[run_in_background(manager = &self.app.manager())]
    fn double(&self, mut x: u64) -> Result<u64, AppError> {
        x *= 2;
        Ok(x)
    }

    #[run_in_background]
    fn sum(&self, mut items: Vec<u64>) -> u64 {
        items.sort_unstable();
        items.iter().sum()
    }
}

fn main() {
    assert_eq!(grow(vec![0]).join().unwrap(), [0, 1]);
    assert_eq!(count(vec![0]).join().unwrap(), 2);
    let task = r#match(String::new());
    assert_eq!(task.name(), "match");
    assert!(task.join().unwrap());
    let service = Service {
        app: App {
            tasks: TaskManager::new(1),
        },
    };
    assert_eq!(service.double(21).join().unwrap(), 42);
    assert_eq!(service.sum(vec![3, 1, 2]).join().unwrap(), 6);
}
