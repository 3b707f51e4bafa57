use task_macros::run_in_background;

struct Counter {
    count: u64,
}

impl Counter {
    #[run_in_background]
    fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}

fn main() {}
