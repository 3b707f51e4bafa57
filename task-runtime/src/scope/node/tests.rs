//! The scope tree without a manager: tasks carry a node as their feature, as the builders
//! attach it, and are admitted, run and cancelled by hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Counts, ScopeNode};
use crate::dispatch::Dispatcher;
use crate::task::cell::CellRef;
use crate::task::delivery::Callbacks;
use crate::task::run;
use crate::task::testing::{task, TestHost};
use crate::task::Task;
use crate::vocabulary::TaskState;

fn host() -> TestHost {
    TestHost::new(Dispatcher::worker_thread())
}

/// A task of `scope` admitted as a manager admits it (every feature hears of it); whether it
/// was let in. Its body reports `units` of progress and returns them.
fn admitted(test: &TestHost, scope: &Arc<ScopeNode>, units: u64) -> (Task<u64>, CellRef, bool) {
    let mut spec = test.spec("member", Callbacks::default());
    spec.carry(Arc::clone(scope) as _);
    let (handle, cell) = task(spec, move |ctx| {
        ctx.set_progress(units, 10);
        Ok(units)
    });
    let let_in = cell.core.features().iter().all(|f| f.admit(&cell));
    if !let_in {
        run::cancel(&cell);
    }
    (handle, cell, let_in)
}

fn started_and_finished(scope: &ScopeNode) -> (usize, usize) {
    let Counts {
        started, finished, ..
    } = scope.counts();
    (started, finished)
}

#[test]
fn a_child_counts_in_its_parent_and_not_the_other_way() {
    let test = host();
    let parent = ScopeNode::new(Arc::clone(&test.host), None);
    let child = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&parent)));
    let (_a, in_parent, _) = admitted(&test, &parent, 3);
    let (_b, in_child, _) = admitted(&test, &child, 4);
    assert_eq!(started_and_finished(&parent), (2, 0));
    assert_eq!(started_and_finished(&child), (1, 0));
    assert_eq!((parent.pending(), child.pending()), (2, 1));

    run::run(&in_child);
    assert_eq!(started_and_finished(&child), (1, 1));
    assert_eq!(
        started_and_finished(&parent),
        (2, 1),
        "the decision went up"
    );
    run::run(&in_parent);
    assert_eq!(started_and_finished(&child), (1, 1), "and never down");
    assert_eq!(started_and_finished(&parent), (2, 2));
    assert_eq!(parent.pending(), 0);
}

#[test]
fn decided_tasks_leave_their_last_progress_in_the_counts() {
    let test = host();
    let parent = ScopeNode::new(Arc::clone(&test.host), None);
    let child = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&parent)));
    let (_a, a, _) = admitted(&test, &parent, 3);
    let (_b, b, _) = admitted(&test, &child, 4);
    run::run(&a);
    run::run(&b);
    let counts = parent.counts();
    assert_eq!((counts.current, counts.total), (7, 20));
    let counts = child.counts();
    assert_eq!((counts.current, counts.total), (4, 10));
}

#[test]
fn closing_a_scope_closes_its_descendants_and_silences_their_tasks() {
    let test = host();
    let parent = ScopeNode::new(Arc::clone(&test.host), None);
    let child = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&parent)));
    let grandchild = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&child)));
    let (_t, member, _) = admitted(&test, &grandchild, 1);
    assert!(!member.core.is_silenced());

    child.close();
    assert!(!parent.is_closed(), "never up");
    assert!(child.is_closed() && grandchild.is_closed(), "always down");
    assert!(member.core.is_silenced(), "no callback of its tasks starts");
    child.close(); // once: a second close changes nothing
    assert!(!parent.is_closed());
}

#[test]
fn a_closed_scope_refuses_new_tasks_which_end_cancelled_and_counted() {
    let test = host();
    let parent = ScopeNode::new(Arc::clone(&test.host), None);
    let child = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&parent)));
    parent.close();
    let (handle, cell, let_in) = admitted(&test, &child, 1);
    assert!(!let_in);
    assert_eq!(cell.core.state(), TaskState::Cancelled);
    assert!(handle.join().unwrap_err().is_cancelled());
    // Listed before it was refused, so the scope's counts still add up.
    assert_eq!(started_and_finished(&child), (1, 1));
    assert!(child.wait(Some(Instant::now())));
}

#[test]
fn shutting_a_scope_cancels_the_active_tasks_of_its_subtree_only() {
    let test = host();
    let root = ScopeNode::new(Arc::clone(&test.host), None);
    let panel = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&root)));
    let view = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&panel)));
    let sibling = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&root)));
    let (_done, done, _) = admitted(&test, &panel, 1);
    run::run(&done);
    let (_a, a, _) = admitted(&test, &panel, 1);
    let (_b, b, _) = admitted(&test, &view, 1);
    let (_c, c, _) = admitted(&test, &sibling, 1);

    assert_eq!(
        panel.shut(),
        2,
        "the queued tasks of the panel and of its view"
    );
    assert_eq!(a.core.state(), TaskState::Cancelled);
    assert_eq!(b.core.state(), TaskState::Cancelled);
    assert_eq!(
        c.core.state(),
        TaskState::Queued,
        "a sibling's task is not the panel's"
    );
    assert_eq!(
        done.core.state(),
        TaskState::Completed,
        "a decided task stays decided"
    );
    assert!(panel.is_closed() && view.is_closed() && !sibling.is_closed());
    assert_eq!(panel.shut(), 0, "nothing left to cancel");
    assert_eq!(started_and_finished(&root), (4, 3));
}

#[test]
fn a_scope_cancel_leaves_it_open_for_new_tasks() {
    let test = host();
    let scope = ScopeNode::new(Arc::clone(&test.host), None);
    let (_a, a, _) = admitted(&test, &scope, 1);
    assert_eq!(scope.cancel(), 1);
    assert_eq!(a.core.state(), TaskState::Cancelled);
    assert!(
        a.core.is_silenced(),
        "a cancelled task's callbacks are silenced"
    );
    let (handle, b, let_in) = admitted(&test, &scope, 5);
    assert!(let_in && !scope.is_closed());
    run::run(&b);
    assert_eq!(handle.join().unwrap(), 5);
}

#[test]
fn wait_returns_once_every_task_is_decided_or_at_its_deadline() {
    let test = host();
    let parent = ScopeNode::new(Arc::clone(&test.host), None);
    let child = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&parent)));
    assert!(parent.wait(None), "an empty scope is settled");
    let (_t, cell, _) = admitted(&test, &child, 1);
    assert!(
        !parent.wait(Some(Instant::now())),
        "a task of a child is waited for"
    );
    assert!(!parent.wait(Some(Instant::now() + Duration::from_millis(5))));

    let runner = std::thread::spawn(move || run::run(&cell));
    // A deadline only so that a missing wake-up fails instead of hanging.
    let far = Instant::now() + Duration::from_secs(30);
    assert!(parent.wait(Some(far)), "settled by the decision");
    assert!(
        Instant::now() < far,
        "woken by the decision, not by the deadline"
    );
    runner.join().unwrap();
    assert!(child.wait(Some(Instant::now())));
}

#[test]
fn is_within_follows_the_parents() {
    let test = host();
    let root = ScopeNode::new(Arc::clone(&test.host), None);
    let child = ScopeNode::new(Arc::clone(&test.host), Some(Arc::clone(&root)));
    let other = ScopeNode::new(Arc::clone(&test.host), None);
    assert!(child.is_within(&root) && child.is_within(&child) && root.is_within(&root));
    assert!(!root.is_within(&child) && !child.is_within(&other));
}
