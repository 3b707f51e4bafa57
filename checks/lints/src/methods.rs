//! Methods: every receiver, bodies that use `self` and bodies that do not, a trait impl and a
//! generic impl.

use std::sync::Arc;

use task_runtime::{run_in_background, AppError, Task, TaskContext};

/// A value the methods compute from.
#[derive(Clone)]
pub struct Counter {
    base: u32,
}

impl Counter {
    /// A counter from `base`.
    pub fn new(base: u32) -> Self {
        Counter { base }
    }

    /// `&self`, one expression.
    #[run_in_background]
    pub fn plus(&self, n: u32) -> u32 {
        self.base + n
    }

    /// `&self`, a body that does not use it.
    #[run_in_background]
    pub fn echo(&self, n: u32) -> u32 {
        n
    }

    /// `&self`, statements.
    #[run_in_background]
    pub fn times(&self, n: u32) -> u32 {
        let base = self.base;
        base * n
    }

    /// `&self`, unit.
    #[run_in_background]
    pub fn touch(&self) {}

    /// `&self`, unit, one expression.
    #[run_in_background]
    pub fn show(&self) {
        println!("{}", self.base)
    }

    /// `&self`, a fallible value and the context.
    #[run_in_background]
    pub fn checked(&self, ctx: &TaskContext) -> Result<u32, AppError> {
        ctx.check_cancelled()?;
        Ok(self.base)
    }

    /// `&self`, a one-expression `Result`.
    #[run_in_background]
    pub fn parse(&self, text: String) -> Result<u32, std::num::ParseIntError> {
        text.parse()
    }

    /// `self`.
    #[run_in_background]
    pub fn minus(self, n: u32) -> u32 {
        self.base - n
    }

    /// `mut self`.
    #[run_in_background]
    pub fn bumped(mut self, n: u32) -> u32 {
        self.base += n;
        self.base
    }

    /// `self: Arc<Self>`.
    #[run_in_background]
    pub fn shared(self: Arc<Self>) -> u32 {
        self.base
    }

    /// `self: &Arc<Self>`.
    #[run_in_background]
    pub fn shared_ref(self: &Arc<Self>) -> u32 {
        self.base + 1
    }

    /// `self: Box<Self>`.
    #[run_in_background]
    pub fn boxed(self: Box<Self>) -> u32 {
        self.base + 2
    }

    /// No receiver.
    #[run_in_background]
    pub fn made(base: u32) -> Self {
        Self { base }
    }

    /// A nested function, whose `self` would be another one.
    #[run_in_background]
    pub fn nested(&self) -> u32 {
        fn twice(n: u32) -> u32 {
            n * 2
        }
        twice(self.base)
    }

    /// An `impl Trait` value from `&self`.
    #[run_in_background]
    pub fn range(&self) -> impl Iterator<Item = u32> + Send + 'static {
        0..self.base
    }
}

/// A trait whose method the attribute implements.
pub trait Measure {
    /// Measures `text` in the background.
    fn measure(&self, text: String) -> Task<usize>;
}

impl Measure for Counter {
    #[run_in_background]
    fn measure(&self, text: String) -> usize {
        text.len() + self.base as usize
    }
}

/// A generic type.
#[derive(Clone)]
pub struct Holder<T>(pub T);

impl<T: Clone + Send + 'static> Holder<T> {
    /// A generic value.
    #[run_in_background]
    pub fn get(&self) -> T {
        self.0.clone()
    }
}
