//! The attributes in an edition 2024 crate. There, a return-position `impl Trait` captures
//! every lifetime in scope (`&self`'s included) unless it says `use<..>`, and `if let`
//! temporaries drop earlier: the generated code must compile under those rules. The workspace's
//! other crates are edition 2021, and trybuild compiles its cases with the workspace's edition,
//! hence this crate.

use task_runtime::{TaskContext, run_in_background};

/// `-> impl Iterator + Send + 'static` on a free function.
#[run_in_background]
pub fn evens(limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
    (0..limit).filter(|n| n % 2 == 0)
}

/// A viewer whose methods return iterators.
#[derive(Clone, Default)]
pub struct Numbers {
    offset: u32,
}

impl Numbers {
    /// On a `&self` method: the opaque type captures `&self`'s lifetime in this edition.
    #[run_in_background]
    pub fn shifted(
        &self,
        limit: u32,
        ctx: &TaskContext,
    ) -> impl Iterator<Item = u32> + Send + 'static {
        ctx.set_progress(1, 1);
        let offset = self.offset;
        (0..limit).map(move |n| n + offset)
    }

    /// With explicit precise capturing.
    #[run_in_background]
    pub fn odds(&self, limit: u32) -> impl Iterator<Item = u32> + Send + use<> {
        (0..limit).filter(|n| n % 2 == 1)
    }

    /// A fallible method whose value is opaque.
    #[run_in_background(on_complete = self.show)]
    pub fn parsed(
        &self,
        text: String,
    ) -> Result<impl Iterator<Item = u32> + Send + 'static, std::num::ParseIntError> {
        let limit: u32 = text.parse()?;
        Ok(0..limit)
    }

    fn show(&self, numbers: impl Iterator<Item = u32>) {
        let _ = numbers.count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_values_arrive() {
        assert_eq!(evens(7).join().unwrap().collect::<Vec<_>>(), [0, 2, 4, 6]);
        let numbers = Numbers { offset: 10 };
        assert_eq!(
            numbers.shifted(2).join().unwrap().collect::<Vec<_>>(),
            [10, 11]
        );
        assert_eq!(numbers.odds(4).join().unwrap().collect::<Vec<_>>(), [1, 3]);
        numbers.parsed("3".into()).join().unwrap();
        assert!(numbers.parsed("x".into()).join().is_err());
    }
}

/// An `async fn` method in this edition: its future holds the context and `self`'s clone
/// across an `.await`, and its `if let` temporaries drop by the 2024 rules.
#[derive(Clone, Default)]
pub struct Lookup {
    names: Vec<String>,
}

impl Lookup {
    /// `&self`, the context across an `.await`, an `if let` on a temporary.
    #[run_in_background]
    pub async fn first_long(&self, min: usize, ctx: &TaskContext) -> Option<String> {
        ctx.yield_now().await;
        if let Some(name) = self.names.iter().find(|n| n.len() >= min) {
            return Some(name.clone());
        }
        None
    }
}
