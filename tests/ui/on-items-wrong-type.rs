use task_macros::run_in_background;
use task_runtime::Publisher;

fn show(batch: Vec<String>) {
    println!("{batch:?}");
}

#[run_in_background(on_items = show)]
fn scan(limit: u32, found: &Publisher<u32>) {
    found.publish(limit);
}

fn main() {}
