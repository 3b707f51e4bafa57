//! `async fn` under the attributes: each return form and body shape, context and items across
//! `.await`, methods by every receiver, and `local = true`.

use std::sync::Arc;
use std::time::Duration;

use task_runtime::{async_method, run_in_background, AppError, Publisher, TaskContext};

/// One expression, a plain value.
#[run_in_background]
pub async fn length(text: String) -> usize {
    text.len()
}

/// No return type at all.
#[run_in_background]
pub async fn nothing(text: String) {
    drop(text);
}

/// An early `return` and `?` across awaits, with the context.
#[run_in_background]
pub async fn checked(text: String, ctx: &TaskContext) -> Result<u32, AppError> {
    ctx.yield_now().await;
    if text.is_empty() {
        return Ok(0);
    }
    ctx.check_cancelled()?;
    ctx.sleep(Duration::from_millis(1)).await;
    Ok(text.parse::<u32>()?)
}

/// Items published between awaits.
#[run_in_background]
pub async fn listed(count: u32, items: &Publisher<u32>, ctx: &TaskContext) -> u32 {
    for n in 0..count {
        items.publish_async(n).await;
        ctx.yield_now().await;
    }
    count
}

/// An `#[async_method]` that is an `async fn`.
#[async_method(task_name = "Sum")]
pub async fn sum(numbers: Vec<u64>) -> u64 {
    numbers.iter().sum()
}

/// Methods by every receiver, and callbacks kept on the calling thread.
#[derive(Clone, Default)]
pub struct Service {
    counted: Arc<std::sync::atomic::AtomicUsize>,
}

impl Service {
    /// `&self`, with callbacks.
    #[run_in_background(on_complete = self.show, on_error = self.report)]
    pub async fn load(&self, name: String, ctx: &TaskContext) -> Result<usize, AppError> {
        ctx.yield_now().await;
        Ok(name.len() + self.counted.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// `self` by value.
    #[run_in_background]
    pub async fn into_len(self, name: String) -> usize {
        drop(self);
        name.len()
    }

    /// `Arc<Self>`.
    #[run_in_background]
    pub async fn shared(self: Arc<Self>, ctx: &TaskContext) -> usize {
        ctx.yield_now().await;
        self.counted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `local = true`: the callbacks stay on the calling thread.
    #[run_in_background(local = true, on_complete = self.show)]
    pub async fn local(&self, n: usize) -> usize {
        n
    }

    fn show(&self, n: usize) {
        self.counted
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    fn report(&self, error: AppError) {
        drop(error);
    }
}
