use task_macros::run_in_background;
use task_runtime::Publisher;

#[run_in_background]
fn scan(limit: u32, found: &Publisher<_>) -> u32 {
    found.publish(limit);
    limit
}

fn main() {}
