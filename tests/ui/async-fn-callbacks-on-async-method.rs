// `#[async_method]` takes no callbacks, on an `async fn` too.
use task_macros::async_method;

#[async_method(on_complete = |n: usize| println!("{n}"))]
async fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
