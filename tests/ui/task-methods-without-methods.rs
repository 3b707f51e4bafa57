use task_runtime::{task_methods, TaskManager};

#[derive(Clone)]
struct Service {
    tasks: TaskManager,
}

#[task_methods(manager = &self.tasks)]
impl Service {
    fn plain(&self) {}
}

fn main() {}
