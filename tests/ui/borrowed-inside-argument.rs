use task_macros::run_in_background;

#[run_in_background]
fn total(lines: Vec<&str>) -> usize {
    lines.len()
}

fn main() {}
