//! [`Body`]: a task's function, type-erased, and where `on_complete` keeps the value.
//!
//! `TaskBuilder<T>` stores the user's function as `Box<dyn Body<T>>`; running consumes the
//! box, so a closure that captures nothing costs no allocation at all. `on_complete` wraps
//! the body in a [`WithCompletion`], which runs the inner body and then hands *itself*,
//! now holding the value next to the callback, to the delivery as a [`Completion`]: the one
//! allocation the wrapper needs anyway also carries the value to the dispatcher.

use std::marker::PhantomData;

use super::context::TaskContext;
use super::delivery::mailbox::Completion;
use crate::error::AppError;

pub(crate) type BoxBody<T> = Box<dyn Body<T>>;

/// A body's value, and the completion to deliver if it has one.
pub(crate) type Output<T> = (T, Option<Box<dyn Completion>>);

pub(crate) trait Body<T>: Send {
    /// Calls the function, consuming the body.
    fn call(self: Box<Self>, ctx: &TaskContext) -> Result<Output<T>, AppError>;
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
    fn call(self: Box<Self>, ctx: &TaskContext) -> Result<Output<T>, AppError> {
        // Matched in place rather than mapped: a large value is not copied once more.
        match (self.function)(ctx) {
            Ok(value) => Ok((value, None)),
            Err(error) => Err(error.into()),
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
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Result<Output<()>, AppError> {
        let inner = self.inner.take().expect("a task body is called once");
        let (value, earlier) = inner.call(ctx)?;
        self.value = Some(value);
        self.earlier = earlier;
        Ok(((), Some(self)))
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
