//! Local callbacks (`TaskBuilder::local()`), guarantee 8: a local callback runs only on the
//! thread that registered it, and is dropped there. They capture `Rc<RefCell<..>>` state,
//! which is not `Send`; ordering, exclusivity and outcomes are those of other tasks.

mod common;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};

use common::{Gate, PATIENCE};
use task_runtime::{
    codes, AppError, Dispatcher, EventLoop, Exclusive, Job, TaskContext, TaskManager,
};

/// A manager whose callbacks go to `ui`, and the errors its handler heard.
fn manager_on(ui: &EventLoop) -> (TaskManager, Arc<Mutex<Vec<AppError>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::clone(&errors);
    let manager = TaskManager::builder()
        .max_threads(2)
        .dispatcher(ui.dispatcher())
        .error_handler(move |error| heard.lock().unwrap().push(error.clone()))
        .build()
        .unwrap();
    (manager, errors)
}

/// Records the thread it is dropped on.
struct DropGuard(Arc<Mutex<Vec<ThreadId>>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(thread::current().id());
    }
}

#[test]
fn callbacks_capture_rc_state_and_run_on_the_owner_thread() {
    let ui = EventLoop::new();
    let (manager, errors) = manager_on(&ui);
    let owner = thread::current().id();
    // Which thread each callback ran on, and what it saw: state of this thread only.
    let seen: Rc<RefCell<Vec<(String, ThreadId)>>> = Rc::default();
    let record = |what: &'static str| {
        let seen = Rc::clone(&seen);
        move || {
            seen.borrow_mut()
                .push((what.to_owned(), thread::current().id()))
        }
    };
    let progress = {
        let seen = Rc::clone(&seen);
        move |p: task_runtime::Progress| {
            seen.borrow_mut()
                .push((format!("progress {}", p.current), thread::current().id()))
        }
    };
    let complete = {
        let seen = Rc::clone(&seen);
        move |value: u32| {
            seen.borrow_mut()
                .push((format!("complete {value}"), thread::current().id()))
        }
    };
    let task = manager
        .task(|ctx| {
            ctx.set_progress(1, 2);
            Ok::<_, AppError>(7)
        })
        .local()
        .name("local")
        .on_started(record("started"))
        .on_progress(progress)
        .on_complete(complete)
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    task.join().unwrap();

    let seen = seen.borrow();
    let events: Vec<&str> = seen.iter().map(|(what, _)| what.as_str()).collect();
    assert_eq!(events, ["started", "progress 1", "complete 7"]);
    assert!(seen.iter().all(|(_, thread)| *thread == owner));
    assert!(errors.lock().unwrap().is_empty());
}

#[test]
fn failures_and_cancellations_reach_local_callbacks() {
    let ui = EventLoop::new();
    let (manager, _) = manager_on(&ui);
    let outcome: Rc<RefCell<Vec<String>>> = Rc::default();
    let failed = Rc::clone(&outcome);
    manager
        .task(|_| Err::<(), _>(AppError::new("ERR_TEST", "no")))
        .local()
        .on_error(move |error| failed.borrow_mut().push(error.code().to_owned()))
        .start();
    let gate = Gate::new();
    let (g, cancelled) = (gate.clone(), Rc::clone(&outcome));
    let running = manager
        .task(move |ctx| {
            g.wait();
            ctx.check_cancelled()?;
            Ok::<_, AppError>(())
        })
        .local()
        .on_cancelled(move || cancelled.borrow_mut().push("cancelled".to_owned()))
        .start();
    running.cancel();
    gate.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    let mut outcome = outcome.borrow().clone();
    outcome.sort();
    assert_eq!(outcome, ["ERR_TEST", "cancelled"]);
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => (*message).to_owned(),
        (_, Some(message)) => message.clone(),
        _ => String::new(),
    }
}

#[test]
fn start_panics_with_advice_when_nothing_delivers_here() {
    let manager = TaskManager::new(1);
    let panic = catch_unwind(AssertUnwindSafe(|| {
        manager
            .task(|_| Ok::<_, AppError>(()))
            .local()
            .dispatcher(Dispatcher::worker_thread())
            .on_complete(|()| {})
            .start()
    }))
    .expect_err("the worker-thread dispatcher cannot deliver here");
    let message = panic_message(&*panic);
    assert!(message.contains("runs them on worker threads"), "{message}");
    assert!(message.contains("dispatcher(ui.dispatcher())"), "{message}");

    // An event loop of another thread.
    let elsewhere = thread::spawn(EventLoop::new).join().unwrap();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        manager
            .task(|_| Ok::<_, AppError>(()))
            .local()
            .dispatcher(elsewhere.dispatcher())
            .start()
    }))
    .expect_err("an event loop of another thread cannot deliver here");
    let message = panic_message(&*panic);
    assert!(message.contains("created on another thread"), "{message}");
    assert_eq!(manager.active_count(), 0, "nothing was started");
}

/// A manager whose `from_fn` dispatcher runs jobs on a thread of its own, "elsewhere", not
/// the owner of any local callback; its error handler keeps what it hears.
struct Elsewhere {
    manager: TaskManager,
    runner: thread::JoinHandle<()>,
    errors: Arc<Mutex<Vec<AppError>>>,
}

fn elsewhere(threads: usize) -> Elsewhere {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let runner = thread::Builder::new()
        .name("elsewhere".into())
        .spawn(move || inbox.into_iter().for_each(|job| job()))
        .unwrap();
    let jobs = Mutex::new(jobs);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::clone(&errors);
    let manager = TaskManager::builder()
        .max_threads(threads)
        .dispatcher(Dispatcher::from_fn(move |job| {
            jobs.lock().unwrap().send(job).unwrap()
        }))
        .error_handler(move |error| heard.lock().unwrap().push(error.clone()))
        .build()
        .unwrap();
    Elsewhere {
        manager,
        runner,
        errors,
    }
}

#[test]
fn a_delivery_on_another_thread_runs_nothing_and_names_both_threads() {
    let Elsewhere {
        manager,
        runner,
        errors,
    } = elsewhere(1);
    let drops = Arc::new(Mutex::new(Vec::new()));
    let owner = thread::Builder::new().name("owner".into());
    let (d, e) = (Arc::clone(&drops), Arc::clone(&errors));
    let owner_id = owner
        .spawn(move || {
            let guard = DropGuard(Arc::clone(&d));
            let ran = Rc::new(RefCell::new(0));
            let r = Rc::clone(&ran);
            let task = manager
                .task(|ctx| {
                    ctx.set_progress(1, 1);
                    Ok::<_, AppError>(5)
                })
                .local()
                .name("misdelivered")
                .on_progress(move |_| *r.borrow_mut() += 1)
                .on_complete(move |_| drop(guard))
                .start();
            task.join().expect("the outcome is unaffected");
            common::eventually("the delivery was attempted", || {
                !e.lock().unwrap().is_empty()
            });
            assert!(manager.wait_for_all(PATIENCE));
            assert_eq!(*ran.borrow(), 0, "no callback ran on the wrong thread");
            drop(manager);
            thread::current().id()
        })
        .unwrap()
        .join()
        .unwrap();
    runner.join().unwrap();

    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "one report for the task: {errors:?}");
    assert_eq!(errors[0].code(), codes::ERR_DELIVERY_LOST);
    assert!(errors[0].message().contains("'owner'"), "{}", errors[0]);
    assert!(errors[0].message().contains("'elsewhere'"), "{}", errors[0]);
    assert_eq!(errors[0].context()["lost"], "1", "{}", errors[0]);
    // The callback that never ran was dropped on its thread (when it exited, at the latest).
    assert_eq!(*drops.lock().unwrap(), [owner_id]);
}

#[test]
fn callbacks_that_never_run_are_dropped_on_the_owner_thread() {
    let drops = Arc::new(Mutex::new(Vec::new()));
    let d = Arc::clone(&drops);
    let owner_id = thread::spawn(move || {
        let ui = EventLoop::new();
        let (manager, _) = manager_on(&ui);
        // A failing task: its `on_complete` is dropped by the worker that ran the body,
        // far from its thread; a cancelled one's `on_complete` and `on_error` never run.
        let guard = DropGuard(Arc::clone(&d));
        manager
            .task(|_| Err::<u32, _>(AppError::new("ERR_TEST", "no")))
            .local()
            .on_complete(move |_| drop(guard))
            .on_error(|_| {})
            .start();
        let (guard, gate) = (DropGuard(Arc::clone(&d)), Gate::new());
        let g = gate.clone();
        let cancelled = manager
            .task(move |ctx| {
                g.wait();
                ctx.check_cancelled()
            })
            .local()
            .on_error(move |_| drop(guard))
            .start();
        cancelled.cancel();
        gate.open();
        // A builder dropped without starting drops its callbacks at once, here.
        let unstarted = Arc::new(Mutex::new(Vec::new()));
        let guard = DropGuard(Arc::clone(&unstarted));
        drop(
            manager
                .task(|_| Ok::<_, AppError>(()))
                .local()
                .on_cancelled(move || drop(guard)),
        );
        assert_eq!(*unstarted.lock().unwrap(), [thread::current().id()]);
        assert!(ui.run_until_idle(&manager, PATIENCE));
        thread::current().id()
    })
    .join()
    .unwrap();
    // Both dropped, each on its owner thread (when it exited, at the latest).
    assert_eq!(*drops.lock().unwrap(), [owner_id; 2]);
}

#[test]
fn a_local_callback_can_start_local_tasks() {
    let ui = EventLoop::new();
    let (manager, _) = manager_on(&ui);
    let total = Rc::new(RefCell::new(0));
    let (m, t) = (manager.clone(), Rc::clone(&total));
    manager
        .task(|_| Ok::<_, AppError>(1))
        .local()
        .on_complete(move |first| {
            *t.borrow_mut() += first;
            let t = Rc::clone(&t);
            // Registered from inside a local callback: the thread's table is not borrowed.
            m.task(|_| Ok::<_, AppError>(10))
                .local()
                .on_complete(move |second| *t.borrow_mut() += second)
                .start();
        })
        .start();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(*total.borrow(), 11);
}

/// A body that reports 1 of 2, waits for `step`, then reports 2 of 2: the test sees the
/// first delivery before the second report exists.
fn reports_twice(step: Gate) -> impl FnOnce(&TaskContext) -> Result<(), AppError> + Send {
    move |ctx| {
        ctx.set_progress(1, 2);
        step.wait();
        ctx.set_progress(2, 2);
        Ok(())
    }
}

/// A repeating callback is lent out of the thread's table for each call: local tasks it
/// starts from inside that call take other slots, and it comes back for the next report.
#[test]
fn a_progress_callback_that_starts_local_tasks_keeps_receiving() {
    let ui = EventLoop::new();
    let (manager, errors) = manager_on(&ui);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let started = Rc::new(RefCell::new(0));
    let (step, delivered) = (Gate::new(), Arc::new(AtomicUsize::new(0)));
    let d = Arc::clone(&delivered);
    let (m, seen_in, started_in) = (manager.clone(), Rc::clone(&seen), Rc::clone(&started));
    manager
        .task(reports_twice(step.clone()))
        .local()
        .on_progress(move |p| {
            seen_in.borrow_mut().push(p.current);
            d.fetch_add(1, Ordering::SeqCst);
            let started = Rc::clone(&started_in);
            m.task(|_| Ok::<_, AppError>(()))
                .local()
                .on_complete(move |()| *started.borrow_mut() += 1)
                .start();
        })
        .start();
    assert!(ui.run_until(|| delivered.load(Ordering::SeqCst) == 1, PATIENCE));
    step.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(*seen.borrow(), [1, 2]);
    assert_eq!(
        *started.borrow(),
        2,
        "each task started from the callback completed"
    );
    assert!(errors.lock().unwrap().is_empty());
}

#[test]
fn latest_wins_among_local_tasks() {
    let ui = EventLoop::new();
    let (manager, _) = manager_on(&ui);
    let shown = Rc::new(RefCell::new(Vec::new()));
    let gate = Gate::new();
    for query in ["r", "ru", "rus"] {
        let (g, s) = (gate.clone(), Rc::clone(&shown));
        manager
            .task(move |_| {
                g.wait();
                Ok::<_, AppError>(query)
            })
            .local()
            .name("search")
            .exclusive(Exclusive::CancelPrevious)
            .on_complete(move |results| s.borrow_mut().push(results))
            .start();
    }
    gate.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(*shown.borrow(), ["rus"]);
}

#[test]
fn a_panicking_progress_callback_keeps_receiving() {
    let ui = EventLoop::new();
    let (manager, errors) = manager_on(&ui);
    let calls = Rc::new(RefCell::new(Vec::new()));
    let (step, c) = (Gate::new(), Rc::clone(&calls));
    let delivered = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&delivered);
    manager
        .task(reports_twice(step.clone()))
        .local()
        .on_progress(move |p| {
            c.borrow_mut().push(p.current);
            d.fetch_add(1, Ordering::SeqCst);
            assert!(p.current > 1, "the first report panics");
        })
        .start();
    assert!(ui.run_until(|| delivered.load(Ordering::SeqCst) == 1, PATIENCE));
    step.open();
    assert!(ui.run_until_idle(&manager, PATIENCE));
    assert_eq!(*calls.borrow(), [1, 2]);
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code(), codes::ERR_CALLBACK_PANICKED);
}

/// 100,000 tasks of every kind with local callbacks: each ends exactly once, on this thread.
#[test]
fn every_local_task_ends_exactly_once_under_load() {
    const TASKS: u32 = 100_000;
    let ui = EventLoop::new();
    let (manager, _) = manager_on(&ui);
    let owner = thread::current().id();
    let ends: Rc<RefCell<Vec<u8>>> = Rc::new(RefCell::new(vec![0; TASKS as usize]));
    let off_thread = Rc::new(RefCell::new(0));
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let end = |ends: &Rc<RefCell<Vec<u8>>>, off: &Rc<RefCell<u32>>| {
            let (ends, off) = (Rc::clone(ends), Rc::clone(off));
            move || {
                ends.borrow_mut()[i as usize] += 1;
                if thread::current().id() != owner {
                    *off.borrow_mut() += 1;
                }
            }
        };
        let (done, failed, cancelled) = (
            end(&ends, &off_thread),
            end(&ends, &off_thread),
            end(&ends, &off_thread),
        );
        let task = manager
            .task(move |ctx| match i % 4 {
                0 => Ok(i),
                1 => Err(AppError::new("ERR_TEST", "failed")),
                2 => {
                    ctx.set_progress(1, 1);
                    Ok(i)
                }
                _ => ctx.check_cancelled().map(|()| i).map_err(AppError::from),
            })
            .local()
            .on_progress(|_| {})
            .on_complete(move |_| done())
            .on_error(move |_| failed())
            .on_cancelled(cancelled)
            .start();
        if i % 4 == 3 {
            task.cancel();
        }
        handles.push(task);
        if i % 1000 == 0 {
            ui.process_events();
        }
    }
    assert!(ui.run_until_idle(&manager, PATIENCE * 4));
    let ends = ends.borrow();
    let wrong: Vec<usize> = (0..TASKS as usize).filter(|&i| ends[i] != 1).collect();
    assert!(
        wrong.is_empty(),
        "{} tasks did not end exactly once",
        wrong.len()
    );
    assert_eq!(*off_thread.borrow(), 0);
    assert!(handles.iter().all(|task| task.is_finished()));
}

#[test]
fn the_handle_of_a_local_task_is_send() {
    fn send<T: Send>(_: &T) {}
    let ui = EventLoop::new();
    let (manager, _) = manager_on(&ui);
    let state = Rc::new(());
    let task = manager
        .task(|_| Ok::<_, AppError>(1))
        .local()
        .on_cancelled(move || drop(state))
        .start();
    send(&task);
    let value = thread::spawn(move || task.join().unwrap()).join().unwrap();
    assert_eq!(value, 1);
}

/// Many local tasks whose deliveries reach the wrong thread: one coalesced report pending per
/// pair of threads (not one per task), and the counts add up to every task once the thread
/// they reached is gone.
#[test]
fn deliveries_on_another_thread_are_reported_coalesced_per_pair_of_threads() {
    const TASKS: usize = 200;
    let Elsewhere {
        manager,
        runner,
        errors,
    } = elsewhere(2);
    thread::Builder::new()
        .name("owner".into())
        .spawn(move || {
            let tasks: Vec<_> = (0..TASKS)
                .map(|n| {
                    manager
                        .task(move |_| Ok::<_, AppError>(n))
                        .local()
                        .on_complete(|_| unreachable!("never on this thread"))
                        .start()
                })
                .collect();
            for task in tasks {
                task.join().expect("the outcome is unaffected");
            }
            assert!(manager.wait_for_all(PATIENCE));
            // The dispatcher goes with the manager; then the runner thread ends.
        })
        .unwrap()
        .join()
        .unwrap();
    runner.join().unwrap();

    let errors = errors.lock().unwrap();
    assert!(
        !errors.is_empty() && errors.len() <= 10,
        "coalesced, not one per task: {} reports",
        errors.len()
    );
    let mut lost = 0;
    for error in errors.iter() {
        assert_eq!(error.code(), codes::ERR_DELIVERY_LOST);
        assert!(error.message().contains("'owner'"), "{error}");
        assert!(error.message().contains("'elsewhere'"), "{error}");
        lost += error.context()["lost"].parse::<usize>().unwrap();
    }
    assert_eq!(lost, TASKS, "every task counted once");
}
