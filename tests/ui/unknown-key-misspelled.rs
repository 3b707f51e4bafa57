use task_macros::run_in_background;

#[run_in_background(on_compelte = |v: u32| println!("{v}"))]
fn answer() -> u32 {
    42
}

fn main() {}
