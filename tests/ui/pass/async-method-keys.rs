use task_macros::async_method;
use task_runtime::TaskManager;

struct Store {
    tasks: TaskManager,
}

impl Store {
    #[async_method(task_name = "Get", show_progress = false, priority = -1, manager = &self.tasks)]
    fn get(&self, key: String) -> String {
        key
    }
}

impl Clone for Store {
    fn clone(&self) -> Self {
        Store {
            tasks: self.tasks.clone(),
        }
    }
}

fn main() {
    let store = Store {
        tasks: TaskManager::new(1),
    };
    let task = store.get("k".into());
    assert_eq!(task.name(), "Get");
    assert_eq!(futures::executor::block_on(task).unwrap(), "k");
}
