use std::rc::Rc;
use task_macros::run_in_background;

#[derive(Debug)]
struct LocalError(Rc<String>);

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for LocalError {}

#[run_in_background]
fn parse(text: String) -> Result<u32, LocalError> {
    text.parse().map_err(|_| LocalError(Rc::new(text)))
}

fn main() {}
