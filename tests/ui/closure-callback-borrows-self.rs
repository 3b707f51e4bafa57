// A closure callback that reads `self`: it runs after the method returned, so it cannot
// borrow the receiver. One error, at the closure, saying to use `self.method`.
use task_runtime::run_in_background;

#[derive(Clone)]
struct Report {
    title: String,
}

impl Report {
    #[run_in_background(on_complete = |n: usize| println!("{}: {n}", self.title))]
    fn count(&self, text: String) -> usize {
        text.len()
    }
}

fn main() {}
