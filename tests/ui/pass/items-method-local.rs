// A GTK-style view: `Rc` state, `local = true`, items into a `self.method`, and the
// publisher written before the context.
use std::cell::RefCell;
use std::rc::Rc;

use task_macros::{run_in_background, task_methods};
use task_runtime::{AppError, Publisher, Task, TaskContext, TaskManager};

#[derive(Clone)]
struct View {
    tasks: TaskManager,
    rows: Rc<RefCell<Vec<String>>>,
}

#[task_methods(manager = &self.tasks, local = true)]
impl View {
    #[run_in_background(on_items = self.add_rows)]
    fn list(&self, dir: String, rows: &Publisher<String>, ctx: &TaskContext) -> Result<(), AppError> {
        for n in 0..3 {
            ctx.check_cancelled()?;
            rows.publish(format!("{dir}/{n}"));
        }
        Ok(())
    }

    fn add_rows(&self, batch: Vec<String>) {
        self.rows.borrow_mut().extend(batch);
    }
}

fn main() {
    let ui = task_runtime::EventLoop::new();
    let view = View {
        tasks: TaskManager::builder().dispatcher(ui.dispatcher()).build().unwrap(),
        rows: Rc::default(),
    };
    let task: Task<(), String> = view.list("/tmp".into());
    assert!(ui.run_until_idle(&view.tasks, std::time::Duration::from_secs(10)));
    assert!(task.join().is_ok());
    assert_eq!(view.rows.borrow().len(), 3);
}
