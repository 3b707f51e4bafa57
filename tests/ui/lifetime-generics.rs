use task_macros::run_in_background;

#[run_in_background]
fn first<'a>(words: Vec<String>) -> usize {
    words.len()
}

fn main() {}
