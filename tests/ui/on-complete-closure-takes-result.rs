use task_macros::run_in_background;
use task_runtime::AppError;

#[run_in_background(on_complete = |result: Result<u32, AppError>| println!("{result:?}"))]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

fn main() {}
