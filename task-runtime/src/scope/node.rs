//! [`ScopeNode`]: the state a scope shares with its tasks and its child scopes.
//!
//! A task of a scope carries the node as a feature (see `task::feature`): it asks, before
//! each callback, whether the scope or an ancestor was closed (then no callback of it starts
//! any more), and tells the node when it is admitted, started, progresses and is decided. The
//! node counts its tasks as they are admitted and decided, its own and its descendants' alike
//! (each decision is counted up the parent chain), so counts and waits include the children
//! without walking them. It lists its tasks weakly, for cancelling and snapshots.
//!
//! A running body's scope (`ctx.scope()`) is also listed under its task's id in its host's
//! [`BodyScopes`]: asking the task to stop closes it, as dropping it would.

use std::sync::{Arc, OnceLock, Weak};
use std::task::Waker;
use std::time::Instant;

use crate::display::Shown;
use crate::host::{BodyScope, Mark, Stamp};
use crate::progress::Progress;
use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::{lock, wait, wait_timeout, Condvar, Mutex};
use crate::task::admit::TaskHost;
use crate::task::cell::AnySlot;
use crate::task::cell::{CellRef, Silence, TaskCell, TaskCore};
use crate::task::context;
use crate::task::delivery::Terminal;
use crate::task::feature::Feature;
use crate::task::run;
use crate::vocabulary::{CancelReason, Outcome, TaskId, TaskInfo, TaskState};

pub(crate) struct ScopeNode {
    /// The host of the manager the scope belongs to: its cancel rounds.
    host: Arc<TaskHost>,
    parent: Option<Arc<ScopeNode>>,
    /// The task whose body made this scope with `ctx.scope()`.
    body: Option<TaskId>,
    /// `show_progress(true)`: the scope's one line in the progress display.
    shown: OnceLock<Arc<Shown>>,
    /// The scope (this one; ancestors have their own) was dropped.
    closed: AtomicBool,
    /// The latest cancel round of this scope (its `cancel` or its drop): no task of it or of
    /// its descendants queued before that round starts (see `host::rounds`).
    cancelled: Mark,
    members: Mutex<Members>,
    settled: Condvar,
}

#[derive(Default)]
struct Members {
    /// Tasks of this scope itself, pruned of those gone or decided as they are listed.
    tasks: Vec<Weak<TaskCell<dyn AnySlot>>>,
    children: Vec<Weak<ScopeNode>>,
    /// Started and decided tasks, of this scope and its descendants.
    started: usize,
    finished: usize,
    /// The latest progress of the decided tasks, summed (the active ones are read live).
    done_current: u64,
    done_total: u64,
    /// How the decided tasks ended.
    completed: usize,
    failed: usize,
    cancelled: usize,
    /// A shown scope's running tasks, its descendants' included: their progress is part of
    /// its line.
    running: Vec<Weak<TaskCell<dyn AnySlot>>>,
    /// Threads in [`ScopeNode::wait`]: only then is `settled` notified (a notify is a
    /// system call even when nobody waits, and this one would come with every task).
    waiting: usize,
    /// Futures waiting for every task to be decided (`ScopeHandle::idle`).
    idle_wakers: Vec<Waker>,
}

/// A shown scope's line: tasks finished of started; as the message, the units of its tasks'
/// progress (the decided ones' last report and the running ones' latest) and, once any ended,
/// how many completed, failed and were cancelled.
fn line(members: &Members, running: (u64, u64)) -> Progress {
    let current = members.done_current.saturating_add(running.0);
    let total = members.done_total.saturating_add(running.1);
    let mut message = String::new();
    if total > 0 {
        message = format!("{current} of {total} units");
    }
    if members.finished > 0 {
        if !message.is_empty() {
            message.push_str(", ");
        }
        message.push_str(&format!(
            "{} completed, {} failed, {} cancelled",
            members.completed, members.failed, members.cancelled
        ));
    }
    Progress::new(members.finished as u64, members.started as u64, message)
}

/// Counts of a scope, its descendants' included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) started: usize,
    pub(crate) finished: usize,
    pub(crate) current: u64,
    pub(crate) total: u64,
}

impl ScopeNode {
    /// A scope of `host`'s tasks; a child of `parent` if given (closed with it, counted in
    /// it).
    pub(crate) fn new(host: Arc<TaskHost>, parent: Option<Arc<ScopeNode>>) -> Arc<ScopeNode> {
        Self::made(host, parent, None)
    }

    /// A scope for the subtasks of the running task `cell`: a child of the task's own scope
    /// (if any), closed as if dropped once the task is asked to stop (at once if it was).
    pub(crate) fn for_body(cell: &CellRef) -> Arc<ScopeNode> {
        let id = cell.core.id;
        let host = &cell.core.host;
        let node = Self::made(Arc::clone(host), cell.core.feature::<ScopeNode>(), Some(id));
        let listed: Weak<dyn BodyScope> = Arc::downgrade(&node) as Weak<dyn BodyScope>;
        host.body_scopes().add(id, listed);
        fence(Ordering::SeqCst); // pairs with the one in `BodyScopes::stop`
        if cell.core.is_cancelled() {
            node.shut();
        }
        node
    }

    fn made(
        host: Arc<TaskHost>,
        parent: Option<Arc<ScopeNode>>,
        body: Option<TaskId>,
    ) -> Arc<ScopeNode> {
        let node = Arc::new(ScopeNode {
            host,
            parent: parent.clone(),
            body,
            shown: OnceLock::new(),
            closed: AtomicBool::new(false),
            cancelled: Mark::default(),
            members: Mutex::default(),
            settled: Condvar::new(),
        });
        if let Some(parent) = parent {
            let mut members = lock(&parent.members);
            members.children.retain(|child| child.strong_count() > 0);
            members.children.push(Arc::downgrade(&node));
        }
        node
    }

    /// Whether this scope or an ancestor was closed. `SeqCst`: a drop that returned on the
    /// dispatcher's thread is seen by every delivery that thread makes afterwards.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.parent.as_ref().is_some_and(|p| p.is_closed())
    }

    /// Marks the scope closed (once: later calls do nothing): no callback of its tasks
    /// starts from now on.
    pub(crate) fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(shown) = self.shown.get() {
            // The line as it stands, in case the display shows it after the scope is gone.
            self.host.display().progress(shown, &self.line_now());
            self.host.display().finished(shown, Outcome::Completed);
        }
        if let Some(id) = self.body {
            let this: *const ScopeNode = self;
            self.host.body_scopes().remove(id, this.cast());
        }
    }

    /// Closes the scope and cancels the active tasks of it and its descendants: what
    /// dropping a `TaskScope` does. How many it cancelled.
    pub(crate) fn shut(&self) -> usize {
        // Closed before the round: a task submitted meanwhile either sees the scope closed and
        // cancels itself, or was listed here before the round's snapshot, which then has it.
        self.close();
        self.cancel_round(Silence::No, CancelReason::ScopeClosed)
    }

    /// Cancels the active tasks of this scope and its descendants, silencing each it cancels
    /// (a scope's `cancel`); how many this call cancelled.
    pub(crate) fn cancel(&self) -> usize {
        self.cancel_round(Silence::Yes, CancelReason::Requested)
    }

    /// One cancel round over this scope and its descendants: no task of them queued before
    /// the round starts from then on, and every one active is cancelled; how many this call
    /// cancelled. (Running tasks it asks to stop count; tasks that were decided meanwhile do
    /// not.)
    fn cancel_round(&self, silence: Silence, reason: CancelReason) -> usize {
        run::cancel_round(
            &self.host,
            &self.cancelled,
            || self.active(),
            silence,
            reason,
        )
    }

    /// Shows the scope as one line, `info`, in its manager's progress display (once). The
    /// line is computed when the display thread shows it (see [`line`]).
    pub(crate) fn show(self: &Arc<Self>, info: TaskInfo) {
        let node = Arc::downgrade(self);
        let shown = Shown::live(info, move || node.upgrade().map(|node| node.line_now()));
        if self.shown.set(Arc::clone(&shown)).is_ok() {
            self.host.display().started(&shown);
            self.host.display().touch(&shown);
        }
    }

    /// The line of this (shown) scope now.
    fn line_now(&self) -> Progress {
        let (progress, running) = {
            let members = lock(&self.members);
            let running: Vec<CellRef> = members.running.iter().filter_map(Weak::upgrade).collect();
            let units = running
                .iter()
                .filter_map(|cell| cell.core.mailbox().latest_units())
                .fold((0u64, 0u64), |(c, t), (current, total)| {
                    (c.saturating_add(current), t.saturating_add(total))
                });
            (line(&members, units), running)
        };
        // Outside the lock: one of them may be the last reference to its task.
        drop(running);
        progress
    }

    /// Queues this scope's line to be shown, if it is shown.
    fn touch(&self) {
        if let Some(shown) = self.shown.get() {
            self.host.display().touch(shown);
        }
    }

    /// Runs `f` on each shown scope from this one up, with its members locked.
    fn each_shown(&self, f: impl Fn(&ScopeNode, &mut Members)) {
        let mut node = Some(self);
        while let Some(scope) = node {
            if scope.shown.get().is_some() {
                f(scope, &mut lock(&scope.members));
            }
            node = scope.parent.as_deref();
        }
    }

    /// Whether this scope is `scope` or one of its descendants.
    pub(crate) fn is_within(&self, scope: &ScopeNode) -> bool {
        std::ptr::eq(self, scope) || self.parent.as_ref().is_some_and(|p| p.is_within(scope))
    }

    /// Whether this scope or an ancestor is shown: then its tasks are not, one by one.
    pub(crate) fn is_shown(&self) -> bool {
        self.shown.get().is_some() || self.parent.as_ref().is_some_and(|p| p.is_shown())
    }

    /// Lets the progress display show what it was told about this scope (and draw it), until
    /// `deadline`.
    pub(crate) fn flush_display(&self, deadline: Option<Instant>) {
        if self.is_shown() {
            self.host.display().flush(deadline);
        }
    }

    /// A task of this scope is admitted: listed, and counted as started.
    fn list(&self, cell: &CellRef) {
        {
            let mut members = lock(&self.members);
            // A weak entry still holds its task's allocation: now and then (the list doubled)
            // drop those of tasks gone or decided, so a long-lived scope stays small.
            let len = members.tasks.len();
            if len >= 64 && len.is_power_of_two() {
                members.tasks.retain(|task| {
                    task.upgrade()
                        .is_some_and(|cell| !cell.core.state().is_terminal())
                });
            }
            members.tasks.push(Arc::downgrade(cell));
        }
        self.up(|members| members.started += 1);
    }

    /// A task of this scope, `cell`, was decided, ending in `state`.
    fn count_decided(&self, cell: &CellRef, state: TaskState) {
        let (current, total) = cell.core.mailbox().latest_units().unwrap_or((0, 0));
        let this = Arc::as_ptr(cell);
        self.up(|members| {
            members.finished += 1;
            members.done_current = members.done_current.saturating_add(current);
            members.done_total = members.done_total.saturating_add(total);
            match state {
                TaskState::Completed => members.completed += 1,
                TaskState::Failed => members.failed += 1,
                _ => members.cancelled += 1,
            }
            if !members.running.is_empty() {
                members
                    .running
                    .retain(|task| !std::ptr::addr_eq(task.as_ptr(), this));
            }
        });
    }

    /// Applies `change` to this scope and each ancestor, waking their waiters and queuing
    /// the line of those that are shown.
    fn up(&self, change: impl Fn(&mut Members)) {
        let mut node = Some(self);
        while let Some(scope) = node {
            let (waiting, idle) = {
                let mut members = lock(&scope.members);
                change(&mut members);
                // Queued under the lock: a `wait` that sees the count finds the line queued (or
                // being shown, computed after this change), and its flush waits for it.
                scope.touch();
                let idle = if members.finished >= members.started {
                    std::mem::take(&mut members.idle_wakers)
                } else {
                    Vec::new()
                };
                (members.waiting > 0, idle)
            };
            if waiting {
                scope.settled.notify_all();
            }
            for waker in idle {
                // A waker is user code (an executor's): its panic is not this thread's.
                let _ = crate::unwind::catch(|| waker.wake());
            }
            node = scope.parent.as_deref();
        }
    }

    /// The active tasks of this scope and its descendants.
    pub(crate) fn active(&self) -> Vec<CellRef> {
        let mut found = Vec::new();
        self.collect(&mut found);
        found
    }

    fn collect(&self, found: &mut Vec<CellRef>) {
        let children: Vec<Arc<ScopeNode>> = {
            let mut members = lock(&self.members);
            let mut live = Vec::new();
            members.tasks.retain(|task| match task.upgrade() {
                Some(cell) if !cell.core.state().is_terminal() => {
                    live.push(cell);
                    true
                }
                _ => false,
            });
            found.extend(live);
            members.children.retain(|child| child.strong_count() > 0);
            members.children.iter().filter_map(Weak::upgrade).collect()
        };
        for child in children {
            child.collect(found);
        }
    }

    /// Tasks started and not yet decided, of this scope and its descendants.
    ///
    /// Read from the tasks' states, not from the decision count: a task whose handle already
    /// sees its outcome is not counted as active, even before its decision reached the scope.
    pub(crate) fn pending(&self) -> usize {
        self.active().len()
    }

    /// Counts, with the active tasks' latest progress summed in. `finished` is derived from
    /// the active tasks, as `pending` is (`started` is read first: a task admitted meanwhile
    /// can only make it smaller for a moment, never count a running task as finished).
    pub(crate) fn counts(&self) -> Counts {
        let (started, current, total) = {
            let members = lock(&self.members);
            (members.started, members.done_current, members.done_total)
        };
        let active = self.active();
        let mut counts = Counts {
            started,
            finished: started.saturating_sub(active.len()),
            current,
            total,
        };
        for cell in active {
            if let Some(progress) = cell.core.mailbox().latest_progress() {
                counts.current = counts.current.saturating_add(progress.current);
                counts.total = counts.total.saturating_add(progress.total);
            }
        }
        counts
    }

    /// For a future waiting for every task of the scope (and its descendants) to be decided:
    /// whether they are; if not, `waker` is woken once they are.
    pub(crate) fn poll_idle(&self, waker: &Waker) -> bool {
        let mut members = lock(&self.members);
        if members.finished >= members.started {
            return true;
        }
        if !members.idle_wakers.iter().any(|w| w.will_wake(waker)) {
            members.idle_wakers.push(waker.clone());
        }
        false
    }

    /// Waits until every task started in this scope (and its descendants) was decided, or
    /// `deadline` passes (`None`: no deadline); whether they all were. Tasks of the scope
    /// that this thread is running (a body waiting for its own scope) are not waited for.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let own = context::count_running_here(|cell| {
            cell.core
                .feature::<ScopeNode>()
                .is_some_and(|own| own.is_within(self))
        });
        let mut members = lock(&self.members);
        while members.finished + own < members.started {
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                return false;
            }
            members.waiting += 1;
            members = match deadline {
                None => wait(&self.settled, members),
                Some(deadline) => wait_timeout(&self.settled, members, deadline - now).0,
            };
            members.waiting -= 1;
        }
        true
    }
}

/// The scope as a feature of each of its tasks (see `task::feature`).
impl Feature for ScopeNode {
    /// A task admitted to a closed scope is refused: it never runs, and runs no callback.
    fn admit(&self, task: &CellRef) -> bool {
        self.list(task);
        !self.is_closed()
    }

    /// Whether a cancel round of this scope or an ancestor began after a task stamped `stamp`
    /// was queued: then the task never starts (see `host::rounds`).
    fn stops(&self, stamp: Stamp) -> bool {
        self.cancelled.stops(stamp) || self.parent.as_ref().is_some_and(|p| p.stops(stamp))
    }

    /// A shown scope's line counts the started task's progress from now on.
    fn started(&self, task: &CellRef) {
        self.each_shown(|scope, members| {
            members.running.push(Arc::downgrade(task));
            scope.touch();
        });
    }

    /// The shown scopes' lines are due. (An atomic load when they already are.)
    fn progressed(&self, _task: &TaskCore, _progress: &Progress) {
        let mut node = Some(self);
        while let Some(scope) = node {
            scope.touch();
            node = scope.parent.as_deref();
        }
    }

    fn decided(&self, task: &CellRef, terminal: &Terminal) {
        self.count_decided(task, terminal.state());
    }

    /// No callback of a task of a closed scope starts.
    fn silences(&self, _task: &TaskCore) -> bool {
        self.is_closed()
    }
}

/// A scope a running body made: stopping its task shuts it.
impl BodyScope for ScopeNode {
    fn shut(&self) -> usize {
        ScopeNode::shut(self)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
