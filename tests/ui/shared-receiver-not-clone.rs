use task_macros::run_in_background;

struct Database {
    rows: Vec<String>,
}

impl Database {
    #[run_in_background]
    fn count(&self) -> usize {
        self.rows.len()
    }
}

fn main() {}
