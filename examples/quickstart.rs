//! The quick start: an event loop on the main thread (standing in for a UI thread) and three
//! background tasks: one succeeds with progress, one fails, one is cancelled. Every callback
//! prints the thread it runs on.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::thread;
use std::time::Duration;

use task_runtime::{AppError, Category, EventLoop, TaskManager};

fn on_thread() -> String {
    thread::current().name().unwrap_or("?").to_owned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The main thread plays the UI: callbacks are queued on its event loop.
    let ui = EventLoop::new();
    let manager = TaskManager::builder()
        .max_threads(2)
        .dispatcher(ui.dispatcher())
        .build()?;

    // 1. Succeeds, reporting progress along the way.
    manager
        .task(|ctx| {
            let mut checksum = 0u64;
            for step in 1..=5u64 {
                thread::sleep(Duration::from_millis(40)); // stands for real work
                checksum = checksum.wrapping_mul(31).wrapping_add(step);
                ctx.report_progress(step, 5, format!("chunk {step} of 5"));
            }
            Ok::<_, AppError>(checksum)
        })
        .name("checksum")
        .on_started(|| println!("[checksum] started        (on {})", on_thread()))
        .on_progress(|p| println!("[checksum] progress {p}  (on {})", on_thread()))
        .on_complete(|sum| println!("[checksum] completed: {sum} (on {})", on_thread()))
        .start();

    // 2. Fails with a structured error.
    manager
        .task(|_ctx| -> Result<String, AppError> {
            let text = std::fs::read_to_string("/definitely/not/here.toml").map_err(|e| {
                AppError::new("ERR_CONFIG_READ", "could not read the configuration file")
                    .with_user_message("Settings could not be loaded; defaults are used.")
                    .with_category(Category::Configuration)
                    .with_context("path", "/definitely/not/here.toml")
                    .with_source(e)
            })?;
            Ok(text)
        })
        .name("load-config")
        .on_started(|| println!("[load-config] started     (on {})", on_thread()))
        .on_error(|err| {
            println!("[load-config] failed: {err}");
            println!(
                "[load-config] user sees: {} (on {})",
                err.user_message(),
                on_thread()
            );
        })
        .start();

    // 3. Cancelled while it runs: the body sees the flag and stops early.
    let slow = manager
        .task(|ctx| {
            for _ in 0..1000 {
                ctx.check_cancelled()?;
                thread::sleep(Duration::from_millis(5));
            }
            Ok::<_, AppError>(())
        })
        .name("slow-export")
        .on_started(|| println!("[slow-export] started     (on {})", on_thread()))
        .on_cancelled(|| println!("[slow-export] cancelled   (on {})", on_thread()))
        .start();

    // Let the slow task get going, keep the "UI" responsive, then cancel it.
    let running = ui.run_until(
        || slow.state() == task_runtime::TaskState::Running,
        Duration::from_secs(10),
    );
    assert!(running, "the slow task never started");
    // Nothing to wait for: keep the "UI" going for 100 ms.
    let _ = ui.run_until(|| false, Duration::from_millis(100));
    println!("[main] cancelling slow-export: {}", slow.cancel());

    if !ui.run_until_idle(&manager, Duration::from_secs(30)) {
        return Err("tasks did not finish in time".into());
    }
    println!(
        "[main] all done; slow-export ended as {:?}",
        slow.join().map(|_| ()).unwrap_err()
    );
    Ok(())
}
