//! `scope = ..`: a `&ScopeHandle` or a `&TaskScope`, on a method (whose receiver may move
//! into the task) and as an `impl` block's default.
use std::sync::Arc;
use task_runtime::{run_in_background, task_methods, ScopeHandle, TaskManager, TaskScope};

#[derive(Clone)]
struct Panel {
    tasks: TaskManager,
    scope: ScopeHandle,
}

#[task_methods(manager = &self.tasks, scope = &self.scope)]
impl Panel {
    #[run_in_background]
    fn count(&self, words: Vec<String>) -> usize {
        words.len()
    }

    #[run_in_background]
    fn consume(self, words: Vec<String>) -> usize {
        words.len() + self.scope.active_count()
    }
}

struct Window {
    scope: TaskScope,
}

impl Window {
    // A `TaskScope` is not `Clone`: the window is shared through an `Arc`.
    #[run_in_background(scope = &self.scope)]
    fn load(self: &Arc<Self>, path: String) -> usize {
        path.len()
    }
}

fn main() {
    let tasks = TaskManager::new(1);
    let scope = tasks.scope();
    let panel = Panel { tasks: tasks.clone(), scope: scope.handle() };
    assert_eq!(panel.count(vec!["a".into()]).join().unwrap(), 1);
    assert_eq!(scope.progress().started, 1, "started in the scope");
    let window = Arc::new(Window { scope: tasks.scope() });
    assert_eq!(window.load("ab".into()).join().unwrap(), 2);
    drop(scope);
    // The panel's scope is gone: its tasks are cancelled at once.
    assert!(panel.clone().consume(vec![]).join().unwrap_err().is_cancelled());
}
