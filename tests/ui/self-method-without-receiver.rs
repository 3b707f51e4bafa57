// `self.show` names an associated function without a `self` receiver: one error naming `show`
// and saying it needs `&self`.
use task_runtime::run_in_background;

#[derive(Clone)]
struct Report;

impl Report {
    #[run_in_background(on_complete = self.show)]
    fn count(&self, text: String) -> u32 {
        text.len() as u32
    }

    fn show(value: u32) {
        println!("{value}");
    }
}

fn main() {}
