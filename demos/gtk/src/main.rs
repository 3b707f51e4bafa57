//! A GTK 4 window that stays responsive while task-runtime hashes files on its workers. Every
//! callback is local (`local = true`): it captures GTK widgets and `Rc` state directly, runs on
//! the main thread and is dropped there. The wiring to glib's main loop is one dispatcher:
//! each delivery becomes an idle callback of the main context.
//!
//! ```text
//! cargo run --release                   # a window; click "Hash all files", type, cancel
//! cargo run --release -- --script 6     # drives itself, prints a summary, closes (CI)
//! ```

mod files;
mod row;
mod script;
mod stats;
mod window;

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use gtk::prelude::*;
use gtk::{gio, glib};
use task_runtime::{Dispatcher, TaskManager};

use script::Ending;
use window::Demo;

const FILES: usize = 11;
const FILE_SIZE: usize = 2 * 1024 * 1024;
const THREADS: usize = 2;

fn main() -> ExitCode {
    let script = parse_args();
    let (dir, paths) = match files::sample(FILES, FILE_SIZE) {
        Ok(sample) => sample,
        Err(error) => {
            eprintln!("gtk-demo: cannot write the sample files: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Each delivery of a task's callbacks runs as an idle callback of glib's main loop, on
    // the main thread, where the local callbacks were registered.
    let tasks = TaskManager::builder()
        .max_threads(THREADS)
        .dispatcher(Dispatcher::from_fn(|job| {
            glib::idle_add_once(job);
        }))
        .build()
        .expect("a task manager");

    // About half the scripted time hashing: chunks per file, spread over the workers.
    let chunks = (FILE_SIZE / (64 * 1024)) as f64;
    let pace = Duration::from_secs_f64(
        script.unwrap_or(12.0) * 0.5 * THREADS as f64 / (FILES as f64 * chunks),
    );

    let app = gtk::Application::builder()
        .application_id("dev.taskruntime.GtkDemo")
        .flags(gio::ApplicationFlags::NON_UNIQUE)
        .build();
    let ended: Rc<Cell<Option<Ending>>> = Rc::default();
    let demo: Rc<Cell<Option<Demo>>> = Rc::default();
    {
        let (tasks, ended, demo) = (tasks.clone(), Rc::clone(&ended), Rc::clone(&demo));
        app.connect_activate(move |app| {
            let window = Demo::new(app, &tasks, paths.clone(), pace);
            window.window.present();
            if let Some(seconds) = script {
                script::run(&window, seconds, Rc::clone(&ended));
            }
            demo.set(Some(window));
        });
    }
    // Not `run()`: it would parse this program's own flags as GTK's.
    app.run_with_args::<&str>(&[]);

    let status = match demo.take() {
        Some(demo) => summary(&demo, ended.get()),
        None => ExitCode::FAILURE,
    };
    let _ = std::fs::remove_dir_all(dir);
    status
}

/// The machine-read line (run-headless.sh checks it), then a line for people.
fn summary(demo: &Demo, ended: Option<Ending>) -> ExitCode {
    let started = demo.shared.started.borrow().clone();
    let tally = demo.shared.ledger.tally(&started);
    let frames = demo.shared.frames.borrow();
    let off_main = demo.shared.threads.borrow().off_main;
    println!(
        "summary: frames={} longest_stall_ms={} tasks={} completed={} failed={} cancelled={} \
         without_outcome={} extra_outcomes={} off_main_callbacks={} rows={} rows_shown={} ended={}",
        frames.count,
        frames.longest_busy_gap.as_millis(),
        started.len(),
        tally.completed,
        tally.failed,
        tally.cancelled,
        tally.without_outcome,
        tally.extra_outcomes,
        off_main,
        demo.rows.len(),
        demo.shared.rows_ended.get(),
        match ended {
            Some(Ending::Finished) => "finished",
            Some(Ending::GaveUp) => "gave_up",
            None => "closed",
        },
    );
    if ended == Some(Ending::GaveUp) {
        eprintln!("gtk-demo: gave up waiting for the tasks' outcomes");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--script SECONDS`, or nothing.
fn parse_args() -> Option<f64> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--script"), Some(seconds)) => match seconds.parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Some(seconds),
            _ => usage(&format!("not a number of seconds: {seconds:?}")),
        },
        (Some(other), _) => usage(&format!("unknown argument {other:?}")),
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("gtk-demo: {problem}\nusage: gtk-demo [--script SECONDS]");
    std::process::exit(2)
}
