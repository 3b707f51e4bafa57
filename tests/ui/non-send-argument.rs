use std::rc::Rc;
use task_macros::run_in_background;

#[run_in_background]
fn total(numbers: Rc<Vec<u64>>) -> u64 {
    numbers.iter().sum()
}

fn main() {}
