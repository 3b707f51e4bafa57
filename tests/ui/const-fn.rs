use task_macros::run_in_background;

#[run_in_background]
const fn answer() -> u32 {
    42
}

fn main() {}
