//! [`Body`]: a task's function, type-erased, and where `on_complete` keeps the value.
//!
//! `TaskBuilder<T>` stores the user's function as `Box<dyn Body<T>>`; running consumes the
//! box, so a closure that captures nothing costs no allocation at all. `on_complete` wraps
//! the body in a [`WithCompletion`], which runs the inner body and then hands *itself*,
//! now holding the value next to the callback, to the delivery as a [`Completion`]: the one
//! allocation the wrapper needs anyway also carries the value to the dispatcher.
//!
//! A body is called once (a blocking body) or polled until it is ready (an async body, see
//! `task::polled`): a call that leaves the body waiting gives it back ([`Step::Waiting`]), to
//! be parked in the slot until its waker queues the task again.

use std::marker::PhantomData;

use super::context::TaskContext;
use super::delivery::mailbox::Completion;
use crate::error::AppError;

pub(crate) type BoxBody<T> = Box<dyn Body<T>>;

/// A body's value, and the completion to deliver if it has one.
pub(crate) type Output<T> = (T, Option<Box<dyn Completion>>);

/// What one call of a body did.
pub(crate) enum Step<T> {
    /// The body returned: its value or its error.
    Done(Result<Output<T>, AppError>),
    /// A polled body waits: it is given back, to be called again once woken.
    Waiting(BoxBody<T>),
    /// The body ends the way another task ended (a continuation's antecedent, a combinator's
    /// input): with that task's error as it is, since its manager's `map_error` ran on it
    /// already, or cancelled, for a cancellation error.
    Passed(AppError),
}

pub(crate) trait Body<T>: Send {
    /// Calls (or polls) the function, consuming the body; a waiting body gives itself back.
    fn call(self: Box<Self>, ctx: &TaskContext) -> Step<T>;

    /// At most `parallelism` parts of the body at once (a map's items); a body of one part
    /// ignores it. Set before the task starts.
    fn limit(&mut self, parallelism: usize) {
        let _ = parallelism;
    }
}

/// The user's function as given to `TaskManager::task`.
pub(crate) struct Plain<F, E> {
    function: F,
    error: PhantomData<fn() -> E>,
}

impl<F, E> Plain<F, E> {
    pub(crate) fn new(function: F) -> Self {
        Plain {
            function,
            error: PhantomData,
        }
    }
}

impl<F, T, E> Body<T> for Plain<F, E>
where
    F: FnOnce(&TaskContext) -> Result<T, E> + Send,
    E: Into<AppError>,
{
    fn call(self: Box<Self>, ctx: &TaskContext) -> Step<T> {
        // Matched in place rather than mapped: a large value is not copied once more.
        match (self.function)(ctx) {
            Ok(value) => Step::Done(Ok((value, None))),
            Err(error) => Step::Done(Err(error.into())),
        }
    }
}

/// A body whose value goes to an `on_complete` callback: the task itself yields `()`.
pub(crate) struct WithCompletion<U, C> {
    inner: Option<BoxBody<U>>,
    callback: C,
    value: Option<U>,
    /// The completion of an earlier `on_complete` (which then received `()`).
    earlier: Option<Box<dyn Completion>>,
}

impl<U, C> WithCompletion<U, C> {
    pub(crate) fn new(inner: BoxBody<U>, callback: C) -> Self {
        WithCompletion {
            inner: Some(inner),
            callback,
            value: None,
            earlier: None,
        }
    }
}

impl<U, C> Body<()> for WithCompletion<U, C>
where
    U: Send + 'static,
    C: FnOnce(U) + Send + 'static,
{
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Step<()> {
        let inner = self
            .inner
            .take()
            .expect("a task body is called until it is done");
        match inner.call(ctx) {
            Step::Done(Ok((value, earlier))) => {
                self.value = Some(value);
                self.earlier = earlier;
                Step::Done(Ok(((), Some(self))))
            }
            Step::Done(Err(error)) => Step::Done(Err(error)),
            Step::Passed(error) => Step::Passed(error),
            Step::Waiting(inner) => {
                self.inner = Some(inner);
                Step::Waiting(self)
            }
        }
    }

    fn limit(&mut self, parallelism: usize) {
        if let Some(inner) = &mut self.inner {
            inner.limit(parallelism);
        }
    }
}

impl<U, C> Completion for WithCompletion<U, C>
where
    U: Send,
    C: FnOnce(U) + Send,
{
    /// Callbacks run in the order they were given: an earlier `on_complete` first.
    fn complete(self: Box<Self>) {
        let WithCompletion {
            callback,
            value,
            earlier,
            ..
        } = *self;
        if let Some(earlier) = earlier {
            earlier.complete();
        }
        if let Some(value) = value {
            callback(value);
        }
    }
}
