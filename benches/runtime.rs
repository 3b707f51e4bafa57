//! Criterion benchmarks of what one task costs and how fast its result reaches the UI.
//!
//! ```text
//! cargo bench --bench runtime                 # everything
//! cargo bench --bench runtime -- latency      # one group
//! ```
//!
//! The comparison against other pools is `examples/compare/`; BENCHMARKS.md has figures
//! from both and explains what they mean.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_channel::{unbounded, Sender};
use task_macros::run_in_background;
use task_runtime::{
    Dispatcher, EventLoop, Outcome, Progress, ProgressDisplay, Task, TaskContext, TaskInfo,
    TaskManager,
};

const THREADS: usize = 4;
const BATCH: usize = 100_000;
const TIMEOUT: Duration = Duration::from_secs(60);

/// A manager of `THREADS` workers whose callbacks go to `dispatcher`.
fn delivering_to(dispatcher: Dispatcher) -> TaskManager {
    TaskManager::builder()
        .max_threads(THREADS)
        .dispatcher(dispatcher)
        .build()
        .unwrap()
}

/// An `EventLoop` drained by a thread of its own, as a UI thread would.
struct UiThread {
    dispatcher: Dispatcher,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl UiThread {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = unbounded();
        let thread = thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                let ui = EventLoop::new();
                tx.send(ui.dispatcher()).unwrap();
                while !stop.load(Ordering::Acquire) {
                    let _ =
                        ui.run_until(|| stop.load(Ordering::Acquire), Duration::from_millis(50));
                    // a frame
                }
                ui.process_events();
            }
        });
        UiThread {
            dispatcher: rx.recv().unwrap(),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UiThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the loop if it is blocked waiting for events.
        self.dispatcher.dispatch(Box::new(|| {}));
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

fn spawn_join(c: &mut Criterion) {
    let manager = TaskManager::new(THREADS);
    c.bench_function("spawn_join", |b| {
        b.iter(|| {
            manager
                .spawn(|_| Ok::<_, Infallible>(black_box(1)))
                .join()
                .unwrap()
        })
    });
}

/// 100,000 no-op tasks whose `on_complete` counts them, on the worker and on a UI thread.
/// Submits `BATCH` tasks whose `on_complete` runs on the worker, and waits for all of them.
fn complete_batch(manager: &TaskManager) {
    let (tx, rx) = unbounded::<()>();
    for _ in 0..BATCH {
        let tx = tx.clone();
        manager
            .task(|_| Ok::<_, Infallible>(()))
            .on_complete(move |()| tx.send(()).unwrap())
            .start();
    }
    for _ in 0..BATCH {
        rx.recv_timeout(TIMEOUT).unwrap();
    }
}

fn on_complete_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("on_complete_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));

    let manager = TaskManager::new(THREADS);
    group.bench_function("worker_thread", |b| b.iter(|| complete_batch(&manager)));

    // The same batch while another thread sits in `wait_for_all` (held busy by a gated task
    // so that it keeps waiting): waiting must cost the workers a counter per task, no more.
    // The gated task gets a thread of its own, so the batch has `THREADS` workers as above.
    let manager = TaskManager::new(THREADS + 1);
    let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let g = gate.clone();
    let blocker = manager.spawn(move |_| {
        let (open, cv) = &*g;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        Ok::<_, Infallible>(())
    });
    let waiter = {
        let m = manager.clone();
        std::thread::spawn(move || m.wait_for_all(Duration::MAX))
    };
    group.bench_function("worker_thread_with_a_waiter", |b| {
        b.iter(|| complete_batch(&manager))
    });
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    blocker.join().unwrap();
    assert!(waiter.join().unwrap());

    // The benchmark thread is the UI thread: submit everything, then drain the deliveries.
    let ui = EventLoop::new();
    let manager = delivering_to(ui.dispatcher());
    group.bench_function("event_loop", |b| {
        b.iter(|| {
            let delivered = Arc::new(AtomicUsize::new(0));
            for _ in 0..BATCH {
                let delivered = Arc::clone(&delivered);
                manager
                    .task(|_| Ok::<_, Infallible>(()))
                    .on_complete(move |()| {
                        delivered.fetch_add(1, Ordering::Relaxed);
                    })
                    .start();
            }
            let done = ui.run_until(|| delivered.load(Ordering::Relaxed) == BATCH, TIMEOUT);
            assert!(done, "deliveries did not arrive in time");
        })
    });
    group.finish();
}

/// Submit on this thread -> `on_complete` running on a UI thread that drains an EventLoop.
/// Criterion reports the mean and median; p50/p99 over every measured task are printed.
fn latency(c: &mut Criterion) {
    let ui = UiThread::start();
    let manager = delivering_to(ui.dispatcher.clone());
    let mut samples = Vec::new();
    c.bench_function("latency/submit_to_on_complete", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (tx, rx) = crossbeam_channel::bounded::<Instant>(1);
                let start = Instant::now();
                manager
                    .task(|_| Ok::<_, Infallible>(()))
                    .on_complete(move |()| tx.send(Instant::now()).unwrap())
                    .start();
                let seen = rx.recv_timeout(TIMEOUT).unwrap();
                let elapsed = seen - start;
                samples.push(elapsed);
                total += elapsed;
            }
            total
        })
    });
    samples.sort();
    if !samples.is_empty() {
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
        println!(
            "latency/submit_to_on_complete over {} tasks: p50 {:?}, p99 {:?}",
            samples.len(),
            at(0.50),
            at(0.99)
        );
    }
}

/// One way of reporting progress: `(ctx, current, total)`.
type Update = fn(&TaskContext, u64, u64);

/// Who follows the reports.
#[derive(Clone, Copy)]
enum Listener<'a> {
    Nobody,
    /// `on_progress` through a UI thread that drains continuously.
    Ui(&'a Dispatcher),
    /// `show_progress(true)`: the manager's progress display.
    Display,
}

/// A display that only counts what it is shown: the cost measured is the runtime's.
#[derive(Default)]
struct CountingDisplay(AtomicUsize);

impl ProgressDisplay for CountingDisplay {
    fn task_started(&self, _: &TaskInfo) {}
    fn task_progress(&self, _: &TaskInfo, progress: &Progress) {
        black_box(progress);
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn task_finished(&self, _: &TaskInfo, _: &Outcome) {}
}

/// Runs `calls` progress updates inside one task body and returns how long they took.
fn time_in_body(
    manager: &TaskManager,
    listener: Listener<'_>,
    calls: u64,
    update: Update,
) -> Duration {
    let mut builder = manager.task(move |ctx| {
        let start = Instant::now();
        for i in 0..calls {
            update(ctx, black_box(i), calls);
        }
        Ok::<_, Infallible>(start.elapsed())
    });
    match listener {
        Listener::Nobody => {}
        Listener::Ui(dispatcher) => {
            builder = builder.dispatcher(dispatcher.clone()).on_progress(|p| {
                black_box(p);
            });
        }
        Listener::Display => builder = builder.show_progress(true),
    }
    builder.start().join().unwrap()
}

fn progress(c: &mut Criterion) {
    let mut group = c.benchmark_group("progress");
    let manager = TaskManager::builder()
        .max_threads(THREADS)
        .progress_display(CountingDisplay::default())
        .build()
        .unwrap();
    let ui = UiThread::start();
    let updates: [(&str, Update); 2] = [
        ("set_progress", |ctx, i, n| ctx.set_progress(i, n)),
        ("report_progress", |ctx, i, n| {
            ctx.report_progress(i, n, "working")
        }),
    ];
    for (name, update) in updates {
        group.bench_function(BenchmarkId::new(name, "uncontended"), |b| {
            b.iter_custom(|iters| time_in_body(&manager, Listener::Nobody, iters, update))
        });
        group.bench_function(BenchmarkId::new(name, "ui_draining"), |b| {
            let ui = Listener::Ui(&ui.dispatcher);
            b.iter_custom(|iters| time_in_body(&manager, ui, iters, update))
        });
        group.bench_function(BenchmarkId::new(name, "shown"), |b| {
            b.iter_custom(|iters| time_in_body(&manager, Listener::Display, iters, update))
        });
    }
    group.finish();
}

/// The same service method written with `#[run_in_background]` and with the builder.
#[derive(Clone)]
struct Service {
    tasks: TaskManager,
    done: Sender<u64>,
}

impl Service {
    #[run_in_background(task_name = "double", manager = &self.tasks, on_complete = self.finished)]
    fn double_with_macro(&self, x: u64) -> u64 {
        x * 2
    }

    /// What the macro expands to, written by hand: the body and the callback each get a
    /// clone of the service.
    fn double_with_builder(&self, x: u64) -> Task<()> {
        let this = self.clone();
        let callback_this = self.clone();
        self.tasks
            .task(move |_| Ok::<_, Infallible>(this.double(x)))
            .name("double")
            .show_progress(false)
            .on_complete(move |value| callback_this.finished(value))
            .start()
    }

    fn double(&self, x: u64) -> u64 {
        x * 2
    }

    fn finished(&self, value: u64) {
        self.done.send(value).unwrap();
    }
}

type Method = fn(&Service, u64) -> Task<()>;

fn macro_vs_builder(c: &mut Criterion) {
    const TASKS: u64 = 1_000;
    let mut group = c.benchmark_group("macro_vs_builder");
    group.throughput(Throughput::Elements(TASKS));
    let (done, results) = unbounded();
    let service = Service {
        tasks: TaskManager::new(THREADS),
        done,
    };
    let methods: [(&str, Method); 2] = [
        ("builder", Service::double_with_builder),
        ("macro", Service::double_with_macro),
    ];
    for (name, method) in methods {
        group.bench_function(name, |b| {
            b.iter(|| {
                for x in 0..TASKS {
                    drop(method(&service, x));
                }
                let sum: u64 = (0..TASKS)
                    .map(|_| results.recv_timeout(TIMEOUT).unwrap())
                    .sum();
                assert_eq!(sum, TASKS * (TASKS - 1));
            })
        });
    }
    group.finish();
}

/// 10,000 no-op tasks with `on_complete`, each using one feature: the per-task cost of
/// scopes, items and a shown progress line (each notify of a condvar is a system call, so
/// these paths notify only when a thread waits), and of `local()` callbacks against `Send`
/// ones on the same event loop.
fn features(c: &mut Criterion) {
    const TASKS: usize = 10_000;
    let mut group = c.benchmark_group("features_10k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TASKS as u64));
    let batch = |start: &dyn Fn(Sender<()>)| {
        let (tx, rx) = unbounded::<()>();
        for _ in 0..TASKS {
            start(tx.clone());
        }
        for _ in 0..TASKS {
            rx.recv_timeout(TIMEOUT).unwrap();
        }
    };

    let manager = TaskManager::new(THREADS);
    group.bench_function("plain", |b| {
        b.iter(|| {
            batch(&|tx| {
                manager
                    .task(|_| Ok::<_, Infallible>(()))
                    .on_complete(move |()| tx.send(()).unwrap())
                    .start();
            })
        })
    });
    let scope = manager.scope();
    group.bench_function("in_a_scope", |b| {
        b.iter(|| {
            batch(&|tx| {
                scope
                    .task(|_| Ok::<_, Infallible>(()))
                    .on_complete(move |()| tx.send(()).unwrap())
                    .start();
            })
        })
    });
    group.bench_function("one_item", |b| {
        b.iter(|| {
            batch(&|tx| {
                manager
                    .task_with_items(|_, items| {
                        items.publish(1u8);
                        Ok::<_, Infallible>(())
                    })
                    .on_items(drop)
                    .on_complete(move |()| tx.send(()).unwrap())
                    .start();
            })
        })
    });
    let shown = TaskManager::builder()
        .max_threads(THREADS)
        .progress_display(CountingDisplay::default())
        .build()
        .unwrap();
    group.bench_function("shown", |b| {
        b.iter(|| {
            batch(&|tx| {
                shown
                    .task(|_| Ok::<_, Infallible>(()))
                    .show_progress(true)
                    .on_complete(move |()| tx.send(()).unwrap())
                    .start();
            })
        })
    });

    // Callbacks through an event loop this thread drains, then the same as `local()` ones.
    let ui = EventLoop::new();
    let on_loop = delivering_to(ui.dispatcher());
    let batch_on_loop = |local: bool| {
        let (tx, rx) = unbounded::<()>();
        for _ in 0..TASKS {
            let tx = tx.clone();
            let task = on_loop.task(|_| Ok::<_, Infallible>(()));
            if local {
                task.local()
                    .on_complete(move |()| tx.send(()).unwrap())
                    .start();
            } else {
                task.on_complete(move |()| tx.send(()).unwrap()).start();
            }
        }
        let mut seen = 0;
        let done = ui.run_until(
            || {
                seen += rx.try_iter().count();
                seen == TASKS
            },
            TIMEOUT,
        );
        assert!(done, "{seen} of {TASKS} callbacks ran");
    };
    group.bench_function("event_loop", |b| b.iter(|| batch_on_loop(false)));
    group.bench_function("event_loop_local", |b| b.iter(|| batch_on_loop(true)));
    group.finish();
}

/// Work over a collection: what one item of a `map` costs (100,000 cheap items, one task),
/// blocking and async, against as many items through tasks of their own in one scope.
fn collection(c: &mut Criterion) {
    const ITEMS: u64 = 100_000;
    let manager = TaskManager::new(THREADS);
    let mut group = c.benchmark_group("collection_100k");
    group.throughput(Throughput::Elements(ITEMS));
    group.bench_function("map", |b| {
        b.iter(|| {
            let map = manager.map(0..ITEMS, |_, x| Ok::<_, Infallible>(black_box(x) * 2));
            black_box(map.start().join().unwrap())
        })
    });
    group.bench_function("for_each", |b| {
        b.iter(|| {
            let each = manager.for_each(0..ITEMS, |_, x| {
                black_box(x);
                Ok::<_, Infallible>(())
            });
            each.start().join().unwrap()
        })
    });
    group.bench_function("map_async", |b| {
        b.iter(|| {
            let map = manager.map_async(0..ITEMS, |_, x| async move { Ok::<_, Infallible>(x * 2) });
            black_box(map.parallelism(64).start().join().unwrap())
        })
    });
    group.bench_function("a_task_per_item", |b| {
        b.iter(|| {
            let scope = manager.scope();
            for x in 0..ITEMS {
                scope.spawn(move |_| Ok::<_, Infallible>(black_box(x) * 2));
            }
            assert!(scope.wait(TIMEOUT));
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    spawn_join,
    on_complete_batch,
    latency,
    progress,
    macro_vs_builder,
    features,
    collection
);
criterion_main!(benches);
