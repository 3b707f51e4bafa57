//! The testing kit's part of the manager (`TaskManagerBuilder::manual`): running queued bodies
//! on the calling thread.

use super::TaskManager;
use crate::task::run;

impl TaskManager {
    /// Runs the next queued body (the highest priority first, then the oldest) on the calling
    /// thread, with its outcome decided and delivered as a worker would; whether there was
    /// one. Tasks cancelled while queued are skipped. For a
    /// [`manual`](super::TaskManagerBuilder::manual) manager; on one with threads it competes
    /// with the workers for the queue.
    pub fn run_next(&self) -> bool {
        self.core().pool.run_next()
    }

    /// Runs queued bodies on the calling thread until none is queued, bodies queued meanwhile
    /// (by the bodies themselves, or by callbacks they deliver inline) included; returns how
    /// many ran. See [`run_next`](Self::run_next).
    ///
    /// "Closing the panel stops its scan", tested without a thread: the panel's tasks belong
    /// to its scope, and the scope goes with the panel.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use task_runtime::{AppError, EventLoop, TaskManager, TaskScope};
    ///
    /// struct Panel {
    ///     tasks: TaskScope,
    ///     lines: Rc<RefCell<Vec<String>>>,
    /// }
    ///
    /// impl Panel {
    ///     fn scan(&self, dir: &str) {
    ///         let lines = self.lines.clone();
    ///         let dir = dir.to_owned();
    ///         self.tasks
    ///             .task(move |_| Ok::<_, AppError>(format!("scanned {dir}")))
    ///             .local()
    ///             .on_complete(move |line| lines.borrow_mut().push(line))
    ///             .start();
    ///     }
    /// }
    ///
    /// let ui = EventLoop::new();
    /// let manager = TaskManager::builder().manual().dispatcher(ui.dispatcher()).build().unwrap();
    /// let lines = Rc::new(RefCell::new(Vec::new()));
    /// let panel = Panel { tasks: manager.scope(), lines: lines.clone() };
    /// panel.scan("/home");
    /// assert_eq!(manager.run_all(), 1);
    /// ui.process_events();
    /// assert_eq!(*lines.borrow(), ["scanned /home"]);
    ///
    /// panel.scan("/usr");
    /// drop(panel); // the window closes before the scan ran
    /// assert_eq!(manager.run_all(), 0, "the scan was cancelled with its scope");
    /// ui.process_events();
    /// assert_eq!(*lines.borrow(), ["scanned /home"]);
    /// ```
    pub fn run_all(&self) -> usize {
        run::deferring_self_wakes(|| std::iter::from_fn(|| self.run_next().then_some(())).count())
    }

    /// Runs the next queued task on the calling thread; loom models play the worker with it.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn run_queued_task(&self) -> bool {
        self.core().pool.run_queued()
    }
}
