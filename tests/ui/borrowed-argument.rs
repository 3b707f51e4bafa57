use task_macros::run_in_background;

#[run_in_background]
fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {}
