use task_macros::run_in_background;
use task_runtime::Publisher;

#[run_in_background]
fn scan(found: &mut Publisher<u32>) {
    found.publish(1);
}

fn main() {}
