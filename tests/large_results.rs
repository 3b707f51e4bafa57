//! Large values come back from a task with the default worker stack: any value a plain
//! `std::thread` with its default stack can return (DESIGN.md, version 2 "Pool").
//!
//! A plain thread's default stack (2 MiB) returns a `[u8; 224 KiB]` in a debug build and a
//! `[u8; 1000 KiB]` in a release build (measured on x86-64 Linux with Rust 1.95: 256 KiB and
//! 1 MiB overflow it). Each test returns such a value through every path a value takes: the
//! handle, `on_complete`, and `.await`. CI runs this file in both profiles.
//!
//! The receiving side is the caller's own business: each test receives on a thread with a
//! roomy stack (the test harness's threads have 2 MiB), so only the workers are under test.

use task_runtime::{AppError, TaskManager};

#[cfg(debug_assertions)]
const LARGEST_PLAIN: usize = 224 << 10;
#[cfg(not(debug_assertions))]
const LARGEST_PLAIN: usize = 1000 << 10;

fn big() -> [u8; LARGEST_PLAIN] {
    [9u8; LARGEST_PLAIN]
}

/// Runs `test` on a thread with a 64 MiB stack.
fn receiving(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(test)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_plain_thread_returns_the_value() {
    receiving(|| {
        let value = std::thread::spawn(big).join().unwrap();
        assert_eq!(value[LARGEST_PLAIN - 1], 9);
    });
}

#[test]
fn a_task_returns_it_to_join() {
    receiving(|| {
        let manager = TaskManager::new(1);
        let value = manager.spawn(|_| Ok::<_, AppError>(big())).join().unwrap();
        assert_eq!((value[0], value[LARGEST_PLAIN - 1]), (9, 9));
    });
}

#[test]
fn a_task_hands_it_to_on_complete() {
    receiving(|| {
        let manager = TaskManager::new(1);
        let (tx, rx) = std::sync::mpsc::channel();
        manager
            .task(|_| Ok::<_, AppError>(big()))
            .on_complete(move |value| tx.send(value[LARGEST_PLAIN - 1]).unwrap())
            .start()
            .join()
            .unwrap();
        assert_eq!(rx.recv().unwrap(), 9);
    });
}

#[test]
fn an_awaited_task_returns_it() {
    receiving(|| {
        let manager = TaskManager::new(1);
        let task = manager.spawn(|_| Ok::<_, AppError>(Box::new(big())));
        let value = futures::executor::block_on(task).unwrap();
        assert_eq!(value[LARGEST_PLAIN - 1], 9);
    });
}

#[test]
fn a_detached_task_drops_it_on_the_worker() {
    receiving(|| {
        let manager = TaskManager::new(1);
        drop(manager.spawn(|_| Ok::<_, AppError>(big())));
        assert!(manager.wait_for_all(std::time::Duration::from_secs(30)));
    });
}
