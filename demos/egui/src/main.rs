//! An egui window that stays responsive while task-runtime runs real work behind it.
//!
//! ```text
//! cargo run --release                  # a window; press the buttons, type in the search box
//! cargo run --release -- --script 6    # driven by a script for 6 s, then a summary line
//! ```
//!
//! The wiring an application needs is three lines in `app.rs`: an `EventLoop` whose waker
//! asks egui for a frame, managers that dispatch to it, and `process_events()` once per
//! frame. Everything else here is the application.

mod app;
mod clock;
mod report;
mod script;
mod service;
mod summary;
mod view;

// The same work and task record as the terminal demo (`cargo run --example demo` at the
// repository root).
#[path = "../../../examples/demo/history.rs"]
mod history;
#[path = "../../../examples/demo/work.rs"]
mod work;
// The download panel's loopback server and HTTP client, as in `examples/fetch`.
#[path = "../../../examples/fetch/http.rs"]
mod http;
#[path = "../../../examples/fetch/server.rs"]
mod server;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eframe::egui;

const USAGE: &str = "usage: egui-demo [--script SECONDS]
  --script SECONDS   drive the window without a person for SECONDS (at least 2), close it,
                     and print a summary: frames drawn, longest frame gap, outcome per task";

fn parse_args() -> Result<Option<Duration>, String> {
    let mut args = std::env::args().skip(1);
    let mut script = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--script" => {
                let value = args.next().ok_or("--script needs a number of seconds")?;
                let seconds = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 2.0 && *s <= 3600.0)
                    .ok_or(format!(
                        "--script: expected seconds between 2 and 3600, got {value:?}"
                    ))?;
                script = Some(Duration::from_secs_f64(seconds));
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(script)
}

fn main() -> ExitCode {
    let script = match parse_args() {
        Ok(script) => script,
        Err(message) => {
            eprintln!("egui-demo: {message}");
            return ExitCode::from(2);
        }
    };
    // The plugin button panics on purpose; the runtime turns that into the task's error.
    // One line per panic keeps the output readable (no backtrace for an expected bug).
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        eprintln!(
            "egui-demo: panic on {}: {info}",
            thread.name().unwrap_or("a thread")
        );
    }));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("task-runtime egui demo")
            .with_inner_size([1180.0, 640.0])
            .with_position([0.0, 0.0]),
        ..Default::default()
    };
    let summary = Arc::new(Mutex::new(None));
    let written = summary.clone();
    let run = eframe::run_native(
        "task-runtime egui demo",
        options,
        Box::new(move |cc| {
            let script = script.map(script::Script::new);
            Ok(Box::new(app::DemoApp::new(cc, script, written)))
        }),
    );
    if let Err(err) = run {
        eprintln!("egui-demo: the window could not run: {err}");
        return ExitCode::FAILURE;
    }
    let summary = summary.lock().unwrap().take();
    match summary {
        Some(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("egui-demo: the window closed without a summary");
            ExitCode::FAILURE
        }
    }
}
