//! Callbacks of every shape the manual allows compile, with closure parameters left
//! unannotated (their types come from the task) and with patterns.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use task_macros::run_in_background;
use task_runtime::{AppError, Progress, TaskContext};

static SEEN: AtomicUsize = AtomicUsize::new(0);

fn note_error(error: AppError) {
    eprintln!("{error}");
}

struct Words(Vec<String>);

#[run_in_background(
    on_complete = |words| SEEN.store(words.len(), Ordering::SeqCst),
    on_error = note_error,
    on_progress = |Progress { current, .. }| SEEN.store(current as usize, Ordering::SeqCst),
    on_started = || SEEN.store(0, Ordering::SeqCst),
    on_cancelled = move || SEEN.store(usize::MAX, Ordering::SeqCst),
)]
fn split(text: String, ctx: &TaskContext) -> Result<Vec<String>, AppError> {
    ctx.report_progress(1, 1, "split");
    Ok(text.split(' ').map(str::to_owned).collect())
}

#[run_in_background(on_complete = |Words(words)| SEEN.store(words.len(), Ordering::SeqCst))]
fn wrap(text: String) -> Words {
    Words(vec![text])
}

trait Show {
    fn show(&self, count: usize);
}

#[derive(Clone)]
struct View {
    shown: Arc<AtomicUsize>,
}

impl Show for View {
    fn show(&self, count: usize) {
        self.shown.store(count, Ordering::SeqCst);
    }
}

impl View {
    // A method of a trait; a closure that names the value's type itself.
    #[run_in_background(on_complete = self.show, on_progress = |_: Progress| ())]
    fn count(&self, words: Vec<String>, ctx: &TaskContext) -> usize {
        ctx.report_progress(1, 1, "counted");
        words.len()
    }

    #[run_in_background(on_complete = self.remember)]
    fn count_shared(self: Arc<Self>, words: Vec<String>) -> usize {
        words.len()
    }

    fn remember(&self, count: usize) {
        self.shown.store(count, Ordering::SeqCst);
    }
}

fn main() {
    let _ = split;
    let _ = wrap;
    let _ = View::count;
    let _ = View::count_shared;
}
