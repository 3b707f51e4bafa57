use task_macros::async_method;

#[async_method("Fetch")]
fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
