//! No worker thread (nor the progress display's, nor the deadline timer) outlives a dropped manager once its tasks
//! return (guarantee 6). Counts
//! the process's threads, so this file holds a single test: no other test may start threads
//! meanwhile.

use std::sync::{Arc, Barrier};

use task_runtime::{AppError, LogProgress, TaskManager};

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("Linux /proc")
        .count()
}

/// A value whose destructor runs when a worker thread exits, slowly: a thread that is still
/// on its way out is then visible in the count unless dropping the manager waited for it.
struct SlowExit;

impl Drop for SlowExit {
    fn drop(&mut self) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

thread_local! {
    static SLOW_EXIT: std::cell::OnceCell<SlowExit> = const { std::cell::OnceCell::new() };
}

#[test]
fn threads_are_released_when_the_last_handle_drops() {
    let baseline = thread_count();
    let manager = TaskManager::builder()
        .max_threads(4)
        .progress_display(LogProgress::new())
        .build()
        .unwrap();
    let clone = manager.clone();
    // All four workers at once: each task waits until four are running. One shows its
    // progress, which starts the display thread.
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let b = barrier.clone();
            manager
                .task(move |_| {
                    SLOW_EXIT.with(|slow| {
                        slow.get_or_init(|| SlowExit);
                    });
                    b.wait();
                    Ok::<_, AppError>(())
                })
                .show_progress(i == 0)
                // One sets a deadline far away, which starts the deadline timer.
                .timeout(if i == 1 {
                    std::time::Duration::from_secs(3600)
                } else {
                    std::time::Duration::MAX
                })
                .start()
        })
        .collect();
    for task in tasks {
        task.join().unwrap();
    }
    assert_eq!(
        thread_count(),
        baseline + 4 + 1 + 1,
        "four workers, the display and the deadline timer"
    );
    assert_eq!(manager.worker_count(), 4);

    drop(manager);
    assert_eq!(
        thread_count(),
        baseline + 4 + 1 + 1,
        "a clone still holds the manager"
    );
    drop(clone);
    assert_eq!(
        thread_count(),
        baseline,
        "dropping the last handle must end every worker thread before it returns"
    );
}
