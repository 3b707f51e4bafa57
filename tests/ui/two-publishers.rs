use task_macros::run_in_background;
use task_runtime::Publisher;

#[run_in_background]
fn scan(files: &Publisher<String>, sizes: &Publisher<u64>) {
    files.publish("a".into());
    sizes.publish(1);
}

fn main() {}
