//! Model-based test: random sequences of spawn / release / cancel / cancel_task / cancel_all /
//! set_max_threads / progress / shutdown against a real manager, checked against a small
//! reference model of what each task may end as and what the registry must answer.
//!
//! Every body is driven by a command channel: it reports the progress values it is sent and
//! only returns (ok, error or panic, as drawn) once released, or early when cancelled. So the
//! model knows, for every task, which outcomes are allowed:
//! * cancelled before its release, or started after shutdown: *cancelled*;
//! * released and never cancelled: exactly what its body returns;
//! * cancelled after its release: either.
//!
//! `PROPTEST_CASES` sets the number of sequences (64 by default).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use common::PATIENCE;
use proptest::prelude::*;
use task_runtime::{codes, AppError, Cancelled, EventLoop, Task, TaskError, TaskManager};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ok,
    Err,
    Panic,
}

#[derive(Debug, Clone)]
enum Op {
    Spawn { kind: Kind, name: u8 },
    Release(usize),
    Cancel(usize),
    CancelTask(u8),
    CancelAll,
    SetMaxThreads(usize),
    Progress(usize, u64),
    Shutdown,
}

enum Command {
    Progress(u64),
    Release,
}

/// What the model knows about one task.
struct Modelled {
    kind: Kind,
    name: String,
    released: bool,
    cancelled_before_release: bool,
    cancelled_after_release: bool,
    after_shutdown: bool,
    last_progress: Option<u64>,
    commands: Sender<Command>,
    handle: Task<usize>,
    body_ran: Arc<AtomicBool>,
    endings: Arc<AtomicUsize>,
}

impl Modelled {
    /// Definitely still active: it can only end by being released or cancelled.
    fn surely_active(&self) -> bool {
        !self.released && !self.cancelled_before_release && !self.after_shutdown
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Ok), Just(Kind::Err), Just(Kind::Panic)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (kind(), 0u8..3).prop_map(|(kind, name)| Op::Spawn { kind, name }),
        3 => any::<usize>().prop_map(Op::Release),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => (0u8..4).prop_map(Op::CancelTask),
        1 => Just(Op::CancelAll),
        1 => (1usize..=4).prop_map(Op::SetMaxThreads),
        2 => (any::<usize>(), 1u64..1000).prop_map(|(i, v)| Op::Progress(i, v)),
        1 => Just(Op::Shutdown),
    ]
}

fn spawn(manager: &TaskManager, index: usize, kind: Kind, name: String) -> Modelled {
    let (commands, inbox) = mpsc::channel::<Command>();
    let body_ran = Arc::new(AtomicBool::new(false));
    let endings = Arc::new(AtomicUsize::new(0));
    let ran = body_ran.clone();
    let end = |endings: &Arc<AtomicUsize>| {
        let endings = endings.clone();
        move || {
            endings.fetch_add(1, Ordering::SeqCst);
        }
    };
    // Failures and cancellations are counted through their callbacks; completions through
    // the handle (an `on_complete` would take the value from it).
    let (on_error, on_cancelled) = (end(&endings), end(&endings));
    let handle = manager
        .task(move |ctx| -> Result<usize, AppError> {
            ran.store(true, Ordering::SeqCst);
            loop {
                match inbox.recv_timeout(Duration::from_millis(1)) {
                    Ok(Command::Progress(value)) => ctx.set_progress(value, 1000),
                    Ok(Command::Release) => break,
                    Err(RecvTimeoutError::Timeout) => ctx.check_cancelled()?,
                    Err(RecvTimeoutError::Disconnected) => return Err(Cancelled.into()),
                }
            }
            match kind {
                Kind::Ok => Ok(index),
                Kind::Err => Err(AppError::new("ERR_MODEL", "drawn to fail")),
                Kind::Panic => panic!("drawn to panic"),
            }
        })
        .name(name.clone())
        .on_error(move |_| on_error())
        .on_cancelled(on_cancelled)
        .start();
    Modelled {
        kind,
        name,
        released: false,
        cancelled_before_release: false,
        cancelled_after_release: false,
        after_shutdown: false,
        last_progress: None,
        commands,
        handle,
        body_ran,
        endings,
    }
}

fn run(ops: Vec<Op>) {
    let manager = TaskManager::builder()
        .max_threads(2)
        .error_handler(|_| {})
        .build()
        .unwrap();
    let mut tasks: Vec<Modelled> = Vec::new();
    let mut shut_down = false;
    let mut max_threads_seen = 2;

    for op in ops {
        match op {
            Op::Spawn { kind, name } => {
                let index = tasks.len();
                let mut task = spawn(&manager, index, kind, format!("t{name}"));
                if shut_down {
                    task.after_shutdown = true;
                    assert!(
                        task.handle.is_cancelled(),
                        "spawn after shutdown: cancelled at once"
                    );
                }
                tasks.push(task);
            }
            Op::Release(i) if !tasks.is_empty() => {
                let len = tasks.len();
                let task = &mut tasks[i % len];
                if !task.released {
                    task.released = true;
                    let _ = task.commands.send(Command::Release);
                }
            }
            Op::Cancel(i) if !tasks.is_empty() => {
                let len = tasks.len();
                let task = &mut tasks[i % len];
                let surely_active = task.surely_active();
                let returned = manager.cancel(task.handle.id());
                if surely_active {
                    assert!(returned, "cancel of an active task must succeed");
                    task.cancelled_before_release = true;
                } else if task.released && returned {
                    task.cancelled_after_release = true;
                }
            }
            Op::CancelTask(name) => {
                let name = format!("t{name}");
                let any_surely_active = tasks.iter().any(|t| t.name == name && t.surely_active());
                let ever = tasks.iter().any(|t| t.name == name);
                let returned = manager.cancel_task(&name);
                if any_surely_active {
                    assert!(returned, "cancel_task({name}) with an active task");
                }
                if !ever {
                    assert!(!returned, "cancel_task({name}) for a name never used");
                }
                for task in tasks.iter_mut().filter(|t| t.name == name) {
                    if task.surely_active() {
                        task.cancelled_before_release = true;
                    } else if task.released && returned {
                        task.cancelled_after_release = true;
                    }
                }
            }
            Op::CancelAll => {
                let surely = tasks.iter().filter(|t| t.surely_active()).count();
                let possibly = tasks
                    .iter()
                    .filter(|t| t.surely_active() || t.released)
                    .count();
                let cancelled = manager.cancel_all();
                assert!(
                    (surely..=possibly).contains(&cancelled),
                    "cancel_all cancelled {cancelled}, expected {surely}..={possibly}"
                );
                for task in &mut tasks {
                    if task.surely_active() {
                        task.cancelled_before_release = true;
                    } else if task.released && cancelled > surely {
                        task.cancelled_after_release = true;
                    }
                }
            }
            Op::SetMaxThreads(n) => {
                manager.set_max_threads(n);
                max_threads_seen = max_threads_seen.max(n);
                assert_eq!(manager.max_threads(), n);
            }
            Op::Progress(i, value) if !tasks.is_empty() => {
                let len = tasks.len();
                let task = &mut tasks[i % len];
                if !task.released && task.commands.send(Command::Progress(value)).is_ok() {
                    task.last_progress = Some(value);
                }
            }
            Op::Shutdown => {
                assert!(
                    manager.shutdown(PATIENCE),
                    "bodies honour cancellation promptly"
                );
                shut_down = true;
                for task in &mut tasks {
                    if task.surely_active() {
                        task.cancelled_before_release = true;
                    } else if task.released {
                        // Shutdown cancels whatever had not finished yet.
                        task.cancelled_after_release = true;
                    }
                }
                assert_eq!(manager.active_count(), 0);
            }
            _ => {}
        }
        // Registry contents: every surely-active task is listed.
        let active = manager.tasks();
        for task in tasks.iter().filter(|t| t.surely_active()) {
            assert!(
                active.iter().any(|s| s.id == task.handle.id()),
                "active task {} missing from the registry",
                task.name
            );
        }
    }

    // Release everything still waiting, then every task must settle exactly once.
    for task in &tasks {
        let _ = task.commands.send(Command::Release);
    }
    assert!(manager.wait_for_all(PATIENCE), "manager never became idle");
    assert!(EventLoop::new().run_until_idle(&manager, PATIENCE));
    assert_eq!(manager.active_count(), 0);
    assert!(manager.worker_count() <= max_threads_seen);

    for (index, task) in tasks.into_iter().enumerate() {
        let progress = task.handle.progress().map(|p| p.current);
        let outcome = task.handle.join();
        let must_be_cancelled = task.cancelled_before_release || task.after_shutdown;
        let may_be_cancelled = must_be_cancelled || task.cancelled_after_release;
        match &outcome {
            Err(TaskError::Cancelled) => {
                assert!(may_be_cancelled, "task {index} cancelled without a cancel");
                ends_once(&task.endings);
            }
            _ if must_be_cancelled => panic!("task {index} should be cancelled: {outcome:?}"),
            Ok(value) => {
                assert_eq!((task.kind, *value), (Kind::Ok, index));
                // Completions have no callback here; failures and cancellations do.
                assert_eq!(task.endings.load(Ordering::SeqCst), 0);
                assert_eq!(progress, task.last_progress, "task {index}: last progress");
            }
            Err(TaskError::Failed(err)) => {
                let expected = match task.kind {
                    Kind::Err => "ERR_MODEL",
                    Kind::Panic => codes::ERR_TASK_PANICKED,
                    Kind::Ok => panic!("task {index} drawn ok but failed: {err}"),
                };
                assert_eq!(err.code(), expected);
                ends_once(&task.endings);
            }
        }
        if task.after_shutdown {
            assert!(
                !task.body_ran.load(Ordering::SeqCst),
                "body ran after shutdown"
            );
        }
    }
}

/// The terminal callback ran exactly once. Callbacks run inline on the worker right after
/// the outcome is decided, so the handle may see the outcome a moment before the callback.
fn ends_once(endings: &AtomicUsize) {
    common::eventually("the terminal callback", || {
        endings.load(Ordering::SeqCst) >= 1
    });
    assert_eq!(
        endings.load(Ordering::SeqCst),
        1,
        "a terminal callback ran twice"
    );
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_operation_sequences_match_the_model(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

/// Fixed sequences covering every operation, so the test means something even with
/// `PROPTEST_CASES=1`. The task whose progress is checked is released last: nothing can
/// cancel it afterwards, so it must complete with its last reported value.
#[test]
fn every_operation_once() {
    run(vec![
        Op::Spawn {
            kind: Kind::Ok,
            name: 0,
        },
        Op::Spawn {
            kind: Kind::Err,
            name: 1,
        },
        Op::Spawn {
            kind: Kind::Panic,
            name: 2,
        },
        Op::Release(0),
        Op::Cancel(1),
        Op::SetMaxThreads(1),
        Op::CancelTask(2),
        Op::CancelTask(3),
        Op::CancelAll,
        Op::SetMaxThreads(3),
        Op::Spawn {
            kind: Kind::Ok,
            name: 1,
        },
        Op::Progress(3, 10),
        Op::Progress(3, 20),
        Op::Release(3),
    ]);
}

#[test]
fn shutdown_then_spawn() {
    run(vec![
        Op::Spawn {
            kind: Kind::Ok,
            name: 0,
        },
        Op::Spawn {
            kind: Kind::Err,
            name: 1,
        },
        Op::Release(1),
        Op::Shutdown,
        Op::Spawn {
            kind: Kind::Ok,
            name: 2,
        },
        Op::Cancel(2),
        Op::CancelTask(2),
    ]);
}
