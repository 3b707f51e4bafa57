use std::sync::mpsc::Sender;
use task_macros::run_in_background;

fn forward(count: usize) -> Result<(), std::sync::mpsc::SendError<usize>> {
    let sender: Option<Sender<usize>> = None;
    sender.unwrap().send(count)
}

#[run_in_background(on_complete = forward)]
fn count(words: Vec<String>) -> usize {
    words.len()
}

fn main() {}
