use task_macros::run_in_background;

#[run_in_background]
struct Loader {
    path: String,
}

fn main() {}
