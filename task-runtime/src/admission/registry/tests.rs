//! The registry, on tasks built without a manager.

use std::sync::Arc;

use super::{Refusal, Registry};
use crate::dispatch::Dispatcher;
use crate::latest::LatestOfName;
use crate::task::cell::CellRef;
use crate::task::delivery::Callbacks;
use crate::task::feature::Feature;
use crate::task::run;
use crate::task::testing::{task, TestHost};
use crate::task::Task;
use crate::vocabulary::{Exclusive, TaskState};

fn host() -> TestHost {
    TestHost::new(Dispatcher::worker_thread())
}

fn queued(test: &TestHost, name: &'static str) -> (Task<()>, CellRef) {
    task(test.spec(name, Callbacks::default()), |_| Ok(()))
}

/// How an exclusive task is admitted: its exclusivity, and the latest of its name.
type Exclusively = Option<(Exclusive, Option<Arc<LatestOfName>>)>;

/// A task of `name` started with `how`, and how it is admitted.
fn exclusive(
    test: &TestHost,
    registry: &Registry,
    name: &'static str,
    how: Exclusive,
) -> (Task<()>, CellRef, Exclusively) {
    let mut spec = test.spec(name, Callbacks::default());
    let latest = (how == Exclusive::CancelPrevious).then(|| registry.latest_of(name));
    if let Some(latest) = &latest {
        spec.carry(Arc::clone(latest) as Arc<dyn Feature>);
    }
    let (handle, cell) = task(spec, |_| Ok(()));
    (handle, cell, Some((how, latest)))
}

/// Entries in all shards, finished ones not yet swept included.
fn entries(registry: &Registry) -> usize {
    let shards = registry.shards.iter();
    shards.map(|s| s.0.lock().unwrap().tasks.len()).sum()
}

/// Per shard, the swept entries still waiting to be freed.
fn swept(registry: &Registry) -> Vec<usize> {
    let shards = registry.shards.iter();
    shards.map(|s| s.0.lock().unwrap().swept.len()).collect()
}

#[test]
fn active_tasks_are_listed_in_submission_order_until_decided() {
    let test = host();
    let registry = Registry::new();
    let tasks: Vec<_> = ["b", "a", "b"].map(|name| queued(&test, name)).into();
    for (_, cell) in tasks.iter().rev() {
        registry.admit(cell, None).ok().unwrap();
    }
    assert_eq!(registry.len(), 3);
    let ids: Vec<_> = registry.cells().iter().map(|c| c.core.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(registry.named("b").len(), 2);
    let first = &tasks[0].1;
    assert!(registry.get(first.core.id).is_some());
    run::run(first);
    assert_eq!(registry.len(), 2, "a decided task is not active");
    assert_eq!(registry.named("b").len(), 1);
    run::cancel(&tasks[2].1);
    assert_eq!(registry.named("b").len(), 0);
}

#[test]
fn the_registry_never_keeps_a_task_alive() {
    let test = host();
    let registry = Registry::new();
    let (handle, cell) = queued(&test, "weak");
    let id = cell.core.id;
    registry.admit(&cell, None).ok().unwrap();
    assert_eq!(
        Arc::strong_count(&cell),
        2,
        "the handle and this test, not the registry"
    );
    run::run(&cell);
    drop((handle, cell));
    assert!(registry.get(id).is_none(), "a task nobody holds is gone");
    assert_eq!(registry.len(), 0);
}

#[test]
fn finished_entries_are_swept_as_submissions_come() {
    let test = host();
    let registry = Registry::new();
    const TASKS: usize = 16 * 200; // 200 per shard
    for _ in 0..TASKS {
        let (_, cell) = queued(&test, "swept");
        registry.admit(&cell, None).ok().unwrap();
        run::run(&cell);
    }
    let (_keep, active) = queued(&test, "kept");
    registry.admit(&active, None).ok().unwrap();
    let entries = entries(&registry);
    assert!(
        entries < TASKS / 2,
        "{entries} entries kept for 1 active task"
    );
    assert_eq!(registry.len(), 1);
}

#[test]
fn skip_if_active_is_refused_while_a_task_of_the_name_is_active() {
    let test = host();
    let registry = Registry::new();
    let (_a, first) = queued(&test, "sync");
    registry.admit(&first, None).ok().unwrap();
    let (_b, skipped, skipped_how) = exclusive(&test, &registry, "sync", Exclusive::SkipIfActive);
    assert_eq!(
        registry.admit(&skipped, skipped_how).err(),
        Some(Refusal::NameActive)
    );
    run::run(&first);
    let (_c, admitted, admitted_how) = exclusive(&test, &registry, "sync", Exclusive::SkipIfActive);
    assert_eq!(
        registry
            .admit(&admitted, admitted_how)
            .ok()
            .map(|s| s.len()),
        Some(0)
    );
}

#[test]
fn cancel_previous_supersedes_every_older_task_of_the_name() {
    let test = host();
    let registry = Registry::new();
    let (_plain, plain) = queued(&test, "search");
    registry.admit(&plain, None).ok().unwrap();
    let (_old, old, old_how) = exclusive(&test, &registry, "search", Exclusive::CancelPrevious);
    registry.admit(&old, old_how).ok().unwrap();
    run::run(&old); // decided, its delivery could still be pending
    let (_new, new, new_how) = exclusive(&test, &registry, "search", Exclusive::CancelPrevious);
    let superseded = registry.admit(&new, new_how).ok().unwrap();
    let ids: Vec<_> = superseded.iter().map(|c| c.core.id).collect();
    assert_eq!(
        ids,
        [plain.core.id],
        "the active ones, for the caller to cancel"
    );
    assert!(plain.core.is_silenced());
    assert!(old.core.is_silenced(), "decided, but still superseded");
    assert!(!new.core.is_silenced());
    let (_other, other, other_how) =
        exclusive(&test, &registry, "other", Exclusive::CancelPrevious);
    registry.admit(&other, other_how).ok().unwrap();
    assert!(!new.core.is_silenced(), "names do not interfere");
}

#[test]
fn closing_refuses_new_tasks_but_keeps_the_active_ones() {
    let test = host();
    let registry = Registry::new();
    let (_a, active) = queued(&test, "a");
    registry.admit(&active, None).ok().unwrap();
    registry.close();
    let (_b, late) = queued(&test, "b");
    assert_eq!(registry.admit(&late, None).err(), Some(Refusal::ShutDown));
    let (_c, latest, latest_how) = exclusive(&test, &registry, "c", Exclusive::CancelPrevious);
    assert_eq!(
        registry.admit(&latest, latest_how).err(),
        Some(Refusal::ShutDown)
    );
    assert!(
        !latest.core.is_silenced(),
        "a refused task still delivers its on_cancelled"
    );
    assert_eq!(registry.len(), 1);
    assert_eq!(active.core.state(), TaskState::Queued);
}

#[test]
fn names_without_tasks_are_forgotten() {
    let test = host();
    let registry = Registry::new();
    for n in 0..500 {
        let name: &'static str = Box::leak(format!("name-{n}").into_boxed_str());
        drop(exclusive(&test, &registry, name, Exclusive::CancelPrevious));
    }
    let kept = super::lock(&registry.control).latest.len();
    assert!(kept < 500 / 2, "{kept} names kept without tasks");
}

#[test]
fn swept_tasks_are_freed_one_per_submission_and_a_bursts_excess_at_once() {
    let test = host();
    let registry = Registry::new();
    // A burst: every task is active while the burst is admitted, so sweeps keep them all.
    let burst: Vec<_> = (0..16 * 500).map(|_| queued(&test, "burst")).collect();
    for (_, cell) in &burst {
        registry.admit(cell, None).ok().unwrap();
    }
    for (_, cell) in &burst {
        run::run(cell);
    }
    drop(burst);
    // Enough finished submissions after it for every shard to sweep the burst out.
    for _ in 0..16 * 1200 {
        let (_, cell) = queued(&test, "after");
        registry.admit(&cell, None).ok().unwrap();
        run::run(&cell);
    }
    let before = swept(&registry);
    assert!(
        before.iter().all(|&n| n <= super::SWEPT_KEPT),
        "a sweep keeps at most {} finished tasks for later: {before:?}",
        super::SWEPT_KEPT
    );
    let entries = entries(&registry);
    assert!(
        entries < 16 * 500,
        "the burst was swept out: {entries} left"
    );
    // One submission per shard (ids are consecutive): each frees one swept task.
    let kept: Vec<_> = (0..16).map(|_| queued(&test, "one more")).collect();
    for (_, cell) in &kept {
        registry.admit(cell, None).ok().unwrap();
    }
    let after = swept(&registry);
    for (shard, (b, a)) in before.iter().zip(&after).enumerate() {
        // (A shard that swept again meanwhile may hold more.)
        assert!(
            *a == b.saturating_sub(1) || *a > *b,
            "shard {shard}: {b} swept tasks, then {a} after one submission"
        );
    }
    assert!(after.iter().sum::<usize>() < before.iter().sum::<usize>());
}

#[test]
fn finished_tasks_still_held_leave_at_the_sweep_not_with_the_swept() {
    let test = host();
    let registry = Registry::new();
    // Finished, but their handles are kept (as a queued delivery keeps a task): their memory
    // is not freed by the registry, so nothing is gained by dropping their entries later.
    let held: Vec<_> = (0..16 * 200).map(|_| queued(&test, "held")).collect();
    for (_, cell) in &held {
        registry.admit(cell, None).ok().unwrap();
        run::run(cell);
    }
    let entries = entries(&registry);
    assert!(entries < 16 * 200 / 2, "swept out: {entries} entries left");
    let waiting: usize = swept(&registry).iter().sum();
    assert_eq!(
        waiting, 0,
        "no entry of a task still held waits to be freed"
    );
    drop(held);
}
