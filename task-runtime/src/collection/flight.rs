//! The async forms, `map_async` and `for_each_async`: one `async` body that keeps at most
//! `parallelism` of the items' futures in flight (a [`FuturesUnordered`]: a wake polls only
//! the future it woke), starting the next item as one ends. The futures are polled wherever
//! the body is, so the items hold no worker while they wait.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;

use crate::error::AppError;
use crate::items::Items;
use crate::task::body::{Body, BoxBody, Step};
use crate::task::context::TaskContext;
use crate::task::delivery;
use crate::task::polled::Polled;
use crate::unwind::{self, Panic};

/// What an async map is made of until its first poll, when its parallelism is known.
pub(super) struct Flight<I, R, F, O> {
    input: Box<dyn Iterator<Item = I> + Send>,
    f: F,
    items: Option<Arc<Items<(usize, R)>>>,
    finish: fn(Vec<R>) -> O,
}

impl<I, R, F, O> Flight<I, R, F, O> {
    pub(super) fn new(
        input: Box<dyn Iterator<Item = I> + Send>,
        f: F,
        items: Option<Arc<Items<(usize, R)>>>,
        finish: fn(Vec<R>) -> O,
    ) -> Self {
        Flight {
            input,
            f,
            items,
            finish,
        }
    }
}

/// The body: the flight, then the `async` body it became at the first call.
pub(super) struct FlightBody<I, R, F, O> {
    flight: Option<Flight<I, R, F, O>>,
    parallelism: Option<usize>,
    polled: Option<BoxBody<O>>,
}

impl<I, R, F, O> FlightBody<I, R, F, O> {
    pub(super) fn new(flight: Flight<I, R, F, O>) -> Self {
        FlightBody {
            flight: Some(flight),
            parallelism: None,
            polled: None,
        }
    }
}

impl<I, R, F, Fut, O> Body<O> for FlightBody<I, R, F, O>
where
    I: Send + 'static,
    R: Clone + Send + 'static,
    F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, AppError>> + Send + 'static,
    O: Send + 'static,
{
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Step<O> {
        let polled = match (self.polled.take(), self.flight.take()) {
            (Some(polled), _) => polled,
            (None, Some(flight)) => {
                let host = &ctx.cell().core.host;
                let parallelism = self.parallelism.unwrap_or_else(|| {
                    host.admission()
                        .map_or(1, |admission| admission.max_threads())
                });
                let run = move |ctx: TaskContext| fly(ctx, flight, parallelism);
                Box::new(Polled::new(run)) as BoxBody<O>
            }
            (None, None) => unreachable!("an async map is polled until it is done"),
        };
        match polled.call(ctx) {
            Step::Waiting(polled) => {
                self.polled = Some(polled);
                Step::Waiting(self)
            }
            step => step,
        }
    }

    fn limit(&mut self, parallelism: usize) {
        self.parallelism = Some(parallelism);
    }
}

/// The most items started in one poll of the map: a parallelism of `usize::MAX` over an
/// endless input still yields, and a cancel lands.
const STARTS_PER_POLL: usize = 1024;

/// An item's future, with its index; a panic in it is caught.
type InFlight<R> =
    Pin<Box<dyn Future<Output = (usize, Result<Result<R, AppError>, Panic>)> + Send>>;

/// The map itself: at most `parallelism` items in flight, the next one started as one ends.
async fn fly<I, R, F, Fut, O>(
    ctx: TaskContext,
    flight: Flight<I, R, F, O>,
    parallelism: usize,
) -> Result<O, AppError>
where
    I: Send + 'static,
    R: Clone + Send + 'static,
    F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, AppError>> + Send + 'static,
{
    let Flight {
        mut input,
        f,
        items,
        finish,
    } = flight;
    let publisher = items
        .filter(|items| items.wanted())
        .map(|items| items.publisher(ctx.cell()));
    let length = super::exact_length(&input);
    let mut in_flight: FuturesUnordered<InFlight<R>> = FuturesUnordered::new();
    let mut results: Vec<(usize, R)> = Vec::new();
    let mut taken = 0;
    let mut more = true;
    loop {
        let mut started_now = 0;
        while more && in_flight.len() < parallelism {
            if started_now == STARTS_PER_POLL {
                // A huge parallelism over a long input: a cancel lands between two rounds.
                ctx.yield_now().await;
                started_now = 0;
            }
            started_now += 1;
            let index = taken;
            // The iterator and `f` are user code: a panic in either fails the map there.
            let started = unwind::catch(|| input.next().map(|item| f(ctx.clone(), item)));
            match started {
                Ok(Some(future)) => {
                    taken += 1;
                    in_flight.push(Box::pin(
                        AssertUnwindSafe(future)
                            .catch_unwind()
                            .map(move |ended| (index, ended.map_err(unwind::into_panic))),
                    ));
                }
                Ok(None) => more = false,
                Err(panic) => {
                    let error = item_failed(index, panicked(&ctx, &panic));
                    return Err(leaving(&ctx, error, (input, in_flight, results)));
                }
            }
        }
        let Some((index, ended)) = in_flight.next().await else {
            break;
        };
        let value = match ended {
            Ok(Ok(value)) => value,
            Ok(Err(error)) => {
                let error = item_failed(index, error);
                return Err(leaving(&ctx, error, (input, in_flight, results)));
            }
            Err(panic) => {
                let error = item_failed(index, panicked(&ctx, &panic));
                return Err(leaving(&ctx, error, (input, in_flight, results)));
            }
        };
        if let Some(publisher) = &publisher {
            // `Clone` is user code too: a panic in it fails the map at this item.
            match unwind::catch(|| value.clone()) {
                Ok(copy) => publisher.publish_async((index, copy)).await,
                Err(panic) => {
                    let error = item_failed(index, panicked(&ctx, &panic));
                    return Err(leaving(&ctx, error, (input, in_flight, (results, value))));
                }
            }
        }
        results.push((index, value));
        let (finished, total) = (results.len() as u64, length.unwrap_or(taken) as u64);
        delivery::report(ctx.cell(), |progress| {
            progress.current = finished;
            progress.total = total;
        });
    }
    results.sort_unstable_by_key(|(index, _)| *index);
    let n = results.len() as u64;
    delivery::report(ctx.cell(), |progress| {
        progress.current = n;
        progress.total = n;
    });
    Ok(finish(
        results.into_iter().map(|(_, value)| value).collect(),
    ))
}

/// The map fails with `error`: what it leaves (the input, the futures still in flight, the
/// results so far) is dropped here, where a panic in a `Drop` is reported and cannot replace
/// the failure.
fn leaving<L>(ctx: &TaskContext, error: AppError, leftovers: L) -> AppError {
    let core = &ctx.cell().core;
    core.host.drop_user_value(leftovers, core.name());
    error
}

fn panicked(ctx: &TaskContext, panic: &Panic) -> AppError {
    AppError::panicked(ctx.name(), panic.message())
}

/// The map's failure: the item's, with its index (the body's error: mapped once, as any).
fn item_failed(index: usize, error: AppError) -> AppError {
    error.with_context("item", index)
}
