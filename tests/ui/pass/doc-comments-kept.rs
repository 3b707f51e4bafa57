//! The wrapper keeps its doc comments: `missing_docs` is denied and the public items below
//! are documented only through the annotated functions' own comments.
#![deny(missing_docs)]

/// Public API.
pub mod api {
    use task_macros::{async_method, run_in_background};

    /// A documented service.
    #[derive(Clone)]
    pub struct Service;

    impl Service {
        /// Loads something in the background.
        #[run_in_background]
        pub fn load(&self) -> u32 {
            1
        }
    }

    /// Computes something in the background.
    #[async_method]
    pub fn compute() -> u32 {
        2
    }
}

fn main() {
    assert_eq!(api::Service.load().join().unwrap() + api::compute().join().unwrap(), 3);
}
