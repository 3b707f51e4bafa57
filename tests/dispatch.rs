//! Where callbacks run and in what order (guarantee 2): the EventLoop thread, a `from_fn`
//! dispatcher, the worker thread; started -> progress* -> one terminal, nothing after it.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{eventually, Gate, Log, PATIENCE};
use task_runtime::{AppError, Dispatcher, EventLoop, Job, TaskManager};

#[test]
fn smoke_callbacks_run_on_the_event_loop_thread_in_order() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 2);
    let ui_thread = thread::current().id();
    let log = Log::new();
    let on = |event: &'static str| {
        let log = log.clone();
        move || {
            assert_eq!(
                thread::current().id(),
                ui_thread,
                "{event} ran off the UI thread"
            );
            log.push(event);
        }
    };
    let (started, cancelled) = (on("started"), on("cancelled"));
    let l = log.clone();
    let l2 = log.clone();
    let task = manager
        .task(|ctx| {
            for i in 1..=3 {
                ctx.report_progress(i, 3, format!("step {i}"));
            }
            Ok::<_, AppError>("done")
        })
        .on_started(started)
        .on_progress(move |p| {
            assert_eq!(thread::current().id(), ui_thread);
            l.push(format!("progress {}", p.current));
        })
        .on_complete(move |v| {
            assert_eq!(thread::current().id(), ui_thread);
            l2.push(format!("completed {v}"));
        })
        .on_cancelled(cancelled)
        .start();
    // Nothing runs on the UI thread until it processes events.
    assert!(task.wait_for(PATIENCE));
    assert!(log.events().is_empty());
    assert!(ui.run_until_idle(&manager, PATIENCE));
    let events = log.events();
    assert_eq!(events.first().map(String::as_str), Some("started"));
    assert_eq!(events.last().map(String::as_str), Some("completed done"));
    // Coalesced progress: some of the reports, increasing, always the last one.
    let progress: Vec<&String> = events[1..events.len() - 1].iter().collect();
    assert!(!progress.is_empty() && progress.len() <= 3, "{events:?}");
    assert_eq!(progress.last().unwrap().as_str(), "progress 3");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{events:?}");
    // Nothing after the terminal callback.
    assert_eq!(ui.process_events(), 0);
}

#[test]
fn worker_thread_dispatcher_runs_callbacks_on_the_worker() {
    let manager = TaskManager::builder()
        .max_threads(1)
        .thread_name("cb-worker")
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    manager
        .task(|_| Ok::<_, AppError>(()))
        .on_started(move || {
            tx.send(thread::current().name().map(str::to_owned))
                .unwrap()
        })
        .on_complete(move |()| {
            tx2.send(thread::current().name().map(str::to_owned))
                .unwrap()
        })
        .start();
    for _ in 0..2 {
        let name = rx.recv_timeout(PATIENCE).unwrap().unwrap();
        assert!(name.starts_with("cb-worker-"), "{name}");
    }
}

#[test]
fn from_fn_dispatcher_receives_every_delivery() {
    let (tx, rx) = mpsc::channel::<Job>();
    let tx = Mutex::new(tx);
    let dispatcher = Dispatcher::from_fn(move |job| tx.lock().unwrap().send(job).unwrap());
    let manager = TaskManager::builder()
        .max_threads(2)
        .dispatcher(dispatcher)
        .build()
        .unwrap();
    let log = Log::new();
    let l = log.clone();
    let task = manager
        .task(|_| Ok::<_, AppError>(7))
        .on_started(log.recorder("started"))
        .on_complete(move |v| l.push(format!("completed {v}")))
        .start();
    assert!(task.wait_for(PATIENCE));
    // Run the handed-over jobs on this thread, as a toolkit's main loop would.
    while log.len() < 2 {
        let job = rx.recv_timeout(PATIENCE).expect("a delivery");
        job();
    }
    assert_eq!(log.events(), ["started", "completed 7"]);
}

/// A hostile dispatcher: runs each job on a fresh thread after a random delay, so jobs may
/// overtake each other and run in parallel. A task's callbacks must still arrive in order and
/// never overlap.
#[test]
fn order_holds_even_with_a_reordering_parallel_dispatcher() {
    let seed = AtomicUsize::new(12345);
    let dispatcher = Dispatcher::from_fn(move |job: Job| {
        let n = seed.fetch_add(7919, Ordering::Relaxed);
        thread::spawn(move || {
            thread::sleep(Duration::from_micros((n % 5 * 200) as u64));
            job();
        });
    });
    let manager = TaskManager::builder()
        .max_threads(4)
        .dispatcher(dispatcher)
        .build()
        .unwrap();
    let mut checks = Vec::new();
    for _ in 0..50 {
        let log = Log::new();
        let busy = Arc::new(AtomicBool::new(false));
        let guard = |busy: &Arc<AtomicBool>| {
            let busy = busy.clone();
            move || {
                assert!(!busy.swap(true, Ordering::SeqCst), "callbacks overlapped");
                thread::sleep(Duration::from_micros(50));
                busy.store(false, Ordering::SeqCst);
            }
        };
        let (g1, g2, g3) = (guard(&busy), guard(&busy), guard(&busy));
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        let mut g2 = Some(g2);
        manager
            .task(|ctx| {
                for i in 0..100 {
                    ctx.set_progress(i + 1, 100);
                }
                Ok::<_, AppError>(())
            })
            .on_started(move || {
                g1();
                l1.push("started")
            })
            .on_progress(move |p| {
                if let Some(g) = g2.take() {
                    g();
                }
                l2.push(format!("p{:03}", p.current))
            })
            .on_complete(move |()| {
                g3();
                l3.push("completed")
            })
            .start();
        checks.push(log);
    }
    for log in &checks {
        eventually("completed", || {
            log.events().last().map(String::as_str) == Some("completed")
        });
        let events = log.events();
        assert_eq!(events[0], "started");
        let progress = &events[1..events.len() - 1];
        assert!(!progress.is_empty());
        assert!(progress.windows(2).all(|w| w[0] < w[1]), "{events:?}");
        assert_eq!(
            progress.last().unwrap(),
            "p100",
            "last progress before the terminal"
        );
    }
}

#[test]
fn a_task_can_override_the_manager_dispatcher() {
    let ui = EventLoop::new();
    let manager = TaskManager::new(1); // worker-thread dispatch by default
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let task = manager
        .task(|_| Ok::<_, AppError>(()))
        .dispatcher(ui.dispatcher())
        .on_complete(move |()| d.store(true, Ordering::SeqCst))
        .start();
    assert!(task.wait_for(PATIENCE));
    assert!(!done.load(Ordering::SeqCst), "waits for the UI loop");
    assert!(ui.run_until(|| done.load(Ordering::SeqCst), PATIENCE));
}

#[test]
fn waker_is_called_when_work_arrives() {
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let ui = EventLoop::with_waker(move || {
        w.fetch_add(1, Ordering::SeqCst);
    });
    let manager = common::ui_manager(&ui, 4);
    let gate = Gate::new();
    let g = gate.clone();
    manager
        .task(move |_| {
            g.wait();
            Ok::<_, AppError>(())
        })
        .on_complete(|()| {})
        .start();
    assert_eq!(wakes.load(Ordering::SeqCst), 0);
    gate.open();
    eventually("a wake-up", || wakes.load(Ordering::SeqCst) == 1);
    assert!(ui.run_until_idle(&manager, PATIENCE));
}

#[test]
fn join_on_the_ui_thread_does_not_wait_for_callbacks() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 4);
    let task = manager
        .task(|_| Ok::<_, AppError>(5))
        .on_started(|| {})
        .on_progress(|_| {})
        .start();
    // The UI loop is not running, yet join returns: it never waits for callback delivery.
    assert_eq!(task.join().unwrap(), 5);
    assert!(ui.pending() > 0);
    assert!(ui.run_until_idle(&manager, PATIENCE));
}

#[test]
fn dropping_a_task_detaches_it() {
    let manager = TaskManager::new(1);
    let gate = Gate::new();
    let g = gate.clone();
    let (tx, rx) = mpsc::channel();
    drop(
        manager
            .task(move |_| {
                g.wait();
                Ok::<_, AppError>(21)
            })
            .on_complete(move |v| tx.send(v * 2).unwrap())
            .start(),
    );
    gate.open();
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 42);
}

#[test]
fn run_until_accepts_duration_max() {
    let ui = EventLoop::new();
    let manager = common::ui_manager(&ui, 1);
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(move |()| d.store(true, Ordering::SeqCst))
        .start();
    assert!(ui.run_until(|| done.load(Ordering::SeqCst), Duration::MAX));
    assert!(ui.run_until_idle(&manager, Duration::MAX));
}

/// `run_until_idle` called from inside a callback does not count that callback: it returns
/// `true` as soon as everything else is done, instead of burning its whole timeout.
#[test]
fn run_until_idle_from_inside_a_callback_does_not_wait_for_itself() {
    let ui = Arc::new(EventLoop::new());
    let manager = common::ui_manager(&ui, 2);
    let answer = Arc::new(Mutex::new(None));
    let (u, m, a) = (ui.clone(), manager.clone(), answer.clone());
    manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(move |()| {
            // Another task whose delivery this nested loop must run.
            let other = Arc::new(AtomicBool::new(false));
            let o = other.clone();
            m.task(|_| Ok::<_, AppError>(()))
                .on_complete(move |()| o.store(true, Ordering::SeqCst))
                .start();
            let idle = u.run_until_idle(&m, PATIENCE);
            *a.lock().unwrap() = Some((idle, other.load(Ordering::SeqCst)));
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(*answer.lock().unwrap(), Some((true, true)));
}
