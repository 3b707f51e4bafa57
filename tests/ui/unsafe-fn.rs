use task_macros::run_in_background;

#[run_in_background]
unsafe fn poke(address: usize) -> usize {
    address
}

fn main() {}
