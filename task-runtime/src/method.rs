//! [`BackgroundMethod`]: a reusable background function with a fixed name and callbacks
//! (Python: `BackgroundMethod`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::error::AppError;
use crate::manager::{get_task_manager, TaskBuilder, TaskManager};
use crate::progress::Progress;
use crate::task::context::TaskContext;
use crate::task::Task;

type Build<A, T> = dyn Fn(&TaskManager, A) -> TaskBuilder<T> + Send + Sync;

/// A background function configured once and called many times: every
/// [`call`](BackgroundMethod::call) starts a task with the same name and callbacks.
///
/// Cheap to clone (configuration is shared). Uses the global manager unless
/// [`manager`](BackgroundMethod::manager) says otherwise.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use std::sync::Mutex;
/// use task_runtime::{AppError, BackgroundMethod, TaskManager};
///
/// let manager = TaskManager::new(2);
/// let (tx, rx) = mpsc::channel();
/// let tx = Mutex::new(tx);
/// let word_count = BackgroundMethod::new("word-count", |_ctx, text: String| {
///     Ok::<_, AppError>(text.split_whitespace().count())
/// })
/// .on_complete(move |count| tx.lock().unwrap().send(count).unwrap())
/// .manager(&manager);
///
/// word_count.call("one two three".to_owned());
/// word_count.call("four five".to_owned());
/// let mut counts = vec![rx.recv().unwrap(), rx.recv().unwrap()];
/// counts.sort();
/// assert_eq!(counts, [2, 3]);
/// ```
pub struct BackgroundMethod<A, T> {
    name: Arc<str>,
    build: Arc<Build<A, T>>,
    on_error: Option<Arc<dyn Fn(AppError) + Send + Sync>>,
    on_progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
    manager: Option<TaskManager>,
}

impl<A: Send + 'static, T: Send + 'static> BackgroundMethod<A, T> {
    /// Wraps `f`; every call runs it on a worker with the call's argument (use a tuple for
    /// several).
    pub fn new<E, F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&TaskContext, A) -> Result<T, E> + Send + Sync + 'static,
        E: Into<AppError> + 'static,
    {
        let f = Arc::new(f);
        Self::building(name, move |manager: &TaskManager, args: A| {
            let f = Arc::clone(&f);
            manager.task(move |ctx| f(ctx, args))
        })
    }

    /// Wraps an `async` function: every call starts an `async` task (see
    /// [`TaskManager::task_async`]) whose future `f` makes from the call's argument and an
    /// owned context.
    ///
    /// ```
    /// use std::time::Duration;
    /// use task_runtime::{AppError, BackgroundMethod, TaskManager};
    ///
    /// let manager = TaskManager::new(1);
    /// let delayed = BackgroundMethod::new_async("delayed", |ctx, n: u32| async move {
    ///     ctx.sleep(Duration::from_millis(5)).await; // no worker held meanwhile
    ///     Ok::<_, AppError>(n * 2)
    /// })
    /// .manager(&manager);
    /// let (a, b) = (delayed.call(1), delayed.call(2));
    /// assert_eq!(a.join().unwrap() + b.join().unwrap(), 6);
    /// ```
    pub fn new_async<E, F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(TaskContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<AppError> + 'static,
    {
        let f = Arc::new(f);
        Self::building(name, move |manager: &TaskManager, args: A| {
            let f = Arc::clone(&f);
            manager.task_async(move |ctx| f(ctx, args))
        })
    }

    /// A method named `name` whose calls make their task with `build`.
    fn building(
        name: impl Into<String>,
        build: impl Fn(&TaskManager, A) -> TaskBuilder<T> + Send + Sync + 'static,
    ) -> Self {
        BackgroundMethod {
            name: name.into().into(),
            build: Arc::new(build),
            on_error: None,
            on_progress: None,
            manager: None,
        }
    }

    /// Called with each call's value; calls then return `Task<()>`.
    pub fn on_complete(self, f: impl Fn(T) + Send + Sync + 'static) -> BackgroundMethod<A, ()> {
        let f = Arc::new(f);
        let build = self.build;
        BackgroundMethod {
            name: self.name,
            build: Arc::new(move |manager: &TaskManager, args: A| {
                let f = Arc::clone(&f);
                build(manager, args).on_complete(move |value| f(value))
            }),
            on_error: self.on_error,
            on_progress: self.on_progress,
            manager: self.manager,
        }
    }

    /// Called with the error of each failed call (default: the manager's error handler).
    pub fn on_error(mut self, f: impl Fn(AppError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Called with each call's progress (coalesced, as for any task).
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// Runs calls on `manager` instead of the global one.
    pub fn manager(mut self, manager: &TaskManager) -> Self {
        self.manager = Some(manager.clone());
        self
    }

    /// The name every call's task gets.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts a task running the function with `args`; returns at once.
    pub fn call(&self, args: A) -> Task<T> {
        let manager = self.manager.as_ref().unwrap_or_else(|| get_task_manager());
        let mut builder = (self.build)(manager, args).name(&*self.name);
        if let Some(on_error) = &self.on_error {
            let on_error = Arc::clone(on_error);
            builder = builder.on_error(move |err| on_error(err));
        }
        if let Some(on_progress) = &self.on_progress {
            let on_progress = Arc::clone(on_progress);
            builder = builder.on_progress(move |p| on_progress(p));
        }
        builder.start()
    }
}

impl<A, T> Clone for BackgroundMethod<A, T> {
    fn clone(&self) -> Self {
        BackgroundMethod {
            name: Arc::clone(&self.name),
            build: Arc::clone(&self.build),
            on_error: self.on_error.clone(),
            on_progress: self.on_progress.clone(),
            manager: self.manager.clone(),
        }
    }
}

impl<A, T> fmt::Debug for BackgroundMethod<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundMethod")
            .field("name", &self.name)
            .field("on_error", &self.on_error.is_some())
            .field("on_progress", &self.on_progress.is_some())
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}
