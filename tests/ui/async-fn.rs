use task_macros::run_in_background;

#[run_in_background]
async fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
