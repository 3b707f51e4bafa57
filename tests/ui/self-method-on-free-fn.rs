use task_macros::run_in_background;

#[run_in_background(on_complete = self.show)]
fn load(path: String) -> usize {
    path.len()
}

fn main() {}
