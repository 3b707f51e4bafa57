use task_macros::async_method;

#[async_method(task_name = "Fetch", on_complete = |n: usize| println!("{n}"))]
fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
