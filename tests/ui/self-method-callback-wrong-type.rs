use task_macros::run_in_background;

#[derive(Clone)]
struct Viewer;

impl Viewer {
    #[run_in_background(on_complete = self.show)]
    fn count(&self, words: Vec<String>) -> usize {
        words.len()
    }

    fn show(&self, text: String) {
        println!("{text}");
    }
}

fn main() {}
