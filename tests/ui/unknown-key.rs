use task_macros::run_in_background;

#[run_in_background(on_done = |v: u32| println!("{v}"))]
fn compute() -> u32 {
    42
}

fn main() {}
