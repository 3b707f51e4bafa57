use task_macros::run_in_background;

#[run_in_background(on_items = |batch: Vec<u32>| println!("{batch:?}"))]
fn scan(limit: u32) -> u32 {
    limit
}

fn main() {}
