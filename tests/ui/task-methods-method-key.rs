use task_runtime::{run_in_background, task_methods, TaskManager};

#[derive(Clone)]
struct Service {
    tasks: TaskManager,
}

#[task_methods(manager = &self.tasks, priority = 3)]
impl Service {
    #[run_in_background]
    fn work(&self) {}
}

fn main() {}
