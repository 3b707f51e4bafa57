// After a mistake, the function is still emitted with the signature the macro generates
// (`-> Task<T>`, without the `&TaskContext`): the only error is the macro's, not a cascade at
// every call site written against that signature, nor in a trait impl that declares it.
use task_macros::run_in_background;
use task_runtime::{Task, TaskContext};

#[run_in_background(priority = "high")]
fn word_count(text: String, ctx: &TaskContext) -> usize {
    ctx.set_progress(1, 1);
    text.split_whitespace().count()
}

trait Loader {
    fn load(&self, path: String) -> Task<()>;
}

#[derive(Clone)]
struct Disk;

impl Disk {
    fn show(&self, _: usize) {}
}

impl Loader for Disk {
    #[run_in_background(on_compelte = self.show, on_complete = self.show)]
    fn load(&self, path: String) -> usize {
        path.len()
    }
}

fn main() {
    let task: Task<usize> = word_count("still usable".to_owned());
    let _n: usize = task.join().unwrap();
    let _: Task<()> = Disk.load("x".to_owned());
}
