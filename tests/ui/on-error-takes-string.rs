use task_macros::run_in_background;

fn report(message: String) {
    eprintln!("{message}");
}

#[run_in_background(on_error = report)]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

fn main() {}
