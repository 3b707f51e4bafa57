//! `#[task_methods]` gives its defaults to every annotated method, also in a trait impl; a
//! method's own key wins; methods without an attribute are left alone.

use task_runtime::{async_method, run_in_background, task_methods, Task, TaskManager};

#[derive(Clone)]
struct Library {
    tasks: TaskManager,
}

#[task_methods(manager = &self.tasks, crate = "task_runtime")]
impl Library {
    #[run_in_background]
    fn count(&self, text: String) -> usize {
        text.split_whitespace().count()
    }

    #[async_method(task_name = "Shout")]
    fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }

    #[run_in_background(manager = task_runtime::get_task_manager())]
    fn elsewhere(&self) -> bool {
        true
    }

    fn plain(&self) -> usize {
        self.tasks.max_threads()
    }
}

trait Indexer {
    fn index(&self, words: Vec<String>) -> Task<usize>;
}

#[task_methods(manager = &self.tasks)]
impl Indexer for Library {
    #[run_in_background]
    fn index(&self, words: Vec<String>) -> usize {
        words.len()
    }
}

fn main() {
    let library = Library {
        tasks: TaskManager::new(1),
    };
    assert_eq!(library.count("one two".to_owned()).join().unwrap(), 2);
    assert_eq!(
        futures::executor::block_on(library.shout("hi".to_owned())).unwrap(),
        "HI"
    );
    assert!(library.elsewhere().join().unwrap());
    assert_eq!(library.plain(), 1);
    assert_eq!(library.index(vec!["a".into()]).join().unwrap(), 1);
    assert!(library.tasks.wait_for_all(std::time::Duration::from_secs(10)));
}
