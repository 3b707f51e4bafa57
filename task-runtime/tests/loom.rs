//! loom models of the races the guarantees depend on. They drive the real runtime: under
//! `--cfg loom` its locks, condition variables and atomics are loom's, the pool starts no
//! OS thread, and each model plays the worker itself with `run_queued_task`.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p task-runtime --release --test loom
//! ```
//!
//! The search is exhaustive (no preemption bound: the suite still runs in well under a
//! second; `LOOM_MAX_PREEMPTIONS` bounds it if a future model grows).
//!
//! One limitation shaped the runtime: loom 0.7's DPOR misses a race between a reader in one
//! thread and a read-modify-write in another when the writing thread *loaded* the same atomic
//! just before (its own load hides the reader). The task state machine therefore makes its
//! transitions compare-and-swap first; each model was checked against deliberately broken
//! runtimes (a non-atomic start, a missing notify, a lost waker, a second pending delivery,
//! an unsynchronised cancel...) and fails on every one.

#![cfg(loom)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use loom::sync::Mutex;
use loom::thread;
use task_runtime::{AppError, Dispatcher, EventLoop, Exclusive, Job, TaskError, TaskManager};

/// Every task of `manager` settled exactly once: none active, no terminal delivery pending.
/// (Never blocks: the event loop is empty and the deadline is now.)
fn assert_settled(manager: &TaskManager) {
    assert_eq!(manager.active_count(), 0);
    assert!(
        EventLoop::new().run_until_idle(manager, std::time::Duration::ZERO),
        "a task was settled twice or never"
    );
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with(loom::model::Builder::new(), f);
}

/// [`model`] with a bound on preemptions, for a model whose full search would take hours.
fn model_bounded(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    model_with(builder, f);
}

fn model_with(builder: loom::model::Builder, f: impl Fn() + Sync + Send + 'static) {
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = runs.clone();
    builder.check(move || {
        r.fetch_add(1, Ordering::Relaxed);
        f()
    });
    eprintln!("explored {} interleavings", runs.load(Ordering::Relaxed));
}

/// Records callback events. A std mutex is fine: it is never held across a loom operation.
#[derive(Clone, Default)]
struct Log(Arc<StdMutex<Vec<String>>>);

impl Log {
    fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn recorder(&self, event: &'static str) -> impl FnOnce() + Send + 'static {
        let log = self.clone();
        move || log.push(event)
    }
}

/// A UI queue built from loom primitives: `Dispatcher::from_fn` posts, `run_one` drains. It
/// remembers the longest it ever was.
#[derive(Clone, Default)]
struct Queue(Arc<Mutex<(VecDeque<Job>, usize)>>);

impl Queue {
    fn dispatcher(&self) -> Dispatcher {
        let queue = self.clone();
        Dispatcher::from_fn(move |job| {
            let mut queue = queue.0.lock().unwrap();
            queue.0.push_back(job);
            queue.1 = queue.1.max(queue.0.len());
        })
    }

    /// A one-thread manager that delivers to this queue.
    fn manager(&self) -> TaskManager {
        TaskManager::builder()
            .max_threads(1)
            .dispatcher(self.dispatcher())
            .build()
            .unwrap()
    }

    fn peak(&self) -> usize {
        self.0.lock().unwrap().1
    }

    /// Runs one queued job if there is one.
    fn run_one(&self) -> bool {
        let job = self.0.lock().unwrap().0.pop_front();
        match job {
            Some(job) => {
                job();
                true
            }
            None => false,
        }
    }

    fn run_all(&self) {
        while self.run_one() {}
    }
}

/// Cancel (from another thread) vs the worker starting and completing the task: exactly one
/// outcome, seen alike by the handle and the callbacks; a body cancelled before it started
/// never runs.
#[test]
fn cancel_races_start_and_completion() {
    model(|| {
        let manager = TaskManager::new(1);
        let ran = Arc::new(AtomicBool::new(false));
        let log = Log::default();
        let r = ran.clone();
        let task = manager
            .task(move |_| {
                r.store(true, Ordering::SeqCst);
                Ok::<_, AppError>(7)
            })
            .on_complete({
                let log = log.clone();
                move |_| log.push("completed")
            })
            .on_cancelled(log.recorder("cancelled"))
            .start();
        let canceller = {
            let manager = manager.clone();
            let id = task.id();
            thread::spawn(move || manager.cancel(id))
        };
        manager.run_queued_task();
        let cancel_returned = canceller.join().unwrap();
        assert!(task.is_finished(), "state: {:?}", task.state());
        let outcome = task.join();
        let events = log.events();
        match outcome {
            Ok(()) => assert_eq!(events, ["completed"]),
            Err(TaskError::Cancelled) => {
                assert_eq!(events, ["cancelled"]);
                assert!(cancel_returned, "the cancel that won must say so");
            }
            Err(other) => panic!("unexpected outcome {other:?}"),
        }
        if !ran.load(Ordering::SeqCst) {
            assert_eq!(events, ["cancelled"], "a task that never ran was cancelled");
        }
        assert_settled(&manager);
    });
}

/// Progress reported by the body vs a UI thread draining deliveries vs the terminal event:
/// the last value arrives before the terminal callback, nothing arrives after it, and no
/// value arrives twice.
#[test]
fn progress_coalescing_races_the_terminal_event() {
    model(|| {
        let ui = Queue::default();
        let manager = ui.manager();
        let log = Log::default();
        let task = manager
            .task(|ctx| {
                ctx.set_progress(1, 2);
                ctx.set_progress(2, 2);
                Ok::<_, AppError>(())
            })
            .on_progress({
                let log = log.clone();
                move |p| log.push(format!("progress {}", p.current))
            })
            .on_complete({
                let log = log.clone();
                move |()| log.push("completed")
            })
            .start();
        let ui_thread = {
            let ui = ui.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    if !ui.run_one() {
                        thread::yield_now();
                    }
                }
            })
        };
        manager.run_queued_task();
        ui_thread.join().unwrap();
        ui.run_all();
        task.join().unwrap();

        let events = log.events();
        assert_eq!(
            events.last().map(String::as_str),
            Some("completed"),
            "{events:?}"
        );
        let progress = &events[..events.len() - 1];
        assert_eq!(
            progress.last().map(String::as_str),
            Some("progress 2"),
            "{events:?}"
        );
        assert!(progress.len() <= 2, "{events:?}");
        assert!(progress.windows(2).all(|w| w[0] < w[1]), "{events:?}");
        assert!(!ui.run_one(), "nothing after the terminal callback");
        assert_eq!(ui.peak(), 1, "at most one delivery pending for the task");
        assert_settled(&manager);
    });
}

/// Awaiting the handle vs the worker completing it: the waker is never lost (a lost wake-up
/// is a deadlock, which loom reports).
#[test]
fn future_waker_races_completion() {
    model(|| {
        let manager = TaskManager::new(1);
        let task = manager.spawn(|_| Ok::<_, AppError>(5));
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        assert_eq!(loom::future::block_on(task).unwrap(), 5);
        worker.join().unwrap();
    });
}

/// `join` blocking vs the worker completing: no lost notification.
#[test]
fn join_races_completion() {
    model(|| {
        let manager = TaskManager::new(1);
        let task = manager.spawn(|_| Ok::<_, AppError>("done"));
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        assert_eq!(task.join().unwrap(), "done");
        worker.join().unwrap();
    });
}

/// Polling with `try_take` vs completion: the outcome is handed out exactly once, and
/// `is_finished` implies it is there.
#[test]
fn try_take_races_completion() {
    model(|| {
        let manager = TaskManager::new(1);
        let mut task = manager.spawn(|_| Ok::<_, AppError>(3));
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        let finished_before = task.is_finished();
        let first = task.try_take();
        if finished_before {
            assert!(first.is_some(), "finished but no outcome");
        }
        worker.join().unwrap();
        let taken = match first {
            Some(outcome) => outcome,
            None => task.try_take().expect("outcome after completion"),
        };
        assert_eq!(taken.unwrap(), 3);
        assert!(task.try_take().is_none(), "handed out once");
    });
}

/// Cancelling a queued task vs a frame loop polling it: once `is_finished` says so, the
/// outcome is there to take.
#[test]
fn queued_cancel_races_polling() {
    model(|| {
        let manager = TaskManager::new(1);
        let mut task = manager.spawn(|_| Ok::<_, AppError>(1));
        let canceller = {
            let manager = manager.clone();
            let id = task.id();
            thread::spawn(move || manager.cancel(id))
        };
        if task.is_finished() {
            assert!(task.try_take().is_some(), "finished but no outcome");
        }
        assert!(canceller.join().unwrap());
        while manager.run_queued_task() {}
        assert!(task.is_finished());
        assert_settled(&manager);
    });
}

/// Dropping the handle (detaching) vs the worker publishing the value: the value is dropped
/// exactly once, by whichever side ends up with it, and never left behind.
#[test]
fn detach_races_publish() {
    struct Counted(Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    model(|| {
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let manager = TaskManager::new(1);
        let d = drops.clone();
        let task = manager.spawn(move |_| Ok::<_, AppError>(Counted(d)));
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        drop(task);
        worker.join().unwrap();
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the value was dropped once"
        );
        assert_settled(&manager);
    });
}

/// `cancel_all` vs the worker finishing one task with another still queued: each ends
/// exactly once, the registry ends empty, and `cancel_all` counts exactly the tasks it
/// cancelled.
#[test]
fn registry_removal_races_cancel_all() {
    model(|| {
        let manager = TaskManager::new(1);
        let log = Log::default();
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                manager
                    .task(|_| Ok::<_, AppError>(()))
                    .name(name)
                    .on_complete({
                        let log = log.clone();
                        move |()| log.push(format!("{name} completed"))
                    })
                    .on_cancelled({
                        let log = log.clone();
                        move || log.push(format!("{name} cancelled"))
                    })
                    .start()
            })
            .collect();
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        let cancelled = manager.cancel_all();
        worker.join().unwrap();
        while manager.run_queued_task() {}

        let outcomes: Vec<_> = tasks.into_iter().map(|t| t.join()).collect();
        let cancelled_outcomes = outcomes.iter().filter(|o| o.is_err()).count();
        assert_eq!(cancelled, cancelled_outcomes, "{outcomes:?}");
        let events = log.events();
        assert_eq!(events.len(), 2, "{events:?}");
        for name in ["a", "b"] {
            assert_eq!(
                events.iter().filter(|e| e.starts_with(name)).count(),
                1,
                "{events:?}"
            );
        }
        assert_settled(&manager);
    });
}

/// A `CancelPrevious` task completing vs a newer task of its name being admitted: the
/// superseded task ends exactly once (completed or cancelled) and none of its callbacks run
/// once superseded.
#[test]
fn cancel_previous_races_completion_of_the_superseded_task() {
    model(|| {
        let ui = Queue::default();
        let manager = ui.manager();
        let log = Log::default();
        let search = |query: &'static str| {
            manager
                .task(move |_| Ok::<_, AppError>(query))
                .name("search")
                .exclusive(Exclusive::CancelPrevious)
                .on_complete({
                    let log = log.clone();
                    move |result| log.push(format!("{result} completed"))
                })
                .on_cancelled({
                    let log = log.clone();
                    move || log.push(format!("{query} cancelled"))
                })
                .start()
        };
        let first = search("first");
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        let second = search("second");
        worker.join().unwrap();
        while manager.run_queued_task() {}
        ui.run_all();

        match first.join() {
            Ok(()) | Err(TaskError::Cancelled) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
        second.join().unwrap();
        assert_eq!(log.events(), ["second completed"]);
        assert_settled(&manager);
    });
}

/// Records the (model) thread it is dropped on.
struct DropGuard(Arc<StdMutex<Vec<thread::ThreadId>>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(thread::current().id());
    }
}

/// Guarantee 8: a local callback runs only on the thread that registered it, and is dropped
/// there, while the worker drops the task's `on_complete` (the body failed) concurrently with
/// the owner delivering `on_error`. The worker cannot reach the owner's table: it leaves the
/// callback to the owner, which drops it the next time it touches its table.
#[test]
fn local_callbacks_run_and_drop_on_their_thread() {
    use std::cell::RefCell;
    use std::rc::Rc;

    model(|| {
        let queue = Queue::default();
        let manager = queue.manager();
        let owner = thread::current().id();
        let drops = Arc::new(StdMutex::new(Vec::new()));
        let ran = Rc::new(RefCell::new(Vec::new()));
        let (guard, r) = (DropGuard(Arc::clone(&drops)), Rc::clone(&ran));
        let task = manager
            .task(|_| Err::<u32, _>(AppError::new("ERR_TEST", "no")))
            .local()
            .on_complete(move |_| drop(guard))
            .on_error(move |_| r.borrow_mut().push(thread::current().id()))
            .start();
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        queue.run_all();
        worker.join().unwrap();
        queue.run_all();
        assert!(task.join().is_err());
        // Registering (here: a builder dropped unstarted) sweeps what the worker left.
        drop(
            manager
                .task(|_| Ok::<_, AppError>(()))
                .local()
                .on_started(|| {}),
        );
        assert_eq!(*ran.borrow(), [owner]);
        assert_eq!(*drops.lock().unwrap(), [owner]);
        assert_settled(&manager);
    });
}

/// Guarantee 11: the deadline vs the worker completing the task vs a cancel from another
/// thread. Exactly one outcome, the same for the handle and the callbacks: completed, or
/// cancelled (the cancel came first), or failed with a timeout (the deadline came first); a
/// body stopped by either never has its value delivered.
#[test]
fn timeout_races_completion_and_cancel() {
    model(|| {
        let manager = TaskManager::new(1);
        let log = Log::default();
        let task = timed(&manager, &log);
        let canceller = {
            let manager = manager.clone();
            let id = task.id();
            thread::spawn(move || manager.cancel(id))
        };
        let timer = {
            let manager = manager.clone();
            thread::spawn(move || manager.expire_deadlines())
        };
        manager.run_queued_task();
        canceller.join().unwrap();
        timer.join().unwrap();
        assert_one_outcome(task, &log);
        assert_settled(&manager);
    });
}

/// Guarantee 9: a scope dropped on the dispatcher's thread while its task completes on a
/// worker (its delivery in flight or not yet posted): whatever ran before the drop, no
/// callback starts after it, and the task still has exactly one outcome.
#[test]
fn no_callback_starts_after_the_scope_is_dropped() {
    model(|| {
        let queue = Queue::default();
        let manager = queue.manager();
        let scope = manager.scope();
        let log = Log::default();
        let done = log.clone();
        let task = scope
            .task(|ctx| {
                ctx.set_progress(1, 1);
                Ok::<_, AppError>(7)
            })
            .on_started(log.recorder("started"))
            .on_progress({
                let log = log.clone();
                move |_| log.push("progress")
            })
            .on_complete(move |_| done.push("completed"))
            .on_cancelled(log.recorder("cancelled"))
            .start();
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || {
                manager.run_queued_task();
            })
        };
        queue.run_one();
        let before = log.events().len();
        drop(scope);
        queue.run_all();
        worker.join().unwrap();
        queue.run_all();
        assert_eq!(
            log.events().len(),
            before,
            "after the drop: {:?}",
            log.events()
        );
        assert!(task.is_finished());
        assert_settled(&manager);
    });
}

/// Publishing (with room for one item) vs a UI thread draining vs a cancel from a third
/// thread: the items delivered are an in-order prefix of those published, none published
/// after the body saw the cancel arrives, all arrive before the terminal callback, at most
/// one delivery is pending, and a publisher waiting for room is always released. Three
/// threads and two locks: the full search runs for hours, so preemptions are bounded (5, 257,144 interleavings;
/// loom's documentation: most bugs need two or three).
#[test]
fn publish_races_drain_and_cancel() {
    model_bounded(5, || {
        let ui = Queue::default();
        let manager = ui.manager();
        let log = Log::default();
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let saw = saw_cancel.clone();
        let task = manager
            .task_with_items(move |ctx, items| {
                items.publish(1);
                items.publish(2); // waits for room until a drain or the cancel
                saw.store(ctx.is_cancelled(), Ordering::SeqCst);
                items.publish(3);
                Ok::<_, AppError>(())
            })
            .max_pending_items(1)
            .on_items({
                let log = log.clone();
                move |batch: Vec<u32>| {
                    for item in batch {
                        log.push(format!("item {item}"));
                    }
                }
            })
            .on_complete({
                let log = log.clone();
                move |()| log.push("completed")
            })
            .on_cancelled(log.recorder("cancelled"))
            .start();
        let ui_thread = {
            let ui = ui.clone();
            thread::spawn(move || {
                if !ui.run_one() {
                    thread::yield_now();
                }
            })
        };
        let canceller = {
            let manager = manager.clone();
            let id = task.id();
            thread::spawn(move || manager.cancel(id))
        };
        manager.run_queued_task();
        ui_thread.join().unwrap();
        canceller.join().unwrap();
        ui.run_all();
        let _ = task.join();

        let events = log.events();
        let (end, items) = events.split_last().expect("a terminal callback");
        assert!(end == "completed" || end == "cancelled", "{events:?}");
        let expected: Vec<String> = (1..=items.len()).map(|n| format!("item {n}")).collect();
        assert_eq!(items, expected.as_slice(), "an in-order prefix: {events:?}");
        if saw_cancel.load(Ordering::SeqCst) {
            assert!(items.len() < 3, "published after the cancel: {events:?}");
        }
        assert!(ui.peak() <= 1, "at most one delivery pending");
        assert_settled(&manager);
    });
}

/// A task with a deadline (passed only when a model says so) whose callbacks write to `log`.
fn timed(manager: &TaskManager, log: &Log) -> task_runtime::Task<()> {
    let (done, failed) = (log.clone(), log.clone());
    manager
        .task(|_| Ok::<_, AppError>(7))
        .timeout(std::time::Duration::from_secs(3600))
        .on_complete(move |_| done.push("completed"))
        .on_error(move |error| failed.push(error.code().to_owned()))
        .on_cancelled(log.recorder("cancelled"))
        .start()
}

/// The task of [`timed`] ended once, the way its one callback says; its callbacks' events.
fn assert_one_outcome(task: task_runtime::Task<()>, log: &Log) -> Vec<String> {
    let events = log.events();
    match task.join() {
        Ok(()) => assert_eq!(events, ["completed"]),
        Err(TaskError::Cancelled) => assert_eq!(events, ["cancelled"]),
        Err(TaskError::Failed(error)) => {
            assert_eq!(error.code(), task_runtime::codes::ERR_TASK_TIMEOUT);
            assert_eq!(events, [task_runtime::codes::ERR_TASK_TIMEOUT]);
        }
    }
    events
}

/// How a model cancels many tasks at once.
#[derive(Clone, Copy, Debug)]
enum CancelMany {
    All,
    Scope,
    ScopeDrop,
}

/// Guarantee 16: the running task that `cancel_all`, a scope's `cancel` or its drop stops
/// first frees the worker while the call is still on its way to the queued task behind it:
/// that worker must not start the queued task (it was queued when the call began), and the
/// call counts both. The body of the running task returns as soon as it sees the cancel. The
/// queued task is detached (nobody holds it but the runtime), so a worker that leaves it to
/// the call must not let go of its last reference: it must still end exactly once.
fn a_freed_worker_never_starts_what_the_call_cancels(how: CancelMany) {
    model(move || {
        let manager = TaskManager::new(1);
        let scope = manager.scope();
        let first = scope.spawn(|ctx| {
            while !ctx.is_cancelled() {
                thread::yield_now();
            }
            Ok::<_, AppError>(())
        });
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        drop(scope.spawn(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok::<_, AppError>(())
        }));
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || while manager.run_queued_task() {})
        };
        let cancelled = match how {
            CancelMany::All => Some(manager.cancel_all()),
            CancelMany::Scope => Some(scope.cancel()),
            CancelMany::ScopeDrop => {
                drop(scope);
                None
            }
        };
        worker.join().unwrap();
        while manager.run_queued_task() {}

        assert!(!ran.load(Ordering::SeqCst), "{how:?}: the queued body ran");
        if let Some(cancelled) = cancelled {
            assert_eq!(cancelled, 2, "{how:?}: both tasks were active");
        }
        assert!(matches!(first.join(), Err(TaskError::Cancelled)));
        assert_settled(&manager);
    });
}

#[test]
fn a_freed_worker_never_starts_what_cancel_all_cancels() {
    a_freed_worker_never_starts_what_the_call_cancels(CancelMany::All);
}

#[test]
fn a_freed_worker_never_starts_what_a_scopes_cancel_cancels() {
    a_freed_worker_never_starts_what_the_call_cancels(CancelMany::Scope);
}

#[test]
fn a_freed_worker_never_starts_what_a_scopes_drop_cancels() {
    a_freed_worker_never_starts_what_the_call_cancels(CancelMany::ScopeDrop);
}

/// A task submitted (and detached) while `cancel_all` or a scope's `cancel` runs: it is
/// cancelled by the call (and counted) or runs normally, and either way ends exactly once.
/// Its stamp must be taken after it is listed, or a worker could leave it to a round whose
/// snapshot never had it.
fn a_task_submitted_during_the_call_ends_exactly_once(how: CancelMany) {
    model(move || {
        let manager = TaskManager::new(1);
        let scope = manager.scope();
        let submitter = {
            let scope = scope.handle();
            thread::spawn(move || drop(scope.spawn(|_| Ok::<_, AppError>(()))))
        };
        let cancelled = match how {
            CancelMany::All => manager.cancel_all(),
            CancelMany::Scope => scope.cancel(),
            CancelMany::ScopeDrop => {
                drop(scope);
                0
            }
        };
        submitter.join().unwrap();
        while manager.run_queued_task() {}
        assert!(cancelled <= 1);
        assert_settled(&manager);
    });
}

#[test]
fn a_task_submitted_during_cancel_all_ends_exactly_once() {
    a_task_submitted_during_the_call_ends_exactly_once(CancelMany::All);
}

#[test]
fn a_task_submitted_during_a_scopes_cancel_ends_exactly_once() {
    a_task_submitted_during_the_call_ends_exactly_once(CancelMany::Scope);
}

#[test]
fn a_task_submitted_during_a_scopes_drop_ends_exactly_once() {
    a_task_submitted_during_the_call_ends_exactly_once(CancelMany::ScopeDrop);
}

/// `cancel_all` and the deadline race a worker starting the task (which may step it back to
/// queued for the round, and then find a stop request and decide it without its body): one
/// outcome, delivered once, and `cancel_all` counts the task exactly when it ended cancelled.
#[test]
fn cancel_all_and_a_deadline_race_the_start_of_a_task() {
    model(|| {
        let manager = TaskManager::new(1);
        let log = Log::default();
        let task = timed(&manager, &log);
        let worker = {
            let manager = manager.clone();
            thread::spawn(move || while manager.run_queued_task() {})
        };
        let timer = {
            let manager = manager.clone();
            thread::spawn(move || manager.expire_deadlines())
        };
        let cancelled = manager.cancel_all();
        worker.join().unwrap();
        timer.join().unwrap();
        while manager.run_queued_task() {}
        let events = assert_one_outcome(task, &log);
        assert_eq!(
            cancelled,
            usize::from(events == ["cancelled"]),
            "{events:?}"
        );
        assert_settled(&manager);
    });
}

/// A polled body's future that counts its polls and its drop, and keeps its waker where a
/// model can call it.
#[derive(Clone, Default)]
struct Probe {
    polls: Arc<std::sync::atomic::AtomicUsize>,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
    waker: Arc<StdMutex<Option<std::task::Waker>>>,
}

struct Probed {
    probe: Probe,
    /// Polls that stay pending before it is ready.
    pending: usize,
}

impl std::future::Future for Probed {
    type Output = Result<u32, AppError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.probe.polls.fetch_add(1, Ordering::SeqCst);
        if self.pending == 0 {
            return std::task::Poll::Ready(Ok(5));
        }
        self.pending -= 1;
        *self.probe.waker.lock().unwrap() = Some(cx.waker().clone());
        std::task::Poll::Pending
    }
}

impl Drop for Probed {
    fn drop(&mut self) {
        self.probe.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Cancel (from another thread) vs the worker polling an async body that parks: one outcome;
/// if the cancel found the body parked, the task is decided when `cancel` returns; the future
/// is polled no more after the decision, and dropped exactly once (if it was made: a task
/// cancelled while queued never calls its function), by the worker (this model's main
/// thread), never by the cancelling thread.
#[test]
fn cancel_races_a_poll() {
    model(|| {
        let manager = TaskManager::new(1);
        let probe = Probe::default();
        let task = {
            let probe = probe.clone();
            manager.spawn_async(move |_| Probed { probe, pending: 1 })
        };
        let canceller = {
            let task_id = task.id();
            let manager = manager.clone();
            let dropped = probe.dropped.clone();
            thread::spawn(move || {
                let cancelled = manager.cancel(task_id);
                // Whatever the cancel found, it dropped nothing itself.
                assert_eq!(
                    dropped.load(Ordering::SeqCst),
                    0,
                    "dropped by the canceller"
                );
                cancelled
            })
        };
        manager.run_queued_task();
        let cancelled = canceller.join().unwrap();
        assert!(cancelled, "the body never finishes before it is woken");
        assert!(task.is_finished(), "state: {:?}", task.state());
        let polls = probe.polls.load(Ordering::SeqCst);
        // A waker kept by the future is called after the end: nothing happens.
        if let Some(waker) = probe.waker.lock().unwrap().take() {
            waker.wake();
        }
        while manager.run_queued_task() {}
        assert!(matches!(task.join(), Err(TaskError::Cancelled)));
        assert_eq!(
            probe.polls.load(Ordering::SeqCst),
            polls,
            "polled after the decision"
        );
        assert!(polls <= 1);
        // Cancelled while queued, the function never ran: there was no future to drop.
        let made = usize::from(polls > 0);
        assert_eq!(
            probe.dropped.load(Ordering::SeqCst),
            made,
            "dropped exactly once"
        );
        assert_settled(&manager);
    });
}

/// A wake from another thread vs the worker's poll that parks the body: the wake is never lost
/// (the body is polled again and completes) and never doubled (one poll per wake at most, one
/// outcome).
#[test]
fn a_wake_races_the_poll_that_parks() {
    model(|| {
        let manager = TaskManager::new(1);
        let probe = Probe::default();
        let task = {
            let probe = probe.clone();
            manager.spawn_async(move |_| Probed { probe, pending: 1 })
        };
        let waker = {
            let waker = probe.waker.clone();
            thread::spawn(move || loop {
                // Waits (by yielding to the model) until the first poll kept its waker.
                if let Some(waker) = waker.lock().unwrap().take() {
                    waker.wake();
                    return;
                }
                thread::yield_now();
            })
        };
        manager.run_queued_task();
        waker.join().unwrap();
        while manager.run_queued_task() {}
        assert_eq!(task.join().unwrap(), 5);
        assert_eq!(probe.polls.load(Ordering::SeqCst), 2);
        assert_eq!(probe.dropped.load(Ordering::SeqCst), 1);
        assert_settled(&manager);
    });
}

/// Cancelling a continuation while its antecedent runs and decides: every task ends exactly
/// once (the antecedent too, cancelled by the continuation's cancel or completed first), and
/// the continuation's function runs at most once, and once if it completed.
#[test]
fn cancel_the_tail_while_the_head_decides() {
    model(|| {
        let manager = TaskManager::new(1);
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let head = manager.spawn(|_| Ok::<_, AppError>(1));
        let head_id = head.id();
        let tail = {
            let ran = Arc::clone(&ran);
            head.then(move |_, n| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok::<_, AppError>(n + 1)
            })
            .start()
        };
        let canceller = {
            let manager = manager.clone();
            let tail_id = tail.id();
            thread::spawn(move || {
                manager.cancel(tail_id);
            })
        };
        while manager.run_queued_task() {}
        canceller.join().unwrap();
        while manager.run_queued_task() {}
        let ran = ran.load(Ordering::SeqCst);
        match tail.join() {
            Ok(value) => {
                assert_eq!(value, 2);
                assert_eq!(ran, 1, "the continuation completed: f ran once");
            }
            // Cancelled while queued (f never ran) or while f ran (its value dropped).
            Err(TaskError::Cancelled) => assert!(ran <= 1, "f ran {ran} times"),
            Err(other) => panic!("unexpected outcome {other:?}"),
        }
        assert!(
            manager.tasks().iter().all(|t| t.id != head_id),
            "the head is decided"
        );
        assert_settled(&manager);
    });
}

/// `when_any` while its two inputs end at once, on two threads, one failing and one
/// completing: whichever it records first, it completes exactly once, with the completed one
/// (a failure recorded first leaves it waiting, and the completion's wake is not lost);
/// nothing is left undecided.
#[test]
fn when_any_two_inputs_complete_at_once() {
    model(|| {
        let manager = TaskManager::new(1);
        let inputs = vec![
            manager.spawn(|_| Err::<u32, _>(AppError::new("ERR_X", "failed"))),
            manager.spawn(|_| Ok::<_, AppError>(11)),
        ];
        // Ahead of its inputs: polled first, it waits for them with their wakers registered.
        let any = manager.when_any(inputs).priority(1).start();
        assert!(manager.run_queued_task());
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let manager = manager.clone();
                thread::spawn(move || {
                    manager.run_queued_task();
                })
            })
            .collect();
        // This thread plays a third worker: the combinator's poll may race a completion.
        manager.run_queued_task();
        manager.run_queued_task();
        for worker in workers {
            worker.join().unwrap();
        }
        while manager.run_queued_task() {}
        assert_eq!(any.join().unwrap(), (1, 11));
        assert_settled(&manager);
    });
}

/// A map's items claimed by two workers (its body and a helper) vs a cancel: every item runs
/// at most once, the map ends exactly once, a completed map ran every item once and gives
/// every value in order, and neither the body's wait nor a helper's turn is ever lost.
#[test]
fn map_claims_race_a_cancel() {
    model_bounded(4, || {
        let manager = TaskManager::new(2);
        let ran: Arc<Vec<std::sync::atomic::AtomicUsize>> = Arc::new(
            (0..3)
                .map(|_| std::sync::atomic::AtomicUsize::new(0))
                .collect(),
        );
        let counting = Arc::clone(&ran);
        let map = manager
            .map(0..3usize, move |_, n| {
                counting[n].fetch_add(1, Ordering::SeqCst);
                Ok::<_, AppError>(n * 10)
            })
            .parallelism(2)
            .start();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let manager = manager.clone();
                thread::spawn(move || {
                    manager.run_queued_task();
                })
            })
            .collect();
        map.cancel();
        for worker in workers {
            worker.join().unwrap();
        }
        while manager.run_queued_task() {}
        let runs: Vec<usize> = ran.iter().map(|n| n.load(Ordering::SeqCst)).collect();
        assert!(runs.iter().all(|&n| n <= 1), "an item ran twice: {runs:?}");
        match map.join() {
            Ok(values) => {
                assert_eq!(values, [0, 10, 20]);
                assert_eq!(runs, [1, 1, 1]);
            }
            Err(error) => assert!(error.is_cancelled(), "{error:?}"),
        }
        assert_settled(&manager);
    });
}
