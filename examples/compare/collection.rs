//! Work over a collection: `map` against rayon's `par_iter().map(..).collect()` on the same
//! number of threads, over a million trivial items and over hashing the files of a tree (the
//! terminal demo's kind of data, written to a temporary directory first); a cancel of a map
//! of a million items; and how many deliveries bring a million results to an `EventLoop`.
//! Each contender's rounds are interleaved with the other's, and the figure is the median.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use task_runtime::{AppError, EventLoop, TaskManager};

use super::{median, THREADS};

/// One contender's median time, in milliseconds.
pub struct Versus {
    pub ours: f64,
    pub rayon: f64,
}

impl Versus {
    pub fn ratio(&self) -> f64 {
        self.ours / self.rayon
    }
}

/// A cheap item: a multiply and a shift.
fn trivial(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}

/// Times `ours` and `theirs` in alternation, `rounds` each (after one warm-up each).
fn versus<A, B>(
    rounds: usize,
    mut ours: impl FnMut() -> A,
    mut theirs: impl FnMut() -> B,
) -> Versus {
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        f();
        started.elapsed().as_secs_f64() * 1e3
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let ta = time(&mut || drop(std::hint::black_box(ours())));
        let tb = time(&mut || drop(std::hint::black_box(theirs())));
        if round > 0 {
            a.push(ta);
            b.push(tb);
        }
    }
    Versus {
        ours: median(&mut a),
        rayon: median(&mut b),
    }
}

/// A million trivial items, each contender given the same input (a `Vec`, moved in).
pub fn trivial_items(items: u64, rounds: usize) -> Versus {
    let manager = TaskManager::new(THREADS);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .unwrap();
    let input: Vec<u64> = (0..items).collect();
    let result = versus(
        rounds,
        || {
            manager
                .map(input.clone(), |_, x| Ok::<_, AppError>(trivial(x)))
                .start()
                .join()
                .unwrap()
        },
        || {
            pool.install(|| {
                input
                    .clone()
                    .into_par_iter()
                    .map(trivial)
                    .collect::<Vec<_>>()
            })
        },
    );
    // The same answer, or the figures mean nothing.
    let ours = manager
        .map(input.clone(), |_, x| Ok::<_, AppError>(trivial(x)))
        .start();
    let theirs: Vec<u64> = input.iter().copied().map(trivial).collect();
    assert_eq!(ours.join().unwrap(), theirs);
    result
}

/// FNV-1a of a file.
fn hash_file(path: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut buffer = [0u8; 64 * 1024];
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hash);
        }
        for &byte in &buffer[..n] {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// `files` files of `kb` kilobytes of generated data in a temporary directory, removed when
/// dropped.
struct Tree(PathBuf, Vec<PathBuf>);

impl Tree {
    fn new(files: usize, kb: usize) -> Tree {
        let dir = std::env::temp_dir().join(format!("task-runtime-compare-{}", std::process::id()));
        let mut paths = Vec::new();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..files {
            let sub = dir.join(format!("d{}", i % 16));
            std::fs::create_dir_all(&sub).unwrap();
            let bytes: Vec<u8> = (0..kb * 1024)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let path = sub.join(format!("f{i}.bin"));
            std::fs::write(&path, bytes).unwrap();
            paths.push(path);
        }
        Tree(dir, paths)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Hashing every file of a tree (read from the page cache after the first round).
pub fn hashing_files(files: usize, kb: usize, rounds: usize) -> Versus {
    let tree = Tree::new(files, kb);
    let manager = TaskManager::new(THREADS);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .unwrap();
    versus(
        rounds,
        || {
            manager
                .map(tree.1.clone(), |_, path| {
                    Ok::<_, AppError>(hash_file(&path)?)
                })
                .start()
                .join()
                .unwrap()
        },
        || {
            pool.install(|| {
                tree.1
                    .clone()
                    .into_par_iter()
                    .map(|path| hash_file(&path).unwrap())
                    .collect::<Vec<_>>()
            })
        },
    )
}

/// A map of `items` slow items, cancelled once it runs: how long `cancel()` takes, and how
/// long until `join` returns, in microseconds (medians of `rounds`).
pub fn cancel_big_map(items: u64, rounds: usize) -> (f64, f64) {
    let manager = TaskManager::new(THREADS);
    let (mut cancels, mut joins) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let map = manager
            .map(0..items, |_, x| {
                std::thread::sleep(Duration::from_micros(20));
                Ok::<_, AppError>(x)
            })
            .start();
        while map.progress().is_none_or(|p| p.current < 100) {
            std::thread::yield_now();
        }
        let started = Instant::now();
        map.cancel();
        cancels.push(started.elapsed().as_secs_f64() * 1e6);
        assert!(map.join().unwrap_err().is_cancelled());
        joins.push(started.elapsed().as_secs_f64() * 1e6);
    }
    (median(&mut cancels), median(&mut joins))
}

/// A map of `items` trivial items whose results an `EventLoop` takes with `on_items`, drained
/// at 60 Hz: how many deliveries brought them, and whether every one arrived once.
pub fn results_to_a_loop(items: u64) -> (usize, bool) {
    let ui = EventLoop::new();
    let manager = TaskManager::builder()
        .max_threads(THREADS)
        .dispatcher(ui.dispatcher())
        .build()
        .unwrap();
    let got = std::rc::Rc::new(std::cell::RefCell::new((
        0usize,
        vec![false; items as usize],
        true,
    )));
    let getting = got.clone();
    let map = manager
        .map(0..items, |_, x| Ok::<_, AppError>(trivial(x)))
        .local()
        .on_items(move |batch| {
            let mut got = getting.borrow_mut();
            got.0 += 1;
            for (index, value) in batch {
                got.2 &= !got.1[index] && value == trivial(index as u64);
                got.1[index] = true;
            }
        })
        .start();
    while !map.is_finished() || ui.pending() > 0 {
        ui.process_events();
        std::thread::sleep(Duration::from_millis(16));
    }
    ui.process_events();
    let got = got.borrow();
    (got.0, got.2 && got.1.iter().all(|&seen| seen))
}
