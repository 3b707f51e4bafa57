use task_runtime::{run_in_background, task_methods};

#[derive(Clone)]
struct Service {
    name: String,
}

#[task_methods(manager = &self.name)]
impl Service {
    #[run_in_background]
    fn first(&self) -> u32 {
        1
    }
}

fn main() {}
