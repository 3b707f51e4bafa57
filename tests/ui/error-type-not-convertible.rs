use task_macros::run_in_background;

#[derive(Debug)]
struct ParseFailure;

#[run_in_background]
fn parse(text: String) -> Result<u32, ParseFailure> {
    text.parse().map_err(|_| ParseFailure)
}

fn main() {}
