use task_macros::async_method;

#[async_method(exclusive = "cancel_previous")]
fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
