//! Every key of `#[run_in_background]`, and every callback as a path, a closure (typed or not,
//! with a block or one expression) and `self.method`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use task_runtime::{
    get_task_manager, run_in_background, AppError, Progress, Publisher, ScopeHandle, TaskContext,
    TaskManager, TaskScope,
};

static SEEN: AtomicUsize = AtomicUsize::new(0);

fn done(n: usize) {
    SEEN.store(n, Ordering::Relaxed);
}

fn failed(error: AppError) {
    eprintln!("{error}");
}

fn progressed(progress: Progress) {
    SEEN.store(progress.current as usize, Ordering::Relaxed);
}

fn started() {
    SEEN.store(0, Ordering::Relaxed);
}

fn cancelled() {
    SEEN.store(usize::MAX, Ordering::Relaxed);
}

fn arrived(batch: Vec<u32>) {
    SEEN.fetch_add(batch.len(), Ordering::Relaxed);
}

/// Every callback as a path, and every option.
#[run_in_background(
    task_name = "Count",
    on_complete = done,
    on_error = failed,
    on_progress = progressed,
    on_items = arrived,
    on_started = started,
    on_cancelled = cancelled,
    show_progress = true,
    priority = 3,
    exclusive = "cancel_previous",
    timeout_ms = 60000,
    manager = get_task_manager(),
    crate = "task_runtime"
)]
pub fn count(text: String, numbers: &Publisher<u32>, ctx: &TaskContext) -> Result<usize, AppError> {
    ctx.report_progress(1, 2, "counting");
    numbers.publish(1);
    Ok(text.len())
}

/// Every callback as an untyped closure of one expression (the case: `on_complete`
/// with a one-expression body).
#[run_in_background(
    on_complete = |n| println!("{n}"),
    on_error = |error| eprintln!("{error}"),
    on_progress = |progress| println!("{progress}"),
    on_items = |batch| println!("{batch:?}"),
    on_started = || println!("started"),
    on_cancelled = || println!("cancelled"),
    priority = -5,
    exclusive = "skip_if_active",
    show_progress = false
)]
pub fn closures(text: String, numbers: &Publisher<u32>) -> usize {
    numbers.publish(2);
    text.len()
}

/// Typed closures, `move` closures and closures with block bodies.
#[run_in_background(
    on_complete = |n: usize| {
        SEEN.store(n, Ordering::Relaxed);
    },
    on_error = move |error: AppError| {
        let code = error.code().to_owned();
        eprintln!("{code}");
    },
    on_progress = |Progress { current, .. }: Progress| SEEN.store(current as usize, Ordering::Relaxed),
    on_started = move || {
        SEEN.store(1, Ordering::Relaxed);
    }
)]
pub fn typed(text: String) -> usize {
    text.len()
}

/// A unit task's `on_complete`.
#[run_in_background(on_complete = |()| println!("done"), on_error = |_| ())]
pub fn unit() {}

/// An application view: `self.method` callbacks, its own manager and scope.
#[derive(Clone)]
pub struct View {
    tasks: TaskManager,
    scope: Arc<TaskScope>,
    handle: ScopeHandle,
    shown: Arc<AtomicUsize>,
}

impl View {
    /// A view on its own manager.
    pub fn new(tasks: TaskManager) -> Self {
        let scope = Arc::new(tasks.scope());
        let handle = scope.handle();
        View {
            tasks,
            scope,
            handle,
            shown: Arc::default(),
        }
    }

    /// Every callback as `self.method`, on a `&self` method, one expression.
    #[run_in_background(
        manager = &self.tasks,
        scope = &self.scope,
        on_complete = self.show,
        on_error = self.report,
        on_progress = self.tick,
        on_items = self.add,
        on_started = self.busy,
        on_cancelled = self.idle
    )]
    pub fn count(&self, text: String, numbers: &Publisher<u32>) -> usize {
        numbers.publish(3);
        text.len()
    }

    /// `Self::method` paths and a `ScopeHandle`.
    #[run_in_background(manager = &self.tasks, scope = &self.handle, on_complete = Self::log)]
    pub fn measure(&self, text: String) -> usize {
        text.len()
    }

    /// `self.method` callbacks on a moved receiver.
    #[run_in_background(manager = &self.tasks, scope = &self.scope, on_complete = self.show)]
    pub fn consume(self, text: String) -> usize {
        text.len() + self.shown.load(Ordering::Relaxed)
    }

    /// `self.method` callbacks through a `Weak`, for `Arc<Self>` receivers.
    #[run_in_background(manager = &self.tasks, on_complete = self.show, on_error = self.report)]
    pub fn shared(self: Arc<Self>, text: String) -> usize {
        text.len()
    }

    /// The same for `&Arc<Self>`.
    #[run_in_background(manager = &self.tasks, on_complete = self.show)]
    pub fn shared_ref(self: &Arc<Self>, text: String) -> usize {
        text.len()
    }

    /// A temporary borrowed by `manager`.
    #[run_in_background(manager = &self.tasks.clone(), on_started = self.busy)]
    pub fn unit(&self) {}

    /// A method named as its key.
    #[run_in_background(manager = &self.tasks, on_progress = self.on_progress)]
    pub fn progress(&self, ctx: &TaskContext) {
        ctx.set_progress(1, 1)
    }

    fn on_progress(&self, progress: Progress) {
        self.tick(progress);
    }

    fn show(&self, n: usize) {
        self.shown.store(n, Ordering::Relaxed);
    }

    fn report(&self, error: AppError) {
        eprintln!("{error}");
    }

    fn tick(&self, progress: Progress) {
        self.shown
            .store(progress.current as usize, Ordering::Relaxed);
    }

    fn add(&self, batch: Vec<u32>) {
        self.shown.fetch_add(batch.len(), Ordering::Relaxed);
    }

    fn busy(&self) {
        self.shown.store(0, Ordering::Relaxed);
    }

    fn idle(&self) {
        self.shown.store(usize::MAX, Ordering::Relaxed);
    }

    fn log(n: usize) {
        println!("{n}");
    }
}

/// The runtime reached through a path of the crate.
pub mod rt {
    pub use task_runtime::*;
}

/// `crate` naming a path of this crate.
#[run_in_background(crate = "crate::keys::rt", on_complete = |n| println!("{n}"))]
pub fn renamed(n: u32) -> u32 {
    n + 1
}
