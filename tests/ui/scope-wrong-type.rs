use task_runtime::{run_in_background, TaskManager};

#[derive(Clone)]
struct Panel {
    tasks: TaskManager,
}

impl Panel {
    #[run_in_background(scope = &self.tasks)]
    fn count(&self, words: Vec<String>) -> usize {
        words.len()
    }
}

fn main() {}
