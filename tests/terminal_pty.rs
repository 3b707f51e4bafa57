//! `TerminalProgress` on a real terminal: the program runs itself under `script` (a pty, so
//! indicatif draws as it does for a user), and what it wrote is replayed into a terminal
//! emulator (indicatif's `InMemoryTerm`) to see the screen it leaves.
//!
//! A shown scope's `wait()` returns only once its line was drawn with its counts, printed as
//! a line of its own, so the program's next output starts on a fresh line (it used to be
//! glued onto the bar, left at 19/20, with the closing line printed after the program's later
//! output).

use std::process::Command;
use std::time::Duration;

use task_runtime::indicatif::{InMemoryTerm, TermLike};
use task_runtime::{AppError, TaskManager, TerminalProgress};

const CHILD: &str = "TASK_RUNTIME_PTY_CHILD";
const COLUMNS: u16 = 100;

/// What runs on the pty: twenty tasks in a shown scope, one failing, then the program's own
/// lines.
fn child() {
    let manager = TaskManager::builder()
        .max_threads(2)
        .progress_display(TerminalProgress::new())
        .error_handler(|_| {})
        .build()
        .unwrap();
    let batch = manager.scope().named("hash").show_progress(true);
    for n in 0..20u64 {
        batch
            .task(move |ctx| {
                std::thread::sleep(Duration::from_millis(5));
                ctx.set_progress(10, 10);
                if n == 7 {
                    return Err(AppError::new("ERR_HASH", "unreadable"));
                }
                Ok(())
            })
            .start();
    }
    assert!(batch.wait(Duration::from_secs(30)));
    eprintln!("AFTER WAIT");
    drop(batch);
    drop(manager);
    eprintln!("THE END");
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let has_script = Command::new("script").arg("--version").output().is_ok();
    if !has_script {
        // util-linux's `script` is Linux's; CI (Linux) has it, and must run this.
        assert!(
            std::env::var_os("CI").is_none(),
            "terminal_pty needs util-linux's `script` in CI"
        );
        println!("terminal_pty: skipped, no `script` (util-linux) to run on a pty");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // A terminal of a known width: indicatif pads each line to it, and the emulator must wrap
    // where the terminal did.
    let command = format!("stty cols {COLUMNS} rows 50 && exec '{}'", exe.display());
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env(CHILD, "1")
        .output()
        .expect("`script` (util-linux) runs the test on a pty");
    assert!(output.status.success(), "{output:?}");
    let raw = String::from_utf8_lossy(&output.stdout);
    let term = InMemoryTerm::new(500, COLUMNS);
    term.write_str(&raw.replace('\n', "\r\n").replace("\r\r\n", "\r\n"))
        .unwrap();
    let screen = term.contents();
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let at = |text: &str| {
        lines
            .iter()
            .position(|line| line.contains(text))
            .unwrap_or_else(|| panic!("no line with {text:?} on the screen:\n{screen}"))
    };
    let after_wait = at("AFTER WAIT");
    assert_eq!(
        lines[after_wait], "AFTER WAIT",
        "the program's output starts on a line of its own:\n{screen}"
    );
    let hash = lines[..after_wait]
        .iter()
        .rposition(|line| line.starts_with("hash: "))
        .unwrap_or_else(|| panic!("the scope's line is drawn before wait returns:\n{screen}"));
    assert!(
        lines[hash].contains("20/20")
            && lines[hash].contains("200 of 200 units")
            && lines[hash].contains("19 completed, 1 failed, 0 cancelled"),
        "the scope's last line, with its counts:\n{screen}"
    );
    let end = at("THE END");
    assert!(
        lines[after_wait..end]
            .iter()
            .all(|line| !line.starts_with("hash")),
        "nothing of the scope comes after the program's own output:\n{screen}"
    );
    println!("terminal_pty: ok; the screen it left:\n{screen}");
}
