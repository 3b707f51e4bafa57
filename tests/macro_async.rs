//! `async fn` under the attributes: the wrapper is a plain function that starts the task at
//! the call and returns its `Task`; the body is polled on the manager's workers, its
//! `&TaskContext` and `&Publisher<P>` parameters work across `.await`, `?` and `return` mean
//! what they mean in the `async fn`, and every key applies as to a blocking function.
//!
//! The methods run on a `manual()` manager on a `TestClock`, with callbacks queued on an
//! `EventLoop`: each step (`run_all`, `advance`, `process_events`) is the test's own, no
//! thread, no sleep.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::{eventually, Log, PATIENCE};
use task_macros::{async_method, run_in_background, task_methods};
use task_runtime::{
    codes, AppError, EventLoop, Publisher, TaskContext, TaskError, TaskManager, TaskState,
    TestClock,
};

/// A manager with no threads on `clock`, whose callbacks `ui` runs.
fn manual(ui: &EventLoop, clock: &TestClock) -> TaskManager {
    TaskManager::builder()
        .manual()
        .clock(clock.clone())
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap()
}

/// Polls `tasks`' ready bodies until none is ready (`run_all` polls a body that woke itself,
/// as `yield_now` does, in its next call); how many polls that took.
fn run_until_waiting(tasks: &TaskManager) -> usize {
    let mut polls = 0;
    for _ in 0..10_000 {
        match tasks.run_all() {
            0 => return polls,
            n => polls += n,
        }
    }
    panic!("the bodies never stopped yielding");
}

const SECOND: Duration = Duration::from_secs(1);

// ----- a free `async fn`, on the global manager -----

fn free_log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(Log::new)
}

fn record_total(total: u64) {
    free_log().push(format!("total {total}"));
}

fn record_error(error: AppError) {
    free_log().push(format!("error {}", error.code()));
}

/// Sums numbers written as text: `?` converts the parse error into the function's error type,
/// and `return` leaves the body early, as in any `async fn`.
#[run_in_background(on_complete = record_total, on_error = record_error)]
async fn total(numbers: Vec<String>, ctx: &TaskContext) -> Result<u64, AppError> {
    let mut sum = 0;
    for number in numbers {
        ctx.yield_now().await;
        ctx.check_cancelled()?;
        let n: u64 = number.parse()?;
        if n == 0 {
            return Err(AppError::new("E_ZERO", "zero is not counted"));
        }
        sum += n;
    }
    ctx.sleep(Duration::from_millis(1)).await;
    Ok(sum)
}

/// An `async fn` with no context and a plain value.
#[async_method]
async fn shout(word: String) -> String {
    std::future::ready(()).await;
    word.to_uppercase()
}

#[test]
fn a_free_async_fn_runs_with_its_callbacks_and_its_context_across_awaits() {
    let words = ["1", "2", "3"].map(String::from).to_vec();
    // `Task<()>`: `on_complete` takes the value.
    let task: task_runtime::Task<()> = total(words);
    assert!(task.join().is_ok());
    let failed = total(["4", "0", "5"].map(String::from).to_vec());
    match failed.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), "E_ZERO"),
        other => panic!("expected the body's own error, got {other:?}"),
    }
    let unparsed = total(vec!["seven".to_owned()]);
    assert!(matches!(unparsed.join(), Err(TaskError::Failed(_))));
    let log = free_log();
    eventually("three callbacks", || log.len() == 3);
    let events = log.events();
    for expected in ["total 6", "error E_ZERO"] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected}: {events:?}"
        );
    }
    assert_eq!(events.iter().filter(|e| e.starts_with("error ")).count(), 2);

    assert_eq!(shout("hey".to_owned()).join().unwrap(), "HEY");
    let awaited = futures::executor::block_on(shout("you".to_owned()));
    assert_eq!(awaited.unwrap(), "YOU");
}

// ----- methods -----

#[derive(Clone)]
struct Library {
    tasks: TaskManager,
    log: Log,
}

impl Library {
    fn new(tasks: TaskManager) -> Self {
        Library {
            tasks,
            log: Log::new(),
        }
    }

    /// `&self`: the body runs on a clone, waits on the manager's clock, and calls back on the
    /// receiver.
    #[run_in_background(
        manager = &self.tasks,
        on_complete = self.show,
        on_error = self.report,
        on_cancelled = self.stopped,
    )]
    async fn count_words(&self, text: String, ctx: &TaskContext) -> Result<usize, AppError> {
        self.log.push("started");
        ctx.sleep(SECOND).await;
        ctx.check_cancelled()?;
        let words = text.split_whitespace().count();
        if words == 0 {
            return Err(AppError::new("E_EMPTY", "no words"));
        }
        Ok(words)
    }

    /// `self`: the receiver moves into the future.
    #[run_in_background(manager = &self.tasks, on_complete = self.show)]
    async fn into_count(self, words: Vec<String>, ctx: &TaskContext) -> usize {
        ctx.yield_now().await;
        self.log.push("owned");
        words.len()
    }

    /// `self: Arc<Self>`: callbacks reach it through a `Weak`.
    #[run_in_background(manager = &self.tasks, on_complete = self.show)]
    async fn shared_count(self: Arc<Self>, words: Vec<String>, ctx: &TaskContext) -> usize {
        ctx.sleep(SECOND).await;
        words.len()
    }

    /// `#[async_method]`: no callbacks, the value through the handle.
    #[async_method(manager = &self.tasks)]
    async fn checksum(&self, data: Vec<u8>, ctx: &TaskContext) -> Result<u32, AppError> {
        let mut sum = 0u32;
        for (i, chunk) in data.chunks(4).enumerate() {
            ctx.yield_now().await;
            sum = chunk
                .iter()
                .fold(sum, |s, b| s.rotate_left(5) ^ u32::from(*b));
            ctx.set_progress(i as u64 + 1, data.len().div_ceil(4) as u64);
        }
        Ok(sum)
    }

    /// Items published between awaits reach `on_items`, in order, before `on_complete`.
    #[run_in_background(manager = &self.tasks, on_items = self.found, on_complete = self.show)]
    async fn search(&self, limit: usize, ctx: &TaskContext, items: &Publisher<String>) -> usize {
        for i in 0..limit {
            ctx.yield_now().await;
            items.publish(format!("hit {i}"));
        }
        limit
    }

    /// Keys apply to an `async fn` as to any other.
    #[run_in_background(
        manager = &self.tasks,
        task_name = "Lookup",
        exclusive = "cancel_previous",
        timeout_ms = 5000,
        priority = 3,
        show_progress = true,
        on_complete = self.found_one,
    )]
    async fn lookup(&self, query: String, ctx: &TaskContext) -> String {
        ctx.sleep(SECOND).await;
        format!("results for {query}")
    }

    /// A deadline shorter than the wait.
    #[async_method(manager = &self.tasks, timeout_ms = 500)]
    async fn slow(&self, ctx: &TaskContext) -> u32 {
        ctx.sleep(SECOND).await;
        7
    }

    fn show(&self, count: usize) {
        self.log.push(format!("shown {count}"));
    }

    fn report(&self, error: AppError) {
        self.log.push(format!("error {}", error.code()));
    }

    fn stopped(&self) {
        self.log.push("stopped");
    }

    fn found(&self, batch: Vec<String>) {
        for item in batch {
            self.log.push(item);
        }
    }

    fn found_one(&self, item: String) {
        self.log.push(item);
    }
}

#[test]
fn a_method_on_a_clone_waits_on_the_clock_and_calls_back_on_the_receiver() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let library = Library::new(manual(&ui, &clock));
    let task = library.count_words("it was a dark and stormy night".to_owned());
    let empty = library.count_words(String::new());
    assert_eq!(library.tasks.run_all(), 2, "each polled once, then asleep");
    assert_eq!(task.state(), TaskState::Running);
    assert!(!task.is_finished());
    clock.advance(SECOND);
    assert_eq!(library.tasks.run_all(), 2);
    assert!(task.is_finished() && empty.is_finished());
    ui.process_events();
    assert_eq!(
        library.log.events(),
        ["started", "started", "shown 7", "error E_EMPTY"]
    );
}

#[test]
fn owned_and_arc_receivers_move_into_the_future() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let library = Library::new(manual(&ui, &clock));
    let words = vec!["a".to_owned(), "b".to_owned()];
    let owned = library.clone().into_count(words.clone());
    let shared = Arc::new(library.clone()).shared_count(words);
    assert_eq!(
        run_until_waiting(&library.tasks),
        3,
        "the owned one yields once"
    );
    assert!(owned.is_finished() && !shared.is_finished());
    clock.advance(SECOND);
    library.tasks.run_all();
    assert!(owned.is_finished() && shared.is_finished());
    ui.process_events();
    // The `Arc` was dropped with the task: its callback is skipped.
    assert_eq!(library.log.events(), ["owned", "shown 2"]);

    let kept = Arc::new(library.clone());
    let task = Arc::clone(&kept).shared_count(vec!["c".to_owned()]);
    library.tasks.run_all();
    clock.advance(SECOND);
    library.tasks.run_all();
    assert!(task.is_finished());
    ui.process_events();
    assert_eq!(library.log.events(), ["owned", "shown 2", "shown 1"]);
}

#[test]
fn an_async_method_yields_its_value_to_join_and_to_await() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let library = Library::new(manual(&ui, &clock));
    let data: Vec<u8> = (1..=9).collect();
    let expected = data
        .iter()
        .fold(0u32, |s, b| s.rotate_left(5) ^ u32::from(*b));
    // `join` on a manual manager drives the body while it waits.
    let joined = library.checksum(data.clone()).join().unwrap();
    let task = library.checksum(data);
    run_until_waiting(&library.tasks);
    assert_eq!(futures::executor::block_on(task).unwrap(), expected);
    assert_eq!(joined, expected);
}

#[test]
fn an_async_body_publishes_items_between_awaits() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let library = Library::new(manual(&ui, &clock));
    let task = library.search(3);
    assert_eq!(run_until_waiting(&library.tasks), 4, "three yields");
    assert!(task.is_finished());
    ui.process_events();
    assert_eq!(library.log.events(), ["hit 0", "hit 1", "hit 2", "shown 3"]);
}

#[test]
fn a_cancel_lands_while_the_body_waits() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let library = Library::new(manual(&ui, &clock));
    let task = library.count_words("never counted".to_owned());
    assert_eq!(library.tasks.run_all(), 1);
    assert_eq!(task.state(), TaskState::Running, "waiting in `ctx.sleep`");
    assert!(task.cancel());
    // Decided at once, without waiting for the body to notice.
    assert!(task.is_finished());
    assert_eq!(task.state(), TaskState::Cancelled);
    clock.advance(SECOND);
    library.tasks.run_all();
    ui.process_events();
    assert_eq!(library.log.events(), ["started", "stopped"]);
    assert!(matches!(task.join(), Err(TaskError::Cancelled)));
}

#[test]
fn keys_apply_to_an_async_fn() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let library = Library::new(manual(&ui, &clock));
    let first = library.lookup("r".to_owned());
    assert_eq!(first.name(), "Lookup");
    library.tasks.run_all();
    let second = library.lookup("rust".to_owned());
    // `exclusive = "cancel_previous"`: the first, waiting, is cancelled by the second.
    assert_eq!(first.state(), TaskState::Cancelled);
    library.tasks.run_all();
    clock.advance(SECOND);
    library.tasks.run_all();
    assert!(second.is_finished());
    ui.process_events();
    assert_eq!(library.log.events(), ["results for rust"]);

    // `timeout_ms`: the deadline passes while the body waits.
    let slow = library.slow();
    library.tasks.run_all();
    clock.advance(SECOND);
    library.tasks.run_all();
    match slow.join() {
        Err(TaskError::Failed(error)) => assert_eq!(error.code(), codes::ERR_TASK_TIMEOUT),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

// ----- `local = true`: callbacks on this thread, the body on a worker -----

#[derive(Clone)]
struct View {
    tasks: TaskManager,
    shown: Rc<RefCell<Vec<String>>>,
}

impl View {
    /// `View` is not `Send`; the body does not use `self`, so only the callbacks need it.
    #[run_in_background(local = true, manager = &self.tasks, on_complete = self.show)]
    async fn load(&self, name: String, ctx: &TaskContext) -> String {
        ctx.sleep(SECOND).await;
        format!("loaded {name}")
    }

    fn show(&self, text: String) {
        self.shown.borrow_mut().push(text);
    }
}

#[test]
fn local_callbacks_of_an_async_fn_run_on_the_calling_thread() {
    let (ui, clock) = (EventLoop::new(), TestClock::new());
    let view = View {
        tasks: manual(&ui, &clock),
        shown: Rc::default(),
    };
    let task = view.load("a".to_owned());
    assert_eq!(view.tasks.run_all(), 1);
    clock.advance(SECOND);
    assert_eq!(view.tasks.run_all(), 1);
    assert!(task.is_finished());
    ui.process_events();
    assert_eq!(*view.shown.borrow(), ["loaded a"]);
}

// ----- on worker threads: `#[task_methods]` defaults, and a real pool -----

#[derive(Clone)]
struct Pool {
    tasks: TaskManager,
}

#[task_methods(manager = &self.tasks)]
impl Pool {
    #[async_method]
    async fn double_later(&self, n: u64, ctx: &TaskContext) -> u64 {
        ctx.sleep(Duration::from_millis(1)).await;
        n * 2
    }
}

#[test]
fn async_bodies_on_worker_threads_all_make_progress() {
    let pool = Pool {
        tasks: TaskManager::new(2),
    };
    let tasks: Vec<_> = (0..100).map(|n| pool.double_later(n)).collect();
    assert!(pool.tasks.wait_for_all(PATIENCE));
    let total: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 2 * (0..100).sum::<u64>());
}
