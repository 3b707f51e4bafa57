//! The two displays that come with the crate: `LogProgress` (tracing events, throttled) and
//! `TerminalProgress` (indicatif bars, drawn here into an in-memory terminal).

mod common;

use std::time::Duration;

use common::{eventually, Captured, PATIENCE};
use task_runtime::indicatif::{InMemoryTerm, ProgressDrawTarget};
use task_runtime::{
    AppError, LogProgress, Outcome, Progress, ProgressDisplay, TaskId, TaskInfo, TaskManager,
    TerminalProgress, TestClock,
};

fn info(id: TaskId, name: &str) -> TaskInfo {
    TaskInfo {
        id,
        name: name.to_owned(),
    }
}

/// A real task id (ids are only made by tasks).
fn some_id(manager: &TaskManager) -> TaskId {
    let task = manager.spawn(|_| Ok::<_, AppError>(()));
    let id = task.id();
    task.join().unwrap();
    id
}

// ----- LogProgress -----

/// Runs `f` with a subscriber on this thread that captures `task_runtime::progress` events.
fn capture_progress_events(f: impl FnOnce()) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    captured
        .lines()
        .into_iter()
        .filter(|line| line.contains("task_runtime::progress"))
        .collect()
}

#[test]
fn log_progress_logs_start_finish_and_at_most_one_progress_event_per_interval() {
    let manager = TaskManager::new(1);
    let (a, b) = (some_id(&manager), some_id(&manager));
    let lines = capture_progress_events(|| {
        let log = LogProgress::with_interval(Duration::from_secs(3600));
        log.task_started(&info(a, "Load"));
        for i in 1..=1000 {
            log.task_progress(&info(a, "Load"), &Progress::new(i, 1000, "reading"));
        }
        // Another task is throttled on its own.
        log.task_progress(&info(b, "Parse"), &Progress::new(1, 2, "tokens"));
        log.task_finished(&info(a, "Load"), &Outcome::Completed);
        let failure = AppError::new("ERR_PARSE", "bad token").with_user_message("Invalid file");
        log.task_finished(&info(b, "Parse"), &Outcome::Failed(failure));
    });
    let with = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(with("Load: started"), 1, "{lines:#?}");
    assert_eq!(with("Load: 1/1000 reading"), 1, "{lines:#?}");
    assert_eq!(
        with("Load: "),
        3,
        "one progress event in the interval: {lines:#?}"
    );
    assert_eq!(with("Parse: 1/2 tokens"), 1, "{lines:#?}");
    assert!(lines
        .iter()
        .any(|l| l.contains("INFO") && l.contains("Load: done")));
    assert!(lines.iter().any(|l| l.contains("WARN")
        && l.contains("Parse: failed: Invalid file")
        && l.contains("ERR_PARSE")));
}

#[test]
fn log_progress_logs_again_once_the_interval_passed() {
    let manager = TaskManager::new(1);
    let id = some_id(&manager);
    let lines = capture_progress_events(|| {
        // On a test clock: "too soon" does not depend on how loaded the machine is.
        let clock = TestClock::new();
        let log = LogProgress::with_interval(Duration::from_millis(20)).with_clock(clock.clone());
        log.task_progress(&info(id, "Slow"), &Progress::new(1, 3, ""));
        clock.advance(Duration::from_millis(19));
        log.task_progress(&info(id, "Slow"), &Progress::new(2, 3, "")); // too soon
        clock.advance(Duration::from_millis(1));
        log.task_progress(&info(id, "Slow"), &Progress::new(3, 3, ""));
        log.task_finished(&info(id, "Slow"), &Outcome::Cancelled);
    });
    let progress: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("Slow: ") && l.contains("/3"))
        .collect();
    assert_eq!(progress.len(), 2, "{lines:#?}");
    assert!(
        progress[0].contains("1/3") && progress[1].contains("3/3"),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("Slow: cancelled")));
}

// ----- TerminalProgress -----

fn terminal() -> (TerminalProgress, InMemoryTerm) {
    let term = InMemoryTerm::new(20, 120);
    let display =
        TerminalProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(term.clone())));
    (display, term)
}

#[test]
fn terminal_progress_draws_a_bar_per_task_and_a_line_when_it_ends() {
    let manager = TaskManager::new(1);
    let (a, b, c) = (some_id(&manager), some_id(&manager), some_id(&manager));
    let (display, term) = terminal();

    display.task_started(&info(a, "Hash files"));
    display.task_progress(&info(a, "Hash files"), &Progress::new(42, 100, "chunk 42"));
    display.task_started(&info(b, "Count primes"));
    // A total of 0 is "unknown": a spinner, no count.
    display.task_progress(&info(b, "Count primes"), &Progress::new(7, 0, "sieving"));
    let screen = term.contents();
    let hash = screen
        .lines()
        .find(|l| l.contains("Hash files"))
        .unwrap_or_default();
    assert!(
        hash.contains("42/100") && hash.contains("chunk 42"),
        "{screen}"
    );
    assert!(hash.contains('[') && hash.contains(']'), "a bar: {screen}");
    let primes = screen
        .lines()
        .find(|l| l.contains("Count primes"))
        .unwrap_or_default();
    assert!(
        primes.contains("sieving") && !primes.contains("/0"),
        "{screen}"
    );

    display.task_finished(&info(a, "Hash files"), &Outcome::Completed);
    let error = AppError::new("ERR_CALC", "overflow").with_user_message("The numbers got too big");
    display.task_finished(&info(b, "Count primes"), &Outcome::Failed(error));
    // Cancelled before it started: no bar, still a line.
    display.task_finished(&info(c, "Never ran"), &Outcome::Cancelled);

    let screen = term.contents();
    assert!(screen.contains("Hash files: done ("), "{screen}");
    assert!(
        screen.contains("Count primes: failed: The numbers got too big ("),
        "{screen}"
    );
    assert!(screen.contains("Never ran: cancelled"), "{screen}");
    assert!(
        !screen.contains("42/100"),
        "finished bars are cleared: {screen}"
    );
}

#[test]
fn terminal_progress_through_a_manager() {
    let (display, term) = terminal();
    let manager = TaskManager::builder()
        .max_threads(1)
        .progress_display(display)
        .build()
        .unwrap();
    manager
        .task(|ctx| {
            ctx.report_progress(3, 3, "all read");
            Ok::<_, AppError>(())
        })
        .name("Load settings")
        .show_progress(true)
        .start()
        .join()
        .unwrap();
    eventually("the finished line", || {
        term.contents().contains("Load settings: done")
    });
    assert!(manager.wait_for_all(PATIENCE));
}

#[test]
fn terminal_progress_shows_the_item_count_beside_the_bar() {
    let manager = TaskManager::new(1);
    let id = some_id(&manager);
    let (display, term) = terminal();
    display.task_started(&info(id, "search"));
    display.task_progress(&info(id, "search"), &Progress::new(3, 10, "searching"));
    display.task_items(&info(id, "search"), 42);
    // indicatif redraws at most 20 times a second: wait for the line to show the count.
    eventually("the count on the line", || {
        term.contents()
            .lines()
            .any(|l| l.contains("search (42 items)") && l.contains("3/10"))
    });
    display.task_items(&info(id, "search"), 1);
    eventually("the singular", || {
        term.contents().contains("search (1 item)")
    });
}

/// Without a display of its own, a manager on a test clock logs progress throttled on that
/// clock, whether or not stderr is a terminal (run from a terminal, the default would
/// otherwise be indicatif's bars, which log nothing and redraw on the wall clock).
#[test]
fn a_manager_on_a_test_clock_logs_progress_on_that_clock_by_default() {
    // The display runs on the manager's pump thread: only a global subscriber sees it.
    // Other tests' managers log into it too, so lines are picked by this task's name.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let seen = move |needle: &str| {
        captured
            .lines()
            .iter()
            .any(|line| line.contains("clocked load: ") && line.contains(needle))
    };

    let clock = TestClock::new();
    let manager = common::manual_on(&clock);
    let task = manager
        .task(move |ctx| {
            ctx.set_progress(1, 3);
            eventually("the first report to be logged", || seen("1/3"));
            // A second later on the test clock, none in real time: logged again.
            clock.advance(Duration::from_secs(1));
            ctx.set_progress(3, 3);
            eventually("the report a second later to be logged", || seen("3/3"));
            Ok::<_, AppError>(())
        })
        .name("clocked load")
        .show_progress(true)
        .start();
    assert!(manager.run_next());
    task.join().unwrap();
}
