//! `-> impl Trait + Send + 'static` on a free function.

use task_macros::run_in_background;

#[run_in_background]
fn evens(limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
    (0..limit).filter(|n| n % 2 == 0)
}

fn main() {
    let found: Vec<u32> = evens(7).join().unwrap().collect();
    assert_eq!(found, [0, 2, 4, 6]);
}
