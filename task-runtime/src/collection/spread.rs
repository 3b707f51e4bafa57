//! The blocking forms, `map` and `for_each`: [`Spread`], the map's body, and its helpers.
//!
//! The items run on the manager's workers in chunks. A chunk is claimed under the map's lock
//! (the input is an iterator, consumed lazily), run without it, and its results handed back
//! under it again: two lock round-trips per chunk, none per item. Each worker sizes its chunks
//! by measurement, aiming at [`CHUNK_TIME`] a chunk, and at no more than an eighth of what is
//! left when the input's length is known, so that the last chunks end together.
//! Before each item it reads the stop flag ([`Halt`]), on a cache line nobody writes until the
//! map stops.
//!
//! The body's first call hands up to `parallelism - 1` helpers to the pool and runs items
//! itself. Every helper and the body work in turns of [`TURN`]: a helper whose turn ended
//! queues itself again behind the other jobs (the map takes turns with the manager's other
//! tasks), and the body hands its share to a new helper and waits, holding no worker, until
//! the last chunk is in. On a `manual()` manager the first call runs every item.

use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::halt::Halt;
use crate::error::AppError;
use crate::items::Items;
use crate::sync::{lock, Mutex};
use crate::task::body::{Body, Step};
use crate::task::context::{self, TaskContext};
use crate::task::delivery;
use crate::task::polled::waker_of;
use crate::task::run;
use crate::unwind;

/// How long a chunk should take, about: long enough that claiming it costs nothing beside
/// it, short enough that a stop or an idle worker waits for little.
const CHUNK_TIME: Duration = Duration::from_micros(100);

/// How long a worker runs the map's items before it lets the manager's other tasks run.
const TURN: Duration = Duration::from_millis(5);

/// The most items in one chunk when the input's length is unknown.
const MOST: usize = 1 << 16;

/// The input, the function, and where the results go: shared by the body and its helpers.
pub(super) struct Spread<It, R, F> {
    f: F,
    pub(super) halt: Arc<Halt>,
    state: Mutex<State<It, R>>,
    /// The map's items, when someone wants them (`on_items`, `max_pending_items`).
    items: Option<Arc<Items<(usize, R)>>>,
}

struct State<It, R> {
    /// `None` once it has run out (or the map stopped).
    input: Option<It>,
    /// Items taken from the input so far: the next one's index.
    taken: usize,
    /// The input's length, when its size hint said it exactly.
    length: Option<usize>,
    /// Chunks claimed whose results are not in yet.
    running: usize,
    /// The results, a chunk at a time, with the index of the chunk's first item.
    chunks: Vec<(usize, Vec<R>)>,
    finished: usize,
    /// The body, waiting for the last chunk.
    body: Option<Waker>,
}

impl<It, R, F> Spread<It, R, F>
where
    It: Iterator + Send + 'static,
    It::Item: Send + 'static,
    R: Clone + Send + 'static,
    F: Fn(&TaskContext, It::Item) -> Result<R, AppError> + Send + Sync + 'static,
{
    pub(super) fn new(input: It, f: F, items: Option<Arc<Items<(usize, R)>>>) -> Arc<Self> {
        let length = super::exact_length(&input);
        Arc::new(Spread {
            f,
            halt: Arc::default(),
            state: Mutex::new(State {
                input: Some(input),
                taken: 0,
                length,
                running: 0,
                chunks: Vec::new(),
                finished: 0,
                body: None,
            }),
            items,
        })
    }

    /// Runs chunks until the input runs out, the map stops, or `turn` ends (then `true`:
    /// there may be more to do). `size` is the worker's chunk size, kept between turns.
    fn work(&self, ctx: &TaskContext, turn: Option<Instant>, size: &mut usize) -> bool {
        let publisher = self
            .items
            .as_ref()
            .filter(|items| items.wanted())
            .map(|items| items.publisher(ctx.cell()));
        let mut batch = Vec::new();
        loop {
            let Some(start) = self.claim(ctx, *size, &mut batch) else {
                return false;
            };
            let began = Instant::now();
            let count = batch.len();
            let mut results = Vec::with_capacity(count);
            let halt = &*self.halt;
            // The item's index is `start + results.len()`: no counter of its own in memory
            // (the closure holds what it changes by reference), one store less per item.
            // The items left after a stop or a failure stay in `items`, dropped below outside
            // the catch (a panic in their `Drop` must not replace the first failure), which
            // leaves `batch` empty with its capacity, for the next chunk.
            let mut items = batch.drain(..);
            let ran = unwind::catch(|| {
                for item in items.by_ref() {
                    if halt.stopped() {
                        return Ok(false);
                    }
                    let value = (self.f)(ctx, item)?;
                    if let Some(publisher) = &publisher {
                        publisher.publish((start + results.len(), value.clone()));
                    }
                    results.push(value);
                }
                Ok(true)
            });
            discard(ctx, items);
            // The item that failed or panicked, if one did.
            let index = start + results.len();
            let complete = match ran {
                Ok(Ok(complete)) => complete,
                Ok(Err(error)) => {
                    self.fail(ctx, index, error);
                    false
                }
                Err(panic) => {
                    let name = ctx.name();
                    self.fail(ctx, index, AppError::panicked(name, panic.message()));
                    false
                }
            };
            // The results of a chunk that stopped short are user data too, whose `Drop` may
            // panic: the chunk is handed in whatever it does.
            let results = if complete {
                Some(results)
            } else {
                discard(ctx, results);
                None
            };
            let most = self.hand_in(ctx, start, results);
            *size = next_size(*size, count, began.elapsed(), most);
            if turn.is_some_and(|end| Instant::now() >= end) {
                return true;
            }
        }
    }

    /// Takes the next chunk of at most `size` items into `batch`; the index of its first item,
    /// or `None` when there is nothing left to start.
    fn claim(&self, ctx: &TaskContext, size: usize, batch: &mut Vec<It::Item>) -> Option<usize> {
        let mut state = lock(&self.state);
        if self.halt.stopped() {
            let input = state.input.take();
            self.wake_if_done(state);
            discard(ctx, input); // user code: outside the lock
            return None;
        }
        let start = state.taken;
        let input = state.input.as_mut()?;
        // The iterator is user code: a panic in it fails the map, at the item it was making.
        let pulled = unwind::catch(|| batch.extend(input.by_ref().take(size)));
        state.taken += batch.len();
        let ended = pulled.is_err() || batch.len() < size;
        let input = if ended { state.input.take() } else { None };
        if let Err(panic) = pulled {
            // Stopped before the lock is released: the body never takes the results so far
            // for the map's value.
            self.halt.stop();
            let index = state.taken;
            let pulled = std::mem::take(batch);
            drop(state);
            discard(ctx, (input, pulled));
            let error = AppError::panicked(ctx.name(), panic.message())
                .with_details("the input iterator panicked");
            self.fail(ctx, index, error);
            self.wake_if_done(lock(&self.state));
            return None;
        }
        if batch.is_empty() {
            self.wake_if_done(state);
            discard(ctx, input);
            return None;
        }
        state.running += 1;
        drop(state);
        // The chunk is claimed: whatever the input's `Drop` does, it is run and handed in.
        discard(ctx, input);
        Some(start)
    }

    /// A chunk ended: its results (`None` if it stopped short) join the others. Returns the
    /// most items a chunk should take from now on: an eighth of what is left of an input of
    /// known length (so the last chunks end together).
    fn hand_in(&self, ctx: &TaskContext, start: usize, results: Option<Vec<R>>) -> usize {
        let mut state = lock(&self.state);
        state.running -= 1;
        if let Some(results) = results {
            state.finished += results.len();
            state.chunks.push((start, results));
        }
        let finished = state.finished as u64;
        let total = state.length.unwrap_or(state.taken) as u64;
        let most = match state.length {
            Some(length) => (length.saturating_sub(state.taken) / 8).max(1),
            None => MOST,
        };
        self.wake_if_done(state);
        // Never backwards, whichever worker reports last.
        delivery::report(ctx.cell(), |progress| {
            progress.current = progress.current.max(finished);
            progress.total = progress.total.max(total);
        });
        most
    }

    /// Wakes the body if the last chunk is in and no more will start (releasing the lock).
    fn wake_if_done(&self, mut state: crate::sync::MutexGuard<'_, State<It, R>>) {
        let waker = if state.input.is_none() && state.running == 0 {
            state.body.take()
        } else {
            None
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The failure of the item at `index`: it stops the map (see [`Halt::fail`]).
    /// An item that returns a cancellation (`ctx.check_cancelled()?`, an awaited task's)
    /// cancels the map, as a body that returns one ends cancelled.
    fn fail(&self, ctx: &TaskContext, index: usize, error: AppError) {
        // No item starts from now on, also while `map_error` runs.
        self.halt.stop();
        if error.is_cancellation() {
            run::cancel(ctx.cell());
            return;
        }
        let core = &ctx.cell().core;
        let error = error.with_context("item", index);
        // The manager's `map_error` is user code: outside every lock.
        let error = core.host.task_error(core.name().as_str(), error);
        self.halt.fail(ctx.cell(), error);
    }

    /// Whether every item ran (or the map stopped) and every chunk is in: then takes the
    /// results, in input order; otherwise `waker` is called once they are.
    /// A map that stopped never gets here: its stop decides it.
    fn done(&self, waker: &Waker) -> Option<Vec<R>> {
        let mut state = lock(&self.state);
        if state.input.is_some() || state.running > 0 || self.halt.stopped() {
            state.body = Some(waker.clone());
            return None;
        }
        let mut chunks = std::mem::take(&mut state.chunks);
        let finished = state.finished;
        drop(state);
        if chunks.len() == 1 {
            return chunks.pop().map(|(_, results)| results);
        }
        chunks.sort_unstable_by_key(|(start, _)| *start);
        let mut values = Vec::with_capacity(finished);
        for (_, results) in chunks {
            values.extend(results);
        }
        Some(values)
    }

    /// Hands a helper to the pool: it works turns until nothing is left.
    fn send_helper(self: &Arc<Self>, ctx: &TaskContext, size: usize) {
        let Some(admission) = ctx.cell().core.host.admission() else {
            return;
        };
        let spread = Arc::clone(self);
        let helper_ctx = ctx.clone();
        let work = Box::new(move || {
            // The items run inside the map, as on the body's thread: `current()` is the map,
            // a join of it from an item is a self-join, its span is entered.
            let _span = helper_ctx.cell().core.enter_span();
            let _running = context::CurrentTask::enter(helper_ctx.cell());
            // Its items are the map's body's: `shutdown` and `wait_for_all` wait for them,
            // also once the map was decided (a cancel decides a waiting map at once).
            let _counted = Counted::enter(&helper_ctx);
            let mut size = size;
            let end = Instant::now() + TURN;
            if spread.work(&helper_ctx, Some(end), &mut size) {
                // Behind the jobs queued meanwhile: the map takes turns with other tasks.
                spread.send_helper(&helper_ctx, size);
            }
        });
        admission.help(ctx.cell().clone(), work);
    }
}

/// A helper's turn counted with the host as undecided work, until dropped.
struct Counted<'a>(&'a TaskContext);

impl<'a> Counted<'a> {
    fn enter(ctx: &'a TaskContext) -> Self {
        ctx.cell().core.host.undecided().entered();
        Counted(ctx)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.cell().core.host.undecided().decided();
    }
}

/// Drops user data (the input, items, results) where a panic in its `Drop` is reported, not
/// unwound through the map's bookkeeping.
fn discard<V>(ctx: &TaskContext, value: V) {
    let core = &ctx.cell().core;
    core.host.drop_user_value(value, core.name());
}

/// The next chunk size: aiming at [`CHUNK_TIME`] a chunk from how long the last one took,
/// growing at most fourfold at a time, within `1..=most`.
fn next_size(size: usize, count: usize, took: Duration, most: usize) -> usize {
    let per_item = took.as_nanos() / count.max(1) as u128;
    let aimed = (CHUNK_TIME.as_nanos() / per_item.max(1)).min(MOST as u128) as usize;
    aimed.min(size.saturating_mul(4)).clamp(1, most.max(1))
}

/// The body of a map: starts the helpers and runs items itself, then waits for the last
/// chunk. `finish` makes the task's value of the results.
pub(super) struct SpreadBody<It, R, F, O> {
    spread: Arc<Spread<It, R, F>>,
    parallelism: Option<usize>,
    finish: fn(Vec<R>) -> O,
    waker: Option<Waker>,
}

impl<It, R, F, O> SpreadBody<It, R, F, O> {
    pub(super) fn new(spread: Arc<Spread<It, R, F>>, finish: fn(Vec<R>) -> O) -> Self {
        SpreadBody {
            spread,
            parallelism: None,
            finish,
            waker: None,
        }
    }
}

impl<It, R, F, O> Body<O> for SpreadBody<It, R, F, O>
where
    It: Iterator + Send + 'static,
    It::Item: Send + 'static,
    R: Clone + Send + 'static,
    F: Fn(&TaskContext, It::Item) -> Result<R, AppError> + Send + Sync + 'static,
    O: Send + 'static,
{
    fn call(mut self: Box<Self>, ctx: &TaskContext) -> Step<O> {
        let spread = Arc::clone(&self.spread);
        let waker = match &self.waker {
            Some(waker) => waker.clone(),
            None => {
                let waker = waker_of(ctx.cell());
                self.waker = Some(waker.clone());
                let host = &ctx.cell().core.host;
                let mut size = 1;
                // Run inside another task's body (a join on a worker runs a queued map inline),
                // it runs to its end: a turn handed to a helper could wait for this very
                // worker, held by the join.
                // (The helpers sent meanwhile hold no chunk until they run: idle workers help,
                // and none waits for a helper that cannot run.)
                let nested = context::count_running_here(|_| true) > 1;
                if host.is_manual() {
                    // The caller of `run_all` runs every item, and the map counts once.
                    spread.work(ctx, None, &mut size);
                } else {
                    let threads = host
                        .admission()
                        .map_or(1, |admission| admission.max_threads());
                    // No more at once than the workers can run, nor than there are items.
                    let length = lock(&spread.state).length;
                    let helpers = self
                        .parallelism
                        .unwrap_or(threads)
                        .min(threads)
                        .min(length.unwrap_or(usize::MAX));
                    for _ in 1..helpers {
                        spread.send_helper(ctx, 1);
                    }
                    let turn = (!nested).then(|| Instant::now() + TURN);
                    if spread.work(ctx, turn, &mut size) {
                        spread.send_helper(ctx, size);
                    }
                }
                waker
            }
        };
        match spread.done(&waker) {
            Some(values) => {
                let n = values.len() as u64;
                delivery::report(ctx.cell(), |progress| {
                    progress.current = n;
                    progress.total = n;
                });
                Step::Done(Ok(((self.finish)(values), None)))
            }
            None => Step::Waiting(self),
        }
    }

    fn limit(&mut self, parallelism: usize) {
        self.parallelism = Some(parallelism);
    }
}
