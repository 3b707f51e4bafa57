use task_macros::run_in_background;

fn show(text: String) {
    println!("{text}");
}

#[run_in_background(on_complete = show)]
fn count(words: Vec<String>) -> usize {
    words.len()
}

fn main() {}
