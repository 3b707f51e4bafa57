use task_runtime::task_methods;

#[task_methods(manager = &TASKS)]
fn run() {}

fn main() {}
