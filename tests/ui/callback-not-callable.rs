use task_macros::run_in_background;

const LIMIT: usize = 10;

#[run_in_background(on_complete = LIMIT)]
fn count(words: Vec<String>) -> usize {
    words.len()
}

fn main() {}
