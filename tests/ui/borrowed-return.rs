use task_macros::run_in_background;

#[derive(Clone)]
struct Doc {
    title: String,
}

impl Doc {
    #[run_in_background]
    fn title(&self) -> &str {
        &self.title
    }
}

fn main() {}
