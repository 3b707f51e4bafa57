use std::rc::Rc;
use task_macros::run_in_background;

#[run_in_background]
fn total((counts, label): (Rc<Vec<u32>>, String)) -> usize {
    counts.len() + label.len()
}

fn main() {}
