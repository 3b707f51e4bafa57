//! [`BodyScopes`]: what running bodies hold that ends with their task's stop request, by
//! their task: the scopes they made for their subtasks (`ctx.scope()`), closed as dropping
//! them would, and the futures waiting for the request (`ctx.cancelled()`), woken. One table
//! per manager (in its host), which loom can model; a task that never makes one pays one
//! atomic load when it is stopped, and no byte.

use std::collections::BTreeMap;
use std::sync::Weak;

use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::{lock, Mutex};
use crate::vocabulary::TaskId;

/// What a body holds that ends with its task's stop request: a scope it made, or a future
/// waiting for the request.
pub(crate) trait BodyScope: Send + Sync {
    /// The task was asked to stop: a scope closes and cancels its tasks, as dropping it does
    /// (how many it cancelled); a waiting future is woken.
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A scope that counts how often it was shut.
    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl BodyScope for Counted {
        fn shut(&self) -> usize {
            self.0.fetch_add(1, Ordering::SeqCst);
            0
        }
    }

    fn listed(scopes: &BodyScopes, scope: &Arc<Counted>, id: TaskId) {
        scopes.add(id, Arc::downgrade(scope) as Weak<dyn BodyScope>);
    }

    fn shut(scope: &Counted) -> usize {
        scope.0.load(Ordering::SeqCst)
    }

    #[test]
    fn stopping_a_task_shuts_the_scopes_of_its_body_once_and_no_others() {
        let scopes = BodyScopes::default();
        let (a, b) = (TaskId::next(), TaskId::next());
        let (a1, a2, b1) = (Arc::default(), Arc::default(), Arc::default());
        listed(&scopes, &a1, a);
        listed(&scopes, &a2, a);
        listed(&scopes, &b1, b);
        assert_eq!((scopes.listed(a), scopes.listed(b)), (2, 1));

        scopes.stop(a);
        assert_eq!((shut(&a1), shut(&a2), shut(&b1)), (1, 1, 0));
        assert_eq!(
            scopes.listed(a),
            0,
            "a task is stopped once: its entry goes"
        );
        scopes.stop(a);
        assert_eq!((shut(&a1), shut(&a2)), (1, 1));
    }

    #[test]
    fn a_dropped_scope_is_neither_listed_nor_shut() {
        let scopes = BodyScopes::default();
        let id = TaskId::next();
        let (kept, removed): (Arc<Counted>, Arc<Counted>) = (Arc::default(), Arc::default());
        listed(&scopes, &kept, id);
        listed(&scopes, &removed, id);
        scopes.remove(id, Arc::as_ptr(&removed).cast());
        assert_eq!(scopes.listed(id), 1);
        let gone: Arc<Counted> = Arc::default();
        listed(&scopes, &gone, id);
        drop(gone);
        scopes.stop(id);
        assert_eq!((shut(&kept), shut(&removed)), (1, 0));

        // Removing the last scope of a task leaves no entry behind (nor does a stray remove).
        let other = TaskId::next();
        let only: Arc<Counted> = Arc::default();
        listed(&scopes, &only, other);
        scopes.remove(other, Arc::as_ptr(&only).cast());
        scopes.remove(other, Arc::as_ptr(&only).cast());
        assert_eq!(format!("{scopes:?}"), "BodyScopes { tasks: 0 }");
    }

    #[test]
    fn stopping_a_task_whose_body_made_no_scope_changes_nothing() {
        let scopes = BodyScopes::default();
        scopes.stop(TaskId::next()); // the table never used: one load
        let id = TaskId::next();
        let scope: Arc<Counted> = Arc::default();
        listed(&scopes, &scope, id);
        scopes.stop(TaskId::next());
        assert_eq!((shut(&scope), scopes.listed(id)), (0, 1));
    }
}
