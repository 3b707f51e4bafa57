//! [`Polled`]: an `async` body, the second kind of [`Body`] (see `README.md` beside this
//! file). The first call makes the future (calling the user's function with an owned
//! [`TaskContext`]) and polls it; each later call polls it once more. A pending future gives
//! the body back ([`Step::Waiting`]): the slot parks it until the waker queues its next poll
//! on the manager's pool.
//!
//! The waker holds the task, so a parked body keeps its task alive with no one else holding
//! it (as a running blocking body does through its worker); the cycle ends when the body is
//! dropped: when it returns, or by a worker once the task was decided otherwise.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::body::{Body, Step};
use super::cell::CellRef;
use super::context::TaskContext;
use super::run;
use crate::error::AppError;

/// The user's `async` function, then its future.
pub(crate) struct Polled<F, Fut, E> {
    function: Option<F>,
    /// Boxed so that it never moves once polled (the body itself moves between polls).
    future: Option<Pin<Box<Fut>>>,
    /// Made at the first poll that waits, and given to every poll after it.
    waker: Option<Waker>,
    /// Whether the future's error is another task's, passed on as it is ([`Step::Passed`]).
    passes: bool,
    error: PhantomData<fn() -> E>,
}

impl<F, Fut, E> Polled<F, Fut, E> {
    pub(crate) fn new(function: F) -> Self {
        Polled {
            function: Some(function),
            future: None,
            waker: None,
            passes: false,
            error: PhantomData,
        }
    }

    /// A body whose future ends with another task's outcome: its error is passed on as it
    /// is (not mapped again), a cancellation as a cancellation.
    pub(crate) fn passing(function: F) -> Self {
        Polled {
            passes: true,
            ..Polled::new(function)
        }
    }
}

impl<F, Fut, T, E> Body<T> for Polled<F, Fut, E>
where
    F: FnOnce(TaskContext) -> Fut + Send,
    Fut: Future<Output = Result<T, E>> + Send,
    E: Into<AppError>,
    T: 'static,
    Self: 'static,
{
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Step<T> {
        if let Some(function) = self.function.take() {
            self.future = Some(Box::pin(function(ctx.clone())));
        }
        let this = &mut *self;
        let waker = this.waker.get_or_insert_with(|| waker_of(ctx.cell()));
        let future = this
            .future
            .as_mut()
            .expect("a polled body is polled until it is ready, never after");
        match future.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready(Ok(value)) => Step::Done(Ok((value, None))),
            Poll::Ready(Err(error)) if this.passes => Step::Passed(error.into()),
            Poll::Ready(Err(error)) => Step::Done(Err(error.into())),
            Poll::Pending => Step::Waiting(self),
        }
    }
}

/// The waker of a polled body of `cell`: each call queues the task's next poll.
pub(crate) fn waker_of(cell: &CellRef) -> Waker {
    Waker::from(Arc::new(Wakeup(cell.clone())))
}

/// A polled body's waker: queues the task's next poll (see [`run::wake`]).
struct Wakeup(CellRef);

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        run::wake(&self.0);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        run::wake(&self.0);
    }
}
