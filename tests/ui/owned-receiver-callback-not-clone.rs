use task_macros::run_in_background;

struct Job;

impl Job {
    #[run_in_background(on_complete = self.done)]
    fn run(self) -> u32 {
        1
    }

    fn done(&self, _: u32) {}
}

fn main() {}
