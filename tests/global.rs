//! The global manager: created once on first use, from any thread, and configurable only
//! before that. (Its own test binary: the global is per process.)

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use task_runtime::{get_task_manager, init_global, set_max_threads, AppError, TaskManager};

#[test]
fn global_manager_from_several_threads_at_once() {
    let start = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let s = start.clone();
            thread::spawn(move || {
                s.wait();
                let manager = get_task_manager();
                let value = manager.spawn(|_| Ok::<_, AppError>(1)).join().unwrap();
                (manager as *const TaskManager as usize, value)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let distinct: HashSet<usize> = results.iter().map(|(ptr, _)| *ptr).collect();
    assert_eq!(distinct.len(), 1, "one manager for everybody");
    assert!(results.iter().all(|(_, v)| *v == 1));

    // Configuring it after first use is an error, and leaves it as it was.
    let err = init_global(TaskManager::builder().max_threads(9)).unwrap_err();
    assert!(err.is_already_initialized());
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(get_task_manager().max_threads(), 4);

    set_max_threads(2);
    assert_eq!(get_task_manager().max_threads(), 2);
}
