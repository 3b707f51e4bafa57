use std::rc::Rc;
use task_macros::run_in_background;

struct Model;

impl Model {
    #[run_in_background]
    fn refresh(self: Rc<Self>) -> u32 {
        1
    }
}

fn main() {}
