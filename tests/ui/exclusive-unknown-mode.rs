use task_macros::run_in_background;

#[run_in_background(exclusive = "latest_wins")]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
