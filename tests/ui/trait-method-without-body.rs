use task_macros::run_in_background;

trait Loader {
    #[run_in_background]
    fn load(&self, path: String) -> usize;
}

fn main() {}
