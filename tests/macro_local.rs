//! `local = true` on the attributes: where the task's callbacks cannot reach the calling
//! thread, the call panics with advice in the attribute's own terms (`manager = ..`), not in
//! those of `local()` and `dispatcher(..)`, which the macro user never wrote.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::thread;

use task_runtime::{run_in_background, EventLoop, TaskManager};

/// What the attribute must say: the key, and what its value must be.
const ADVICE: &str = "manager = <a manager whose dispatcher is this thread's EventLoop>";

#[derive(Clone)]
struct View {
    tasks: TaskManager,
    shown: Rc<RefCell<Vec<usize>>>,
}

impl View {
    fn new(tasks: TaskManager) -> Self {
        View {
            tasks,
            shown: Rc::default(),
        }
    }

    // No `manager = ..`: the global manager, whose dispatcher is the worker thread.
    #[run_in_background(local = true, on_complete = self.show)]
    fn count_on_global(&self, words: Vec<String>) -> usize {
        words.len()
    }

    #[run_in_background(local = true, manager = &self.tasks, on_complete = self.show)]
    fn count(&self, words: Vec<String>) -> usize {
        words.len()
    }

    fn show(&self, count: usize) {
        self.shown.borrow_mut().push(count);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => (*message).to_owned(),
        (_, Some(message)) => message.clone(),
        _ => String::new(),
    }
}

#[test]
#[should_panic(expected = "manager = <a manager whose dispatcher is this thread's EventLoop>")]
fn local_without_manager_names_the_manager_key() {
    let view = View::new(TaskManager::new(1));
    let _task = view.count_on_global(vec!["a".into()]);
}

#[test]
fn local_with_a_worker_thread_manager_names_the_manager_key() {
    let view = View::new(TaskManager::new(1));
    let panic = catch_unwind(AssertUnwindSafe(|| view.count(vec!["a".into()])))
        .expect_err("the worker-thread dispatcher cannot deliver here");
    let message = panic_message(&*panic);
    assert!(message.contains(ADVICE), "{message}");
    assert!(message.contains("local = true"), "{message}");
    assert!(!message.contains("local()"), "{message}");
    assert_eq!(view.tasks.active_count(), 0, "nothing was started");
}

#[test]
fn local_with_an_event_loop_of_another_thread_names_the_manager_key() {
    let elsewhere = thread::spawn(EventLoop::new).join().unwrap();
    let tasks = TaskManager::builder()
        .max_threads(1)
        .dispatcher(elsewhere.dispatcher())
        .build()
        .unwrap();
    let view = View::new(tasks);
    let panic = catch_unwind(AssertUnwindSafe(|| view.count(vec!["a".into()])))
        .expect_err("an event loop of another thread cannot deliver here");
    let message = panic_message(&*panic);
    assert!(message.contains(ADVICE), "{message}");
    assert!(message.contains("created on another thread"), "{message}");
    assert!(!message.contains("local()"), "{message}");
}
