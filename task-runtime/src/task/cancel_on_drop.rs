//! [`CancelOnDrop`]: a task handle that cancels its task when dropped.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::handle::Task;
use crate::error::TaskError;

/// A [`Task`] that is cancelled when this guard is dropped before the task finished: made by
/// [`Task::cancel_on_drop`].
///
/// A plain `Task` detaches when dropped (the work goes on); this one ties the work to the
/// guard's scope. It is a `Future` like `Task`, so in `tokio::select!` (or any race of
/// futures) the branch that loses drops its guard, and its task is cancelled. Everything else
/// of the handle is reached through `Deref`.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use task_runtime::{AppError, TaskManager};
///
/// let manager = TaskManager::new(1);
/// let (told, heard) = mpsc::channel();
/// let search = manager
///     .task(|ctx| {
///         while !ctx.is_cancelled() {
///             std::thread::sleep(Duration::from_millis(1));
///         }
///         ctx.check_cancelled()?;
///         Ok::<_, AppError>("never")
///     })
///     .on_cancelled(move || told.send("cancelled").unwrap())
///     .start()
///     .cancel_on_drop();
/// drop(search); // the search was abandoned: so is its task
/// assert_eq!(heard.recv_timeout(Duration::from_secs(10)).unwrap(), "cancelled");
/// ```
#[must_use = "dropping a CancelOnDrop cancels its task at once"]
pub struct CancelOnDrop<T: Send + 'static, P: Send + 'static = ()> {
    /// `None` once the outcome was taken by `join`.
    task: Option<Task<T, P>>,
}

impl<T: Send + 'static, P: Send + 'static> Task<T, P> {
    /// This handle as a guard that cancels the task when dropped (a plain `Task` detaches).
    /// See [`CancelOnDrop`].
    pub fn cancel_on_drop(self) -> CancelOnDrop<T, P> {
        CancelOnDrop::new(self)
    }
}

impl<T: Send + 'static, P: Send + 'static> CancelOnDrop<T, P> {
    pub(crate) fn new(task: Task<T, P>) -> Self {
        CancelOnDrop { task: Some(task) }
    }

    fn task(&self) -> &Task<T, P> {
        self.task
            .as_ref()
            .expect("only `join` takes the task, and it consumes the guard")
    }

    /// Blocks until the outcome is decided and returns it, as [`Task::join`].
    pub fn join(mut self) -> Result<T, TaskError> {
        self.task
            .take()
            .expect("the guard holds its task until now")
            .join()
    }

    /// Takes the outcome if it is decided, as [`Task::try_take`].
    #[must_use = "the outcome is taken: ignoring it loses the value or the error"]
    pub fn try_take(&mut self) -> Option<Result<T, TaskError>> {
        self.task.as_mut()?.try_take()
    }

    /// Gives the task back as a plain handle, which detaches when dropped.
    pub fn into_inner(mut self) -> Task<T, P> {
        self.task
            .take()
            .expect("the guard holds its task until now")
    }
}

impl<T: Send + 'static, P: Send + 'static> Deref for CancelOnDrop<T, P> {
    type Target = Task<T, P>;

    fn deref(&self) -> &Task<T, P> {
        self.task()
    }
}

impl<T: Send + 'static, P: Send + 'static> DerefMut for CancelOnDrop<T, P> {
    fn deref_mut(&mut self) -> &mut Task<T, P> {
        self.task
            .as_mut()
            .expect("only `join` takes the task, and it consumes the guard")
    }
}

impl<T: Send + 'static, P: Send + 'static> Future for CancelOnDrop<T, P> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut **self).poll(cx)
    }
}

impl<T: Send + 'static, P: Send + 'static> Drop for CancelOnDrop<T, P> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            // A task already finished has nothing to cancel: this is then a no-op.
            task.cancel();
        }
    }
}

impl<T: Send + 'static, P: Send + 'static> fmt::Debug for CancelOnDrop<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelOnDrop").field(&self.task).finish()
    }
}
