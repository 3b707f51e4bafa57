//! `&Publisher<P>` parameters and the `on_items` key: the parameter leaves the public
//! signature as `&TaskContext` does, the handle is a `Task<T, P>`, and `on_items` takes the
//! batches in every callback form.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use common::PATIENCE;
use task_macros::run_in_background;
use task_runtime::{AppError, EventLoop, Publisher, Task, TaskContext, TaskManager};

/// Lists the numbers below `limit` divisible by `by`, as it finds them.
#[run_in_background]
fn multiples(limit: u32, by: u32, found: &Publisher<u32>) -> u32 {
    let mut count = 0;
    for n in (1..limit).filter(|n| n % by == 0) {
        found.publish(n);
        count += 1;
    }
    count
}

#[test]
fn a_free_function_with_a_publisher_returns_a_task_with_items() {
    let mut task: Task<u32, u32> = multiples(20, 5);
    let count = task.join_and_take(|task| task.take_items());
    assert_eq!(count, (3, vec![5, 10, 15]));
}

/// `join` consumes the handle: take the items once the outcome is in.
trait JoinAndTake<T, P> {
    fn join_and_take(&mut self, take: impl Fn(&Self) -> Vec<P>) -> (T, Vec<P>);
}

impl<T: Send + 'static, P: Send + 'static> JoinAndTake<T, P> for Task<T, P> {
    fn join_and_take(&mut self, take: impl Fn(&Self) -> Vec<P>) -> (T, Vec<P>) {
        let mut items = Vec::new();
        loop {
            items.extend(take(self));
            if let Some(outcome) = self.try_take() {
                items.extend(take(self));
                return (outcome.unwrap(), items);
            }
            assert!(self.wait_for(PATIENCE));
        }
    }
}

#[derive(Clone)]
struct Search {
    tasks: TaskManager,
    shown: Arc<Mutex<Vec<String>>>,
    ended: Arc<Mutex<Option<usize>>>,
}

impl Search {
    #[run_in_background(manager = &self.tasks, on_items = self.show, on_complete = self.done)]
    fn run(
        &self,
        words: Vec<String>,
        prefix: String,
        results: &Publisher<String>,
        ctx: &TaskContext,
    ) -> Result<usize, AppError> {
        let mut count = 0;
        for word in words.into_iter().filter(|w| w.starts_with(&prefix)) {
            ctx.check_cancelled()?;
            results.publish(word);
            count += 1;
        }
        Ok(count)
    }

    fn show(&self, batch: Vec<String>) {
        self.shown.lock().unwrap().extend(batch);
    }

    fn done(&self, count: usize) {
        *self.ended.lock().unwrap() = Some(count);
    }
}

#[test]
fn a_method_delivers_its_items_to_a_self_method_before_on_complete() {
    let ui = EventLoop::new();
    let search = Search {
        tasks: common::ui_manager(&ui, 1),
        shown: Arc::default(),
        ended: Arc::default(),
    };
    let words = ["rust", "ruby", "go", "rustacean"]
        .map(String::from)
        .to_vec();
    let task: Task<(), String> = search.run(words, "rus".into());
    assert!(ui.run_until_idle(&search.tasks, PATIENCE));
    assert!(task.join().is_ok());
    assert_eq!(*search.shown.lock().unwrap(), ["rust", "rustacean"]);
    assert_eq!(*search.ended.lock().unwrap(), Some(2));
}

#[derive(Clone)]
struct View {
    tasks: TaskManager,
    lines: Rc<RefCell<Vec<String>>>,
}

impl View {
    #[run_in_background(manager = &self.tasks, local = true, on_items = self.append)]
    fn tail(&self, lines: usize, out: &Publisher<String>) {
        out.publish_all((1..=lines).map(|n| format!("line {n}")));
    }

    fn append(&self, batch: Vec<String>) {
        self.lines.borrow_mut().extend(batch);
    }
}

#[test]
fn a_local_on_items_updates_rc_state() {
    let ui = EventLoop::new();
    let view = View {
        tasks: common::ui_manager(&ui, 1),
        lines: Rc::default(),
    };
    let task = view.tail(3);
    assert!(ui.run_until_idle(&view.tasks, PATIENCE));
    assert!(task.join().is_ok());
    assert_eq!(*view.lines.borrow(), ["line 1", "line 2", "line 3"]);
}

fn total() -> &'static Mutex<usize> {
    static TOTAL: Mutex<usize> = Mutex::new(0);
    &TOTAL
}

#[run_in_background(on_items = |batch| *total().lock().unwrap() += batch.iter().sum::<usize>())]
fn sizes(found: &Publisher<usize>) {
    found.publish_all([1, 2, 3]);
}

#[test]
fn a_closure_on_items_gets_the_batch_type_inferred() {
    assert!(sizes().join().is_ok());
    common::eventually("the batch", || *total().lock().unwrap() == 6);
}
