//! [`BodyScopes`]: the scopes that running bodies made for their subtasks (`ctx.scope()`), by
//! their task: asking the task to stop closes them, as dropping them would. One table per
//! manager (in its host), which loom can model; a task that never makes one pays one atomic
//! load when it is stopped, and no byte.

use std::collections::BTreeMap;
use std::sync::Weak;

use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::{lock, Mutex};
use crate::vocabulary::TaskId;

/// A scope a body made: what stopping its task does to it.
pub(crate) trait BodyScope: Send + Sync {
    /// Closes the scope and cancels its tasks, as dropping it does.
    fn shut(&self) -> usize;
}

#[derive(Default)]
pub(crate) struct BodyScopes {
    /// Whether the table may hold anything: read without its lock.
    used: AtomicBool,
    table: Mutex<BTreeMap<TaskId, Vec<Weak<dyn BodyScope>>>>,
}

impl BodyScopes {
    /// The body of task `id` made `scope`. The caller then fences and checks whether the task
    /// was asked to stop meanwhile (see [`stop`](Self::stop)).
    pub(crate) fn add(&self, id: TaskId, scope: Weak<dyn BodyScope>) {
        let mut table = lock(&self.table);
        self.used.store(true, Ordering::SeqCst);
        table.entry(id).or_default().push(scope);
    }

    /// The scope at `scope` of task `id`'s body was dropped: it is no longer listed (nor are
    /// those gone).
    pub(crate) fn remove(&self, id: TaskId, scope: *const ()) {
        let mut table = lock(&self.table);
        if let Some(scopes) = table.get_mut(&id) {
            scopes.retain(|s| !std::ptr::addr_eq(s.as_ptr(), scope) && s.strong_count() > 0);
            if scopes.is_empty() {
                table.remove(&id);
            }
        }
    }

    /// Task `id` was just asked to stop: the scopes its body made close. Pairs with the fence a
    /// body makes after [`add`](Self::add): either this finds the scope listed, or the body sees
    /// its task stopped and closes the scope itself.
    pub(crate) fn stop(&self, id: TaskId) {
        fence(Ordering::SeqCst);
        if !self.used.load(Ordering::SeqCst) {
            return;
        }
        let scopes = lock(&self.table).remove(&id).unwrap_or_default();
        for scope in scopes.iter().filter_map(Weak::upgrade) {
            scope.shut();
        }
    }

    /// How many scopes the body of task `id` has listed.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn listed(&self, id: TaskId) -> usize {
        lock(&self.table).get(&id).map_or(0, Vec::len)
    }
}

impl std::fmt::Debug for BodyScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyScopes")
            .field("tasks", &lock(&self.table).len())
            .finish()
    }
}
