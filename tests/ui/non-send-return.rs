use std::rc::Rc;
use task_macros::run_in_background;

#[run_in_background]
fn build(size: usize) -> Rc<Vec<u8>> {
    Rc::new(vec![0; size])
}

fn main() {}
