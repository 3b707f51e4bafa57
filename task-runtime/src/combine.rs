//! Combinators over many tasks: [`TaskManager::when_all`], [`when_any`](TaskManager::when_any)
//! and [`when_each`](TaskManager::when_each), and the same on a [`ScopeHandle`].
//!
//! Each is an `async` task of the manager, `Running` from its `start()` (it starts there, and
//! its first poll is queued), that waits for its inputs without a worker: every
//! input's handle has a waker of its own that notes its index, so a wake polls only the
//! input that ended (no quadratic re-polling of a thousand inputs). An input ending passes its
//! outcome on as it is (a failure's error is not mapped again). The combinator carries a
//! feature that cancels every input still undecided once the combinator is decided, however:
//! the others after `when_all`'s first failure or `when_any`'s winner, all of them when the
//! combinator is cancelled.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::error::{codes, AppError, TaskError};
use crate::manager::{Joins, TaskBuilder, TaskManager};
use crate::scope::ScopeHandle;
use crate::sync::{lock, Mutex};
use crate::task::admit::{Admit, Gate};
use crate::task::cell::CellRef;
use crate::task::delivery::Terminal;
use crate::task::feature::Feature;
use crate::task::{run, Task};

impl TaskManager {
    /// A task that completes with every input's value, in input order, once all completed.
    /// The first input to fail or be cancelled ends it the same way (its error as it is) and
    /// cancels the others (inputs that had already ended when it began count in input
    /// order); cancelling it cancels its inputs. No input: it completes with
    /// `vec![]`. It is `Running` from `start()`, and while it waits it holds no worker.
    /// Inputs may belong to other managers.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let pages: Vec<_> = (1..=3)
    ///     .map(|n| manager.spawn(move |_| Ok::<_, AppError>(n * 10)))
    ///     .collect();
    /// let all = manager.when_all(pages).name("all pages").start();
    /// assert_eq!(all.join().unwrap(), [10, 20, 30]);
    /// ```
    #[track_caller]
    pub fn when_all<T: Send + 'static>(
        &self,
        tasks: impl IntoIterator<Item = Task<T>>,
    ) -> TaskBuilder<Vec<T>> {
        when_all(self.admission(), tasks)
    }

    /// A task that completes with the index and value of the first input to complete (the
    /// first whose completion it records); the others are cancelled and their values
    /// dropped. A failed or cancelled input is one outcome among the others: if none
    /// completes, it fails with the error of the failure that came last, or is cancelled when
    /// every input was. No input: it fails with [`ERR_NO_TASKS`](codes::ERR_NO_TASKS).
    /// Inputs that had already ended when it began are taken in input order (the runtime
    /// keeps no time of each end), before those that end later.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let mirrors = vec![
    ///     manager.spawn_async(|ctx| async move {
    ///         ctx.sleep(Duration::from_secs(60)).await; // a slow mirror: cancelled
    ///         Ok::<_, AppError>("slow")
    ///     }),
    ///     manager.spawn(|_| Ok::<_, AppError>("fast")),
    /// ];
    /// let (index, body) = manager.when_any(mirrors).start().join().unwrap();
    /// assert_eq!((index, body), (1, "fast"));
    /// ```
    #[track_caller]
    pub fn when_any<T: Send + 'static>(
        &self,
        tasks: impl IntoIterator<Item = Task<T>>,
    ) -> TaskBuilder<(usize, T)> {
        when_any(self.admission(), tasks)
    }

    /// A task that publishes `(index, outcome)` as each input ends, cancellations included,
    /// and completes once all have (no input: at once). Its items are delivered as any
    /// task's: to `on_items` on the task's dispatcher, or taken with
    /// [`Task::take_items`]. Cancelling it cancels its inputs. .NET's `Task.WhenEach`: no
    /// quadratic loop of `when_any`.
    ///
    /// # Examples
    ///
    /// ```
    /// use task_runtime::{AppError, TaskManager};
    ///
    /// let manager = TaskManager::new(2);
    /// let files: Vec<_> = ["a.txt", "b.txt"]
    ///     .into_iter()
    ///     .map(|name| manager.spawn(move |_| Ok::<_, AppError>(name.len())))
    ///     .collect();
    /// let each = manager.when_each(files).start();
    /// assert!(each.wait_for(std::time::Duration::from_secs(10)));
    /// let mut ended: Vec<_> = each.take_items().into_iter().map(|(i, r)| (i, r.unwrap())).collect();
    /// ended.sort();
    /// assert_eq!(ended, [(0, 5), (1, 5)]);
    /// ```
    #[track_caller]
    pub fn when_each<T: Send + 'static>(
        &self,
        tasks: impl IntoIterator<Item = Task<T>>,
    ) -> TaskBuilder<(), (usize, Result<T, TaskError>)> {
        when_each(self.admission(), tasks)
    }
}

impl ScopeHandle {
    /// [`TaskManager::when_all`], the combinator in this scope.
    #[track_caller]
    pub fn when_all<T: Send + 'static>(
        &self,
        tasks: impl IntoIterator<Item = Task<T>>,
    ) -> TaskBuilder<Vec<T>> {
        when_all(Arc::clone(self.admission()), tasks).scope(self)
    }

    /// [`TaskManager::when_any`], the combinator in this scope.
    #[track_caller]
    pub fn when_any<T: Send + 'static>(
        &self,
        tasks: impl IntoIterator<Item = Task<T>>,
    ) -> TaskBuilder<(usize, T)> {
        when_any(Arc::clone(self.admission()), tasks).scope(self)
    }

    /// [`TaskManager::when_each`], the combinator in this scope.
    #[track_caller]
    pub fn when_each<T: Send + 'static>(
        &self,
        tasks: impl IntoIterator<Item = Task<T>>,
    ) -> TaskBuilder<(), (usize, Result<T, TaskError>)> {
        when_each(Arc::clone(self.admission()), tasks).scope(self)
    }
}

#[track_caller]
fn when_all<T: Send + 'static>(
    admission: Arc<dyn Admit>,
    tasks: impl IntoIterator<Item = Task<T>>,
) -> TaskBuilder<Vec<T>> {
    let (mut inputs, joins) = Inputs::new(tasks);
    TaskBuilder::passing(admission, move |_| async move {
        let mut values: Vec<Option<T>> =
            std::iter::repeat_with(|| None).take(inputs.len()).collect();
        while let Some((index, outcome)) = inputs.next().await {
            values[index] = Some(outcome.map_err(|error| inputs.pass_on(error))?);
        }
        Ok(values.into_iter().flatten().collect())
    })
    .joining(joins)
}

#[track_caller]
fn when_any<T: Send + 'static>(
    admission: Arc<dyn Admit>,
    tasks: impl IntoIterator<Item = Task<T>>,
) -> TaskBuilder<(usize, T)> {
    let (mut inputs, joins) = Inputs::new(tasks);
    if inputs.len() == 0 {
        // The combinator's own failure, not an input's: mapped and reported as any task's.
        let none = TaskBuilder::new(admission, |_| {
            Err::<(usize, T), _>(
                AppError::new(
                    codes::ERR_NO_TASKS,
                    "when_any was given no task: none can complete first",
                )
                .recoverable(false),
            )
        });
        return none.joining(joins);
    }
    TaskBuilder::passing(admission, move |_| async move {
        let mut last_failure = None;
        while let Some((index, outcome)) = inputs.next().await {
            match outcome {
                Ok(value) => return Ok((index, value)),
                Err(TaskError::Failed(error)) => last_failure = Some(error),
                Err(TaskError::Cancelled) => {}
            }
        }
        Err(inputs.pass_on(last_failure.map_or(TaskError::Cancelled, TaskError::Failed)))
    })
    .joining(joins)
}

#[track_caller]
fn when_each<T: Send + 'static>(
    admission: Arc<dyn Admit>,
    tasks: impl IntoIterator<Item = Task<T>>,
) -> TaskBuilder<(), (usize, Result<T, TaskError>)> {
    let (mut inputs, joins) = Inputs::new(tasks);
    TaskBuilder::polled_with_items(admission, move |_, items| async move {
        while let Some(ended) = inputs.next().await {
            items.publish_async(ended).await;
        }
        Ok::<_, AppError>(())
    })
    .joining(joins)
}

/// A combinator's inputs, each polled only when its own waker was called.
struct Inputs<T> {
    tasks: Vec<Option<Task<T>>>,
    /// One per input, made at the first poll: each notes its index in `woken`.
    wakers: Vec<Waker>,
    woken: Arc<Woken>,
    /// Inputs without an outcome yet.
    left: usize,
    /// The combinator's feature, which hears of the failure it passes on.
    combined: Arc<Combined>,
}

/// The indices of the inputs whose wakers were called, and the combinator's own waker.
#[derive(Default)]
struct Woken {
    inner: Mutex<WokenInner>,
}

#[derive(Default)]
struct WokenInner {
    indices: Vec<usize>,
    waker: Option<Waker>,
}

/// An input's waker: notes its index, then wakes the combinator.
struct InputWaker {
    index: usize,
    woken: Arc<Woken>,
}

impl Wake for InputWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = {
            let mut inner = lock(&self.woken.inner);
            inner.indices.push(self.index);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: Send + 'static> Inputs<T> {
    /// The inputs, and what joins the combinator to them: the feature that cancels them once
    /// it is decided.
    #[track_caller]
    fn new(tasks: impl IntoIterator<Item = Task<T>>) -> (Self, Joins) {
        let tasks: Vec<Option<Task<T>>> = tasks.into_iter().map(Some).collect();
        assert!(
            tasks.iter().flatten().all(|task| !task.is_taken()),
            "a task given to a combinator had its result taken already (try_take or .await)"
        );
        let cells = tasks.iter().flatten().map(Task::erased).collect();
        let woken = Arc::new(Woken::default());
        // Every input is polled at the first poll: as if each had woken.
        lock(&woken.inner).indices = (0..tasks.len()).rev().collect();
        let combined = Arc::new(Combined {
            inputs: Mutex::new(cells),
            passed: Mutex::new(None),
        });
        let joins = Joins {
            feature: Arc::clone(&combined) as Arc<dyn Feature>,
            after: Some(Arc::new(StartNow)),
        };
        let inputs = Inputs {
            left: tasks.len(),
            tasks,
            wakers: Vec::new(),
            woken,
            combined,
        };
        (inputs, joins)
    }

    fn len(&self) -> usize {
        self.tasks.len()
    }

    /// An input's outcome that ends the combinator the same way: a failure is noted, so that
    /// it is not reported a second time by the combinator.
    fn pass_on(&self, error: TaskError) -> TaskError {
        if let TaskError::Failed(failure) = &error {
            *lock(&self.combined.passed) = Some(failure.clone());
        }
        error
    }

    /// The next input to end, with its index; `None` once all have.
    fn next(&mut self) -> impl Future<Output = Option<(usize, Result<T, TaskError>)>> + '_ {
        std::future::poll_fn(move |cx| self.poll_next(cx))
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Result<T, TaskError>)>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        if self.wakers.is_empty() {
            self.wakers = (0..self.tasks.len())
                .map(|index| {
                    Waker::from(Arc::new(InputWaker {
                        index,
                        woken: Arc::clone(&self.woken),
                    }))
                })
                .collect();
        }
        loop {
            let index = {
                let mut woken = lock(&self.woken.inner);
                match woken.indices.pop() {
                    Some(index) => index,
                    None => {
                        // Registered under the lock the input wakers take: none is missed.
                        woken.waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                }
            };
            // A stale or repeated wake of an input that already ended: nothing to poll.
            let Some(task) = self.tasks[index].as_mut() else {
                continue;
            };
            let mut input = Context::from_waker(&self.wakers[index]);
            if let Poll::Ready(outcome) = Pin::new(task).poll(&mut input) {
                self.tasks[index] = None;
                self.left -= 1;
                return Poll::Ready(Some((index, outcome)));
            }
        }
    }
}

/// A combinator is `Running` from its `start()`: admitted, it starts there without a poll,
/// and its first poll (which registers its wakers with the inputs) is queued.
struct StartNow;

impl Gate for StartNow {
    fn admitted(self: Arc<Self>, task: CellRef) {
        run::start_waiting(&task);
    }
}

/// A combinator's feature: once it is decided, its inputs still undecided are cancelled; and
/// the input failure it passed on, reported where it happened.
struct Combined {
    inputs: Mutex<Vec<CellRef>>,
    passed: Mutex<Option<AppError>>,
}

impl Feature for Combined {
    fn passed_on(&self, error: &AppError) -> bool {
        lock(&self.passed)
            .as_ref()
            .is_some_and(|passed| passed.is_same(error))
    }

    fn decided(&self, _task: &CellRef, _terminal: &Terminal) {
        let inputs = std::mem::take(&mut *lock(&self.inputs));
        for input in &inputs {
            if !input.core.state().is_terminal() {
                run::cancel_along_chain(input);
            }
        }
    }
}
