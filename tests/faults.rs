//! Fault injection: user code that panics where the runtime calls it (callbacks, signal
//! slots, dispatchers, wakers, progress displays, a value's `Drop`), callbacks that spawn and cancel, and a
//! callback that drops the manager. Each time: the error handler hears of the fault, every
//! other task still ends exactly once, the pool keeps its capacity, nothing deadlocks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{eventually, PATIENCE};
use task_runtime::{
    codes, AppError, Dispatcher, EventLoop, Outcome, Progress, ProgressDisplay, Task, TaskInfo,
    TaskManager, TaskManagerBuilder,
};

/// Errors the handler heard of.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<AppError>>>);

impl Heard {
    fn builder(&self, threads: usize) -> TaskManagerBuilder {
        let heard = self.clone();
        TaskManager::builder()
            .max_threads(threads)
            .error_handler(move |e| heard.0.lock().unwrap().push(e.clone()))
    }

    fn codes(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.code().to_owned())
            .collect()
    }

    fn wait_for(&self, code: &str, message_part: &str) {
        eventually(
            &format!("the error handler to hear {code} ({message_part})"),
            || {
                self.0
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|e| e.code() == code && e.message().contains(message_part))
            },
        );
    }
}

/// Ordinary tasks running around a fault; each counts its terminal callbacks.
struct Bystanders {
    tasks: Vec<Task<()>>,
    ended: Arc<AtomicUsize>,
}

impl Bystanders {
    fn start(manager: &TaskManager, n: usize) -> Self {
        Self::start_shown(manager, n, false)
    }

    /// With `show_progress`: the manager's progress display follows them.
    fn start_shown(manager: &TaskManager, n: usize, show_progress: bool) -> Self {
        let ended = Arc::new(AtomicUsize::new(0));
        let tasks = (0..n)
            .map(|i| {
                let (a, b, c) = (ended.clone(), ended.clone(), ended.clone());
                manager
                    .task(move |ctx| {
                        ctx.set_progress(1, 1);
                        Ok::<_, AppError>(i)
                    })
                    .show_progress(show_progress)
                    .on_complete(move |_| {
                        a.fetch_add(1, Ordering::SeqCst);
                    })
                    .on_error(move |_| {
                        b.fetch_add(1, Ordering::SeqCst);
                    })
                    .on_cancelled(move || {
                        c.fetch_add(1, Ordering::SeqCst);
                    })
                    .start()
            })
            .collect();
        Bystanders { tasks, ended }
    }

    /// Every bystander ended exactly once (callbacks delivered by `settle`).
    fn check(self, settle: impl FnOnce()) {
        let n = self.tasks.len();
        for task in self.tasks {
            assert!(task.wait_for(PATIENCE), "a bystander never finished");
        }
        settle();
        eventually("every bystander's callback", || {
            self.ended.load(Ordering::SeqCst) == n
        });
        assert_eq!(self.ended.load(Ordering::SeqCst), n, "a callback ran twice");
    }
}

#[test]
fn panicking_callbacks_of_every_kind() {
    let heard = Heard::default();
    let manager = heard.builder(2).build().unwrap();
    let bystanders = Bystanders::start(&manager, 50);
    manager
        .task(|ctx| {
            ctx.set_progress(1, 2);
            Ok::<_, AppError>(())
        })
        .on_progress(|_| panic!("on_progress fault"))
        .on_complete(|()| panic!("on_complete fault"))
        .start();
    manager
        .task(|_| Err::<(), _>(AppError::new("E", "x")))
        .on_error(|_| panic!("on_error fault"))
        .start();
    for what in ["on_progress", "on_complete", "on_error"] {
        heard.wait_for(codes::ERR_CALLBACK_PANICKED, what);
    }
    bystanders.check(|| {});
    common::assert_parallel_capacity(&manager, 2);
}

/// A progress display that panics on its tenth call, with tasks in flight.
#[test]
fn panicking_progress_display() {
    struct Faulty(AtomicUsize);
    impl Faulty {
        fn call(&self) {
            if self.0.fetch_add(1, Ordering::SeqCst) == 9 {
                panic!("display fault");
            }
        }
    }
    impl ProgressDisplay for Faulty {
        fn task_started(&self, _: &TaskInfo) {
            self.call();
        }
        fn task_progress(&self, _: &TaskInfo, _: &Progress) {
            self.call();
        }
        fn task_finished(&self, _: &TaskInfo, _: &Outcome) {
            self.call();
        }
    }
    let heard = Heard::default();
    let manager = heard
        .builder(2)
        .progress_display(Faulty(AtomicUsize::new(0)))
        .build()
        .unwrap();
    let bystanders = Bystanders::start_shown(&manager, 50, true);
    heard.wait_for(codes::ERR_CALLBACK_PANICKED, "display fault");
    bystanders.check(|| {});
    common::assert_parallel_capacity(&manager, 2);
    drop(manager); // the display thread exits after what was queued
    assert_eq!(
        heard.codes(),
        [codes::ERR_CALLBACK_PANICKED],
        "reported once"
    );
}

#[test]
fn panicking_signal_slots() {
    let heard = Heard::default();
    let manager = heard.builder(2).build().unwrap();
    manager
        .signals()
        .task_started
        .connect(|_| panic!("slot fault"));
    manager
        .signals()
        .task_failed
        .connect(|_| panic!("slot fault"));
    let bystanders = Bystanders::start(&manager, 20);
    manager
        .spawn(|_| Err::<(), _>(AppError::new("E", "x")))
        .join()
        .unwrap_err();
    heard.wait_for(codes::ERR_CALLBACK_PANICKED, "task_started");
    heard.wait_for(codes::ERR_CALLBACK_PANICKED, "task_failed");
    bystanders.check(|| {});
    common::assert_parallel_capacity(&manager, 2);
}

#[test]
fn panicking_event_loop_waker() {
    let heard = Heard::default();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let ui = EventLoop::with_waker(move || {
        w.fetch_add(1, Ordering::SeqCst);
        panic!("waker fault");
    });
    let manager = heard
        .builder(2)
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap();
    let bystanders = Bystanders::start(&manager, 20);
    heard.wait_for(codes::ERR_CALLBACK_PANICKED, "waker fault");
    // The jobs were queued before the waker panicked: nothing is lost.
    bystanders.check(|| assert!(ui.run_until_idle(&manager, PATIENCE)));
    assert!(wakes.load(Ordering::SeqCst) >= 1);
    common::assert_parallel_capacity(&manager, 2);
}

#[test]
fn panicking_from_fn_dispatcher_loses_only_its_delivery() {
    let heard = Heard::default();
    let manager = heard.builder(2).build().unwrap();
    let bystanders = Bystanders::start(&manager, 20);
    let broken = Dispatcher::from_fn(|_job| panic!("dispatcher fault"));
    let task = manager
        .task(|_| Ok::<_, AppError>(5))
        .dispatcher(broken)
        .on_complete(|_| unreachable!("the dispatcher never runs jobs"))
        .start();
    // The outcome is still there for the handle...
    assert!(task.wait_for(PATIENCE));
    assert!(task.join().is_ok());
    // ...and the error handler heard of the panic and of the lost delivery.
    heard.wait_for(codes::ERR_CALLBACK_PANICKED, "dispatcher");
    heard.wait_for(
        codes::ERR_DELIVERY_LOST,
        "the dispatcher dropped 1 callback delivery",
    );
    bystanders.check(|| {});
    assert!(
        EventLoop::new().run_until_idle(&manager, PATIENCE),
        "the lost task settled"
    );
    common::assert_parallel_capacity(&manager, 2);
}

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("value drop fault");
    }
}

#[test]
fn a_result_value_whose_drop_panics() {
    let heard = Heard::default();
    let manager = heard.builder(2).build().unwrap();
    let bystanders = Bystanders::start(&manager, 20);
    // Detached at once: nobody will read the value, so the runtime drops it.
    drop(manager.spawn(|_| Ok::<_, AppError>(PanicsOnDrop)));
    heard.wait_for(codes::ERR_CALLBACK_PANICKED, "value drop fault");
    bystanders.check(|| {});
    common::assert_parallel_capacity(&manager, 2);
    assert!(EventLoop::new().run_until_idle(&manager, PATIENCE));
}

#[test]
fn a_body_panicking_with_a_non_string_payload() {
    let heard = Heard::default();
    let manager = heard.builder(2).build().unwrap();
    let bystanders = Bystanders::start(&manager, 20);
    let task = manager.spawn(|_| -> Result<(), AppError> {
        std::panic::panic_any(PanicsOnDrop) // its payload panics when dropped, too
    });
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_TASK_PANICKED);
    assert!(err.message().contains("non-string panic payload"));
    heard.wait_for(codes::ERR_TASK_PANICKED, "non-string");
    bystanders.check(|| {});
    common::assert_parallel_capacity(&manager, 2);
}

#[test]
fn callbacks_that_spawn_and_cancel() {
    let heard = Heard::default();
    let manager = heard.builder(2).build().unwrap();
    let bystanders = Bystanders::start(&manager, 20);
    let spawned = Arc::new(Mutex::new(Vec::new()));
    let (m, s) = (manager.clone(), spawned.clone());
    let gate = common::Gate::new();
    let victim = common::gated(&manager, &gate);
    let victim_id = victim.id();
    manager
        .task(|_| Ok::<_, AppError>(()))
        .on_complete(move |()| {
            // From inside a callback: start more work and cancel other work.
            for i in 0..10 {
                s.lock()
                    .unwrap()
                    .push(m.spawn(move |_| Ok::<_, AppError>(i)));
            }
            m.cancel(victim_id);
        })
        .start();
    eventually("ten new tasks", || spawned.lock().unwrap().len() == 10);
    for (i, task) in spawned.lock().unwrap().drain(..).enumerate() {
        assert_eq!(task.join().unwrap(), i);
    }
    gate.open(); // the victim's body ignores the flag; its outcome is *cancelled* anyway
    assert!(victim.join().unwrap_err().is_cancelled());
    bystanders.check(|| {});
    assert!(heard.codes().is_empty(), "{:?}", heard.codes());
    common::assert_parallel_capacity(&manager, 2);
}

#[test]
fn a_callback_that_drops_the_manager() {
    for dispatcher in ["worker", "event loop"] {
        let heard = Heard::default();
        let ui = EventLoop::new();
        let mut builder = heard.builder(2).shutdown_timeout(PATIENCE);
        if dispatcher == "event loop" {
            builder = builder.dispatcher(ui.dispatcher());
        }
        let manager = builder.build().unwrap();
        let bystanders = Bystanders::start(&manager, 20);
        let last_handle = Arc::new(Mutex::new(Some(manager.clone())));
        let l = last_handle.clone();
        let task = manager
            .task(|_| Ok::<_, AppError>(()))
            .on_complete(move |()| drop(l.lock().unwrap().take()))
            .start();
        drop(manager); // the callback now holds the last handle
        assert!(task.wait_for(PATIENCE));
        let started = std::time::Instant::now();
        // Bystanders end exactly once: completed, or cancelled by the shutdown.
        bystanders.check(|| {
            // Checked right below, with a message.
            let _ = ui.run_until(|| last_handle.lock().unwrap().is_none(), PATIENCE);
        });
        assert!(
            last_handle.lock().unwrap().is_none(),
            "{dispatcher}: callback ran"
        );
        assert!(
            started.elapsed() < PATIENCE,
            "{dispatcher}: nothing waited out"
        );
        assert!(
            heard.codes().is_empty(),
            "{dispatcher}: {:?}",
            heard.codes()
        );
    }
}

/// An executor whose waker panics (the common `tx.send(..).unwrap()` after the executor is
/// gone): the panic is contained like any user panic, and the task still gets its
/// callbacks, signals and registry update; the pool keeps its threads (guarantees 1, 2, 5).
#[test]
fn a_panicking_waker_is_contained() {
    use std::future::Future;
    use std::task::{Context, Wake, Waker};

    struct Bomb;
    impl Wake for Bomb {
        fn wake(self: Arc<Self>) {
            panic!("the executor is gone");
        }
    }

    let reported = Arc::new(Mutex::new(Vec::new()));
    let r = reported.clone();
    let manager = TaskManager::builder()
        .max_threads(1)
        .error_handler(move |err| r.lock().unwrap().push(err.code().to_owned()))
        .build()
        .unwrap();
    let completed_signals = Arc::new(AtomicUsize::new(0));
    let c = completed_signals.clone();
    manager.signals().task_completed.connect(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    let on_complete = Arc::new(AtomicUsize::new(0));
    let o = on_complete.clone();
    let gate = common::Gate::new();
    let g = gate.clone();
    let mut task = Box::pin(
        manager
            .task(move |_| {
                g.wait();
                Ok::<_, AppError>(1)
            })
            .on_complete(move |_| {
                o.fetch_add(1, Ordering::SeqCst);
            })
            .start(),
    );
    let waker = Waker::from(Arc::new(Bomb));
    assert!(task
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    gate.open();
    assert!(manager.wait_for_all(PATIENCE));
    eventually("on_complete", || on_complete.load(Ordering::SeqCst) == 1);
    eventually("the completed signal", || {
        completed_signals.load(Ordering::SeqCst) == 1
    });
    eventually("the report", || !reported.lock().unwrap().is_empty());
    assert_eq!(*reported.lock().unwrap(), [codes::ERR_CALLBACK_PANICKED]);
    // The worker survived: the one thread still runs tasks.
    assert_eq!(manager.spawn(|_| Ok::<_, AppError>(2)).join().unwrap(), 2);
    assert_eq!(manager.worker_count(), 1);
}

/// The panic message appears once in an `ERR_TASK_PANICKED` error's Display (it was in the
/// message and again in the details).
#[test]
fn a_panicked_tasks_error_says_its_panic_message_once() {
    let manager = TaskManager::new(1);
    let task = manager.spawn(|_| -> Result<(), AppError> { panic!("disk sector unreadable") });
    let err = task.join().unwrap_err().into_app_error();
    assert_eq!(err.code(), codes::ERR_TASK_PANICKED);
    let shown = err.to_string();
    assert_eq!(
        shown.matches("disk sector unreadable").count(),
        1,
        "{shown}"
    );
}
