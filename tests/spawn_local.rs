//! `EventLoop::spawn_local`: a future that is not `Send`, run as a task on the loop's thread
//! by `process_events`, cancelled like any task, and dropped there.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::PATIENCE;
use task_runtime::{current, AppError, EventLoop, TaskManager, TaskState};

/// Sets its flag when dropped, and checks it is dropped on `thread`.
struct Dropped(Arc<AtomicBool>, std::thread::ThreadId);

impl Drop for Dropped {
    fn drop(&mut self) {
        assert_eq!(
            std::thread::current().id(),
            self.1,
            "dropped on the loop's thread"
        );
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_local_future_runs_on_the_loop_thread_in_process_events() {
    let ui = EventLoop::new();
    let manager = TaskManager::new(2);
    let state = Rc::new(Cell::new(0u32)); // not Send
    let seen = Rc::clone(&state);
    let loop_thread = std::thread::current().id();
    let task = ui.spawn_local(async move {
        assert_eq!(std::thread::current().id(), loop_thread);
        let ctx = current().expect("a task's context inside its polls");
        let value = manager
            .spawn(|_| Ok::<_, AppError>(20))
            .await
            .map_err(|e| e.into_app_error())?;
        seen.set(value);
        ctx.sleep(Duration::from_millis(5)).await;
        seen.set(seen.get() + 1);
        Ok::<_, AppError>(seen.get())
    });
    assert_eq!(
        task.state(),
        TaskState::Queued,
        "nothing runs before process_events"
    );
    assert!(ui.run_until(|| task.is_finished(), PATIENCE));
    assert_eq!(state.get(), 21);
    assert_eq!(task.join().unwrap(), 21);
}

#[test]
fn a_cancel_decides_at_once_and_the_future_is_dropped_later_on_the_loop() {
    let ui = EventLoop::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let probe = Dropped(Arc::clone(&dropped), std::thread::current().id());
    let task = ui.spawn_local(async move {
        let _probe = probe;
        std::future::pending::<()>().await;
        Ok::<_, AppError>(())
    });
    ui.process_events(); // its first poll: it waits
    assert_eq!(task.state(), TaskState::Running);
    assert!(task.cancel());
    assert!(task.is_finished(), "decided inside cancel()");
    assert!(
        !dropped.load(Ordering::SeqCst),
        "not dropped inside the cancel"
    );
    assert!(ui.run_until(|| dropped.load(Ordering::SeqCst), PATIENCE));
    assert!(task.join().unwrap_err().is_cancelled());
}

#[test]
fn a_local_future_cancelled_from_another_thread_is_dropped_on_the_loop() {
    let ui = EventLoop::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let probe = Dropped(Arc::clone(&dropped), std::thread::current().id());
    let task = ui.spawn_local(async move {
        let _probe = probe;
        std::future::pending::<()>().await;
        Ok::<_, AppError>(())
    });
    let cancelled = std::thread::spawn(move || {
        task.cancel();
        task
    })
    .join()
    .unwrap();
    assert!(cancelled.is_finished());
    assert!(ui.run_until(|| dropped.load(Ordering::SeqCst), PATIENCE));
    assert!(cancelled.join().unwrap_err().is_cancelled());
}

#[test]
fn a_dropped_loop_ends_its_local_futures() {
    let ui = EventLoop::new();
    let task = ui.spawn_local(async { Ok::<_, AppError>(1) });
    drop(ui); // before any process_events
    assert!(task.wait_for(PATIENCE), "the task ended with its loop");
    assert!(task.join().is_err());
}

#[test]
fn a_local_future_may_spawn_another_and_its_panic_fails_only_itself() {
    let ui = Rc::new(EventLoop::new());
    let inner_ran = Rc::new(Cell::new(false));
    let (spawner, ran) = (Rc::clone(&ui), Rc::clone(&inner_ran));
    let outer = ui.spawn_local(async move {
        // Re-entrant: a local future started from inside another's poll.
        let inner = spawner.spawn_local(async move {
            ran.set(true);
            Ok::<_, AppError>(2)
        });
        let two = inner.await.map_err(|e| e.into_app_error())?;
        if two == 2 {
            panic!("a local future that panics");
        }
        Ok::<_, AppError>(two)
    });
    assert!(ui.run_until(|| outer.is_finished(), PATIENCE));
    assert!(inner_ran.get());
    let error = outer.join().unwrap_err().into_app_error();
    assert_eq!(error.code(), task_runtime::codes::ERR_TASK_PANICKED);
    // The loop goes on.
    let next = ui.spawn_local(async { Ok::<_, AppError>(3) });
    assert!(ui.run_until(|| next.is_finished(), PATIENCE));
    assert_eq!(next.join().unwrap(), 3);
}
