use task_macros::run_in_background;

#[derive(Clone)]
struct Service {
    name: String,
}

impl Service {
    #[run_in_background(manager = &self.name)]
    fn run(&self) -> u32 {
        1
    }
}

fn main() {}
