//! One file of the list: its widgets, and the task that hashes it. The widgets are captured by
//! the task's callbacks directly (`local = true`): no `Arc`, no `Mutex`, no channel.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use gtk::prelude::*;
use task_runtime::{
    run_in_background, task_methods, AppError, Progress, Task, TaskContext, TaskManager,
};

use crate::files;
use crate::window::{ErrorBar, Shared};

#[derive(Clone)]
pub struct FileRow {
    tasks: TaskManager,
    pub path: PathBuf,
    pub widget: gtk::Box,
    bar: gtk::ProgressBar,
    status: gtk::Label,
    pub cancel: gtk::Button,
    task: Rc<RefCell<Option<Task<()>>>>,
    errors: ErrorBar,
    shared: Rc<Shared>,
}

#[task_methods(manager = &self.tasks, local = true)]
impl FileRow {
    pub fn new(tasks: &TaskManager, path: PathBuf, errors: &ErrorBar, shared: &Rc<Shared>) -> Self {
        let widget = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        let name = gtk::Label::new(path.file_name().and_then(|n| n.to_str()));
        name.set_width_chars(16);
        name.set_xalign(0.0);
        let bar = gtk::ProgressBar::new();
        bar.set_hexpand(true);
        bar.set_valign(gtk::Align::Center);
        bar.set_show_text(true);
        bar.set_text(Some("waiting"));
        let status = gtk::Label::new(Some("not started"));
        status.set_width_chars(26);
        status.set_xalign(0.0);
        let cancel = gtk::Button::with_label("Cancel");
        cancel.set_sensitive(false);
        for child in [
            name.upcast_ref::<gtk::Widget>(),
            bar.upcast_ref(),
            status.upcast_ref(),
            cancel.upcast_ref(),
        ] {
            widget.append(child);
        }
        let row = FileRow {
            tasks: tasks.clone(),
            path,
            widget,
            bar,
            status,
            cancel,
            task: Rc::default(),
            errors: errors.clone(),
            shared: Rc::clone(shared),
        };
        let task = Rc::clone(&row.task);
        row.cancel.connect_clicked(move |_| {
            if let Some(task) = task.borrow().as_ref() {
                task.cancel();
            }
        });
        row
    }

    /// Starts (or restarts) the row's hash.
    pub fn start(&self, pace: Duration) {
        self.bar.set_fraction(0.0);
        self.bar.set_text(Some("queued"));
        self.status.set_text("queued");
        self.cancel.set_sensitive(true);
        let task = self.hash(self.path.clone(), pace);
        self.shared.started.borrow_mut().push(task.id());
        *self.task.borrow_mut() = Some(task);
    }

    /// The hashing runs on a worker; the body does not use `self`, so `FileRow` (which holds
    /// GTK widgets) need not be `Send`.
    #[run_in_background(
        task_name = "hash",
        on_started = self.started,
        on_progress = self.progressed,
        on_complete = self.hashed,
        on_error = self.failed,
        on_cancelled = self.cancelled
    )]
    fn hash(&self, path: PathBuf, pace: Duration, ctx: &TaskContext) -> Result<u64, AppError> {
        files::hash(&path, pace, ctx)
    }

    /// The fraction of the bar, for the script (a screenshot wants bars mid-way).
    pub fn fraction(&self) -> f64 {
        self.bar.fraction()
    }

    fn started(&self) {
        self.shared.threads.borrow_mut().here();
        self.bar.set_text(Some("0 %"));
        self.status.set_text("hashing");
    }

    fn progressed(&self, progress: Progress) {
        self.shared.threads.borrow_mut().here();
        let fraction = progress.fraction().unwrap_or(0.0);
        self.bar.set_fraction(fraction);
        self.bar
            .set_text(Some(&format!("{:.0} %", fraction * 100.0)));
    }

    fn hashed(&self, hash: u64) {
        self.shared.threads.borrow_mut().here();
        self.shared.rows_ended.set(self.shared.rows_ended.get() + 1);
        self.bar.set_fraction(1.0);
        self.bar.set_text(Some("done"));
        self.status.set_text(&format!("fnv1a {hash:016x}"));
        self.cancel.set_sensitive(false);
    }

    fn failed(&self, error: AppError) {
        self.shared.threads.borrow_mut().here();
        self.shared.rows_ended.set(self.shared.rows_ended.get() + 1);
        self.bar.set_text(Some("failed"));
        self.status.set_text(error.code());
        self.cancel.set_sensitive(false);
        self.errors.show(&error);
    }

    fn cancelled(&self) {
        self.shared.threads.borrow_mut().here();
        self.shared.rows_ended.set(self.shared.rows_ended.get() + 1);
        self.bar.set_text(Some("cancelled"));
        self.status.set_text("cancelled");
        self.cancel.set_sensitive(false);
    }
}
