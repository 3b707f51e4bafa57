use task_macros::run_in_background;

#[derive(Clone)]
struct Viewer;

impl Viewer {
    #[run_in_background(on_complete = self.show())]
    fn load(&self) -> u32 {
        1
    }

    fn show(&self, _value: u32) {}
}

fn main() {}
