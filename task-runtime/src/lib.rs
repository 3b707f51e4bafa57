//! Run blocking work on a worker pool and deliver progress, results, errors and cancellation
//! back to the thread you choose, usually your UI thread.
//!
//! This is the runtime half of the project; `task-macros` adds `#[run_in_background]` and
//! `#[async_method]` on top of it.
//!
//! Callbacks run where the task's [`Dispatcher`] says. The default, for
//! [`TaskManager::new`] and the global [`get_task_manager()`], is the worker thread: give the
//! manager an [`EventLoop`]'s dispatcher, as below, to have them on your UI thread.
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use task_runtime::{AppError, EventLoop, TaskManager};
//!
//! // The UI thread owns an event loop; callbacks are queued there.
//! let ui = EventLoop::new();
//! let manager = TaskManager::builder().dispatcher(ui.dispatcher()).build()?;
//!
//! let task = manager
//!     .task(|ctx| {
//!         let mut total = 0u64;
//!         for chunk in 0..10u64 {
//!             ctx.check_cancelled()?;            // stop early when cancelled
//!             total += chunk;                    // ... real work ...
//!             ctx.report_progress(chunk + 1, 10, "summing");
//!         }
//!         Ok::<_, AppError>(total)
//!     })
//!     .name("sum")
//!     .on_progress(|p| println!("{p}"))
//!     .on_complete(|total| println!("total = {total}"))
//!     .on_error(|err| eprintln!("{}", err.user_message()))
//!     .start();
//!
//! // A real UI calls `ui.process_events()` once per frame instead.
//! assert!(ui.run_until_idle(&manager, Duration::from_secs(10)));
//! assert!(task.is_finished());
//! # Ok::<(), task_runtime::BuildError>(())
//! ```
//!
//! # Concepts
//!
//! * [`TaskManager`]: a pool of worker threads plus a registry of active tasks, lifecycle
//!   [`signals`](TaskManager::signals), cancellation by id, by name or all at once, and an
//!   orderly shutdown. [`get_task_manager()`] is the global one.
//! * [`TaskBuilder`] / [`Task`]: configure a task (name, priority, callbacks, dispatcher,
//!   [`Exclusive`] "latest wins"), then hold its handle to cancel, poll
//!   ([`try_take`](Task::try_take)), [`join`](Task::join) or `.await` it.
//! * [`TaskContext`]: what the body sees: cancellation and progress reporting. Also reachable
//!   with [`current()`] from code deep below the body.
//! * [`Dispatcher`] / [`EventLoop`]: where callbacks run. The worker thread by default; an
//!   [`EventLoop`] drained by your UI thread; or any toolkit's "run on the UI thread" function.
//! * [`AppError`]: structured errors with code, user message, severity, category, context
//!   and source; any standard error converts into it with `?`.
//! * Tasks that wait for others, holding no worker meanwhile: continuations
//!   ([`Task::then`], [`then_async`](Task::then_async), [`then_result`](Task::then_result))
//!   and combinators ([`when_all`](TaskManager::when_all), [`when_any`](TaskManager::when_any),
//!   [`when_each`](TaskManager::when_each)); a cancel travels along a chain both ways.
//! * Work over a collection as one task: [`map`](TaskManager::map),
//!   [`for_each`](TaskManager::for_each) and their async forms
//!   ([`map_async`](TaskManager::map_async), [`for_each_async`](TaskManager::for_each_async)),
//!   with one handle, one progress line, results streamed as `(index, value)`, the first
//!   failure stopping the rest, and at most [`parallelism`](TaskBuilder::parallelism) items at
//!   once.
//!
//! # Guarantees
//!
//! 1. Every task ends exactly once: completed, failed or cancelled, also when cancelled while
//!    queued, removed by [`cancel_all`](TaskManager::cancel_all) or shutdown, or when its body
//!    panics.
//! 2. A task's callbacks arrive in order: started, progress*, then one terminal callback, and
//!    nothing after it. A task cancelled while queued never runs its body.
//! 3. Cancelling a running task sets the flag its body sees; its outcome is *cancelled*
//!    whatever the body returns, and no progress is delivered after cancellation.
//! 4. Progress is coalesced: at most one delivery per task is pending on a dispatcher, the
//!    latest value wins, and the last value reported is delivered before the terminal
//!    callback.
//! 5. A panic in a body or callback never shrinks the pool or poisons shared state; callback
//!    panics go to the error handler.
//! 6. A task leaves the registry before its terminal callback runs; waits honour their
//!    deadlines; no worker thread outlives a dropped manager once its bodies return.
//! 7. No `unsafe` code.
//! 8. Every `Duration` is accepted where one is taken (`Duration::MAX` waits forever), and no
//!    bad input wedges the pool: a thread name with a NUL byte is a [`BuildError`]; a thread
//!    that cannot be started gives its slot back, and when no worker is left, the tasks it
//!    would have run fail with [`ERR_THREAD_SPAWN`](codes::ERR_THREAD_SPAWN).

#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
#![warn(rust_2018_idioms, unreachable_pub)]

// Bottom to top; a module uses only the ones above it in this list.
// Leaves.
mod clock;
#[cfg(feature = "debug-counters")]
pub mod debug;
mod error;
mod progress;
mod sync;
mod unwind;
// The words every layer shares.
mod vocabulary;
// Mechanisms that know nothing of tasks.
mod dispatch;
mod display;
mod pool;
mod signal;
// What a task needs from its surroundings.
mod host;
// The tokio runtime context bodies run in (feature `tokio`).
#[cfg(feature = "tokio")]
mod reactor;
// A task, on its own: the core.
mod task;
// The features a task may carry, each in a place of its own.
mod deadline;
mod items;
mod latest;
mod local;
mod shown;
// What one manager owns, and the operations on many tasks.
mod admission;
// Scopes: a feature of their tasks, and what their owner holds.
mod scope;
// The manager on top (a facade over admission), and what is built on it.
mod manager;
mod method;
#[cfg(not(loom))]
mod spawn_local;
// Tasks that wait for others: continuations, and combinators over many.
mod chain;
mod combine;
// Work over a collection: one task, many items.
mod collection;
// What the attributes require of a task's types, named in their compile errors.
pub mod bounds;

pub use clock::TestClock;
pub use dispatch::{Dispatcher, EventLoop, Job};
#[cfg(feature = "terminal")]
pub use display::TerminalProgress;
pub use display::{LogProgress, ProgressDisplay};
pub use error::codes;
pub use error::{AppError, BuildError, Cancelled, Category, Severity, TaskError};
pub use items::Publisher;
pub use manager::{
    get_task_manager, init_global, set_max_threads, LocalTaskBuilder, ScopeHandle, ScopeProgress,
    TaskBuilder, TaskManager, TaskManagerBuilder, TaskScope, TaskSnapshot,
};
pub use method::BackgroundMethod;
pub use progress::Progress;
pub use signal::{Connection, ManagerSignals, Signal};
pub use task::context::{current, TaskContext};
pub use task::{CancelOnDrop, Task};
pub use vocabulary::{CancelReason, Exclusive, Outcome, TaskId, TaskInfo, TaskState};

/// The attributes (feature `macros`, on by default): `#[run_in_background]` turns a function
/// into one that starts a task; `#[async_method]` is its form for methods that are awaited.
/// Their manual is in the `task-macros` crate.
#[cfg(feature = "macros")]
pub use task_macros::{async_method, run_in_background, task_methods};

/// The indicatif version [`TerminalProgress`] draws with (feature `terminal`), for
/// [`TerminalProgress::with_draw_target`].
#[cfg(feature = "terminal")]
pub use indicatif;

/// For code generated by the macros only. Named after the crate's version, which task-macros
/// shares: a mismatched pair fails to compile instead of expanding to code for another runtime.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private_0_1_0;

// What users' code relies on about the public types, checked when the crate compiles: a
// change that breaks one fails the build, not a test run.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    fn unpin<T: Unpin>() {}
    fn clone<T: Clone>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    // Handles move to (and are shared with) other threads, such as a UI thread, and can be
    // polled without pinning.
    send_sync::<Task<Vec<u8>>>();
    unpin::<Task<std::rc::Rc<u8>>>();
    send_sync::<TaskManager>();
    send_sync::<TaskContext>();
    send_sync::<Dispatcher>();
    send_sync::<ManagerSignals>();
    send_sync::<Signal<TaskInfo>>();
    send_sync::<AppError>();
    send_sync::<TaskError>();
    send::<TaskManagerBuilder>();
    send::<TaskBuilder<Vec<u8>>>();
    send::<EventLoop>();
    send::<Job>();
    send_sync::<(
        TaskSnapshot,
        Progress,
        TaskId,
        TaskInfo,
        TaskState,
        Outcome,
        Cancelled,
    )>();
    // Cheap handles and plain values.
    clone::<(TaskManager, TaskContext, Dispatcher, AppError, TaskError)>();
    clone::<(TaskSnapshot, TaskInfo, Progress, Outcome)>();
    // Std errors, except `AppError`: it is not one, so that `?` converts any std error into it.
    error::<TaskError>();
    error::<BuildError>();
};
