use task_macros::run_in_background;

#[derive(Clone)]
struct Loader;

#[run_in_background]
impl Loader {
    fn load(&self) {}
}

fn main() {}
