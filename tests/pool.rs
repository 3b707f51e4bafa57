//! The worker pool as users see it: priority order, the thread bound, resizing at runtime,
//! idle threads, and panics that never cost capacity (guarantee 5).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Gate, PATIENCE};
use task_runtime::{AppError, TaskManager, TaskState};

#[test]
fn higher_priority_runs_first_fifo_within_a_level() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let _blocker = common::occupy(&manager, &gate);

    let order = Arc::new(Mutex::new(Vec::new()));
    for (priority, label) in [
        (0, "0a"),
        (5, "5a"),
        (0, "0b"),
        (10, "10"),
        (-1, "-1"),
        (5, "5b"),
    ] {
        let order = order.clone();
        manager
            .task(move |_| {
                order.lock().unwrap().push(label);
                Ok::<_, AppError>(())
            })
            .priority(priority)
            .start();
    }
    gate.open();
    assert!(manager.wait_for_all(PATIENCE));
    assert_eq!(*order.lock().unwrap(), ["10", "5a", "5b", "0a", "0b", "-1"]);
}

struct Occupancy {
    running: AtomicUsize,
    peak: AtomicUsize,
}

fn occupying_task(
    manager: &TaskManager,
    occupancy: &Arc<Occupancy>,
    gate: &Gate,
) -> task_runtime::Task<()> {
    let (o, g) = (occupancy.clone(), gate.clone());
    manager.spawn(move |_| {
        let now = o.running.fetch_add(1, Ordering::SeqCst) + 1;
        o.peak.fetch_max(now, Ordering::SeqCst);
        g.wait();
        o.running.fetch_sub(1, Ordering::SeqCst);
        Ok::<_, AppError>(())
    })
}

#[test]
fn max_threads_bounds_concurrency_and_set_max_threads_raises_it() {
    let manager = TaskManager::new(3);
    let occupancy = Arc::new(Occupancy {
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let gate = Gate::new();
    let tasks: Vec<_> = (0..10)
        .map(|_| occupying_task(&manager, &occupancy, &gate))
        .collect();
    eventually("3 running", || {
        occupancy.running.load(Ordering::SeqCst) == 3
    });
    assert_eq!(manager.worker_count(), 3);
    let queued = tasks
        .iter()
        .filter(|t| t.state() == TaskState::Queued)
        .count();
    assert_eq!(queued, 7, "the other tasks wait for a thread");
    assert_eq!(manager.active_count(), 10);

    // Growing takes effect at once: queued work starts on new threads.
    manager.set_max_threads(5);
    assert_eq!(manager.max_threads(), 5);
    eventually("5 running", || {
        occupancy.running.load(Ordering::SeqCst) == 5
    });
    assert_eq!(occupancy.peak.load(Ordering::SeqCst), 5);

    gate.open();
    for task in tasks {
        task.join().unwrap();
    }
    assert!(occupancy.peak.load(Ordering::SeqCst) <= 5);
    assert!(manager.worker_count() <= 5);
}

#[test]
fn lowering_max_threads_retires_threads_after_their_task() {
    let manager = TaskManager::new(4);
    let occupancy = Arc::new(Occupancy {
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let gate = Gate::new();
    let first: Vec<_> = (0..4)
        .map(|_| occupying_task(&manager, &occupancy, &gate))
        .collect();
    eventually("4 running", || {
        occupancy.running.load(Ordering::SeqCst) == 4
    });
    manager.set_max_threads(1);
    assert_eq!(
        manager.worker_count(),
        4,
        "running tasks are never interrupted"
    );
    gate.open();
    for task in first {
        task.join().unwrap();
    }
    eventually("surplus threads retired", || manager.worker_count() <= 1);

    // From now on one task at a time.
    let gate = Gate::new();
    occupancy.peak.store(0, Ordering::SeqCst);
    let second: Vec<_> = (0..4)
        .map(|_| occupying_task(&manager, &occupancy, &gate))
        .collect();
    eventually("1 running", || {
        occupancy.running.load(Ordering::SeqCst) == 1
    });
    gate.open();
    for task in second {
        task.join().unwrap();
    }
    assert_eq!(occupancy.peak.load(Ordering::SeqCst), 1);
}

#[test]
fn idle_threads_exit_and_come_back_on_demand() {
    let manager = TaskManager::builder()
        .max_threads(2)
        .idle_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
    assert!(manager.worker_count() >= 1);
    eventually("idle threads exit", || manager.worker_count() == 0);
    assert_eq!(manager.spawn(|_| Ok::<_, AppError>(3)).join().unwrap(), 3);
}

#[test]
fn panicking_bodies_never_cost_capacity() {
    let manager = TaskManager::builder()
        .max_threads(2)
        .error_handler(|_| {})
        .build()
        .unwrap();
    let panicking: Vec<_> = (0..10)
        .map(|i| manager.spawn(move |_| -> Result<(), AppError> { panic!("body {i} panics") }))
        .collect();
    let normal: Vec<_> = (0..100)
        .map(|i| manager.spawn(move |_| Ok::<_, AppError>(i)))
        .collect();
    for task in panicking {
        assert!(task.join().unwrap_err().app_error().is_some());
    }
    for (i, task) in normal.into_iter().enumerate() {
        assert_eq!(task.join().unwrap(), i);
    }
    assert!(manager.worker_count() <= 2);

    // Both threads still work in parallel after all those panics.
    common::assert_parallel_capacity(&manager, 2);
}

#[test]
fn thread_names_use_the_prefix() {
    let manager = TaskManager::builder()
        .thread_name("importer")
        .build()
        .unwrap();
    let name = manager
        .spawn(|_| Ok::<_, AppError>(std::thread::current().name().unwrap().to_owned()))
        .join()
        .unwrap();
    assert!(name.starts_with("importer-"), "{name}");
}

#[test]
#[should_panic(expected = "max_threads must be at least 1")]
fn zero_threads_panics_with_a_clear_message() {
    let _ = TaskManager::new(0);
}

#[test]
fn zero_threads_from_the_builder_is_an_error() {
    let err = TaskManager::builder().max_threads(0).build().unwrap_err();
    assert!(err.is_zero_threads());
    assert_eq!(err.to_string(), "max_threads must be at least 1");
}

#[test]
#[should_panic(expected = "max_threads must be at least 1")]
fn set_max_threads_zero_panics() {
    TaskManager::new(1).set_max_threads(0);
}

#[test]
fn joining_a_queued_task_from_inside_a_task_does_not_starve_the_pool() {
    // One thread: the outer task waits for the inner one, which can only run if the joining
    // worker runs it itself.
    let manager = TaskManager::new(1);
    let m = manager.clone();
    let outer = manager.spawn(move |_| {
        let inner = m.spawn(|_| Ok::<_, AppError>(20));
        Ok::<_, AppError>(inner.join().unwrap() + 1)
    });
    assert_eq!(outer.join().unwrap(), 21);
}

/// Two tasks submitted back to back while exactly one worker is idle: the idle worker takes
/// one, and the other must get a thread of its own, or two tasks that wait for each other
/// never finish. (A worker counted idle until it wakes up made the second submission think
/// nobody needed starting.)
#[test]
fn a_burst_while_one_worker_is_idle_starts_another_thread() {
    for _ in 0..200 {
        let manager = TaskManager::new(2);
        // Exactly one worker, idle: started by a task that finished.
        manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
        eventually("the worker is idle again", || manager.active_count() == 0);
        common::assert_parallel_capacity(&manager, 2);
    }
}

/// Idle workers do not hide the limit: after growing, a burst of n tasks that wait for each
/// other all run at once, however many workers were idle when it came.
#[test]
fn a_burst_after_growing_gets_every_allowed_thread() {
    let manager = TaskManager::new(2);
    let warmup: Vec<_> = (0..12)
        .map(|_| manager.spawn(|_| Ok::<_, AppError>(())))
        .collect();
    warmup.into_iter().for_each(|t| t.join().unwrap());
    assert!(manager.wait_for_all(PATIENCE));

    manager.set_max_threads(4);
    common::assert_parallel_capacity(&manager, 4);
    manager.set_max_threads(8);
    common::assert_parallel_capacity(&manager, 8);
}

#[test]
fn a_burst_with_one_idle_worker_gets_every_allowed_thread() {
    for _ in 0..20 {
        let manager = TaskManager::new(4);
        manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
        common::assert_parallel_capacity(&manager, 4);
    }
}

/// A port of tokio's issue-8056 test: a quick task submitted right after two long ones, while
/// one worker is idle, runs at once on a thread of its own (the pool is far below its limit).
#[test]
fn a_quick_task_behind_two_long_ones_is_never_stranded() {
    for round in 0..300 {
        let manager = TaskManager::new(8);
        manager.spawn(|_| Ok::<_, AppError>(())).join().unwrap();
        let gate = Gate::new();
        let long = [
            common::gated(&manager, &gate),
            common::gated(&manager, &gate),
        ];
        let quick = manager.spawn(|_| Ok::<_, AppError>(()));
        let ran = quick.wait_for(Duration::from_secs(10));
        gate.open();
        assert!(
            ran,
            "round {round}: the quick task waited with the pool below its limit"
        );
        long.into_iter().for_each(|t| t.join().unwrap());
    }
}

/// A worker that retires after its idle timeout while a task is submitted: the task still
/// runs (with one thread allowed, a submission that saw the retiring worker's slot taken
/// started nothing).
#[test]
fn a_task_submitted_while_the_only_worker_retires_still_runs() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .idle_timeout(Duration::from_micros(200))
        .build()
        .unwrap();
    for round in 0..2000u32 {
        let task = manager.spawn(|_| Ok::<_, AppError>(()));
        assert!(
            task.wait_for(Duration::from_secs(10)),
            "round {round}: a task waited for the next submission"
        );
        // Land the next submission near the worker's idle expiry.
        let pause = Duration::from_micros(u64::from(round % 7) * 60);
        std::thread::sleep(pause);
    }
}

#[test]
fn a_thread_name_with_a_nul_byte_is_a_build_error() {
    let err = TaskManager::builder()
        .thread_name("bad\0name")
        .build()
        .unwrap_err();
    assert!(err.is_invalid_thread_name(), "{err}");
    assert!(err.to_string().contains("NUL"), "{err}");
}

/// When no thread can be started at all, every task that would have run fails with
/// `ERR_THREAD_SPAWN` (nothing waits forever), and the manager still drops promptly.
#[test]
fn tasks_fail_with_err_thread_spawn_when_no_thread_can_start() {
    for stack in [1 << 60, usize::MAX] {
        // No address space has room for these stacks (and usize::MAX overflows std's rounding).
        tasks_fail_with_err_thread_spawn(stack);
    }
}

fn tasks_fail_with_err_thread_spawn(stack: usize) {
    let handled = Arc::new(Mutex::new(Vec::new()));
    let h = handled.clone();
    let manager = TaskManager::builder()
        .max_threads(2)
        .stack_size(stack)
        .shutdown_timeout(Duration::from_secs(60))
        .error_handler(move |err| h.lock().unwrap().push(err.code().to_owned()))
        .build()
        .unwrap();
    let failed = Arc::new(AtomicUsize::new(0));
    let f = failed.clone();
    manager.signals().task_failed.connect(move |_| {
        f.fetch_add(1, Ordering::SeqCst);
    });
    for _ in 0..3 {
        let task = manager.spawn(|_| Ok::<_, AppError>(1));
        assert!(
            task.wait_for(PATIENCE),
            "a task waited for a thread that cannot start"
        );
        let err = task.join().unwrap_err();
        let err = err.app_error().expect("failed, not cancelled");
        assert_eq!(err.code(), task_runtime::codes::ERR_THREAD_SPAWN, "{err}");
        assert!(err.context().contains_key("task"), "{err}");
    }
    assert_eq!(manager.worker_count(), 0);
    assert_eq!(manager.active_count(), 0);
    // Exactly one outcome each: one report to the handler, one signal.
    eventually("three reports", || handled.lock().unwrap().len() == 3);
    assert_eq!(
        *handled.lock().unwrap(),
        [task_runtime::codes::ERR_THREAD_SPAWN; 3]
    );
    eventually("three task_failed signals", || {
        failed.load(Ordering::SeqCst) == 3
    });
    let dropped = std::time::Instant::now();
    drop(manager);
    assert!(
        dropped.elapsed() < Duration::from_secs(30),
        "drop waited for a task that had no thread"
    );
}

/// `stack_size` gives the workers a stack of that size: a task can recurse as deep as it
/// allows.
#[test]
fn stack_size_sets_the_workers_stack() {
    fn depth(n: u64) -> u64 {
        let pad = std::hint::black_box([0u8; 1024]);
        if n == 0 {
            u64::from(pad[0])
        } else {
            depth(n - 1) + u64::from(pad[1])
        }
    }
    let manager = TaskManager::builder().stack_size(64 << 20).build().unwrap();
    // 12,000 frames of more than 1 KiB each: past the default 8 MiB stack, within 64 MiB.
    let task = manager.spawn(|_| Ok::<_, AppError>(depth(12_000)));
    assert_eq!(task.join().unwrap(), 0);
}
