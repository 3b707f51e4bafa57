use task_macros::run_in_background;

#[derive(Clone, Default)]
struct Counter {
    total: usize,
}

impl Counter {
    #[run_in_background(on_complete = self.add)]
    fn count(&self, words: Vec<String>) -> usize {
        words.len()
    }

    fn add(&mut self, count: usize) {
        self.total += count;
    }
}

fn main() {}
