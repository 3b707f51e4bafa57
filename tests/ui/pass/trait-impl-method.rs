//! A method of a trait impl, when the trait declares the generated signature; a const-generic
//! method with an `impl Trait` argument; `-> impl Trait` on a `&self` method; `self` inside
//! closures, macros and nested items of the body.

use task_macros::run_in_background;
use task_runtime::{Task, TaskContext};

trait Loader {
    fn load(&self, path: String) -> Task<usize>;
}

#[derive(Clone)]
struct Disk {
    prefix: String,
}

impl Loader for Disk {
    #[run_in_background]
    fn load(&self, path: String, ctx: &TaskContext) -> usize {
        ctx.set_progress(1, 1);
        let joined = format!("{}{path}", self.prefix);
        let len = || self.prefix.len();
        fn nested(this: &str) -> usize {
            // Another function's own names: untouched.
            this.len()
        }
        assert_eq!(nested(&joined), len() + path.len());
        joined.len()
    }
}

#[derive(Clone)]
struct Grid;

impl Grid {
    #[run_in_background]
    fn cells<const N: usize>(&self, fill: impl Fn(usize) -> u8 + Send + 'static) -> Vec<u8> {
        (0..N).map(fill).collect()
    }

    #[run_in_background]
    fn evens(&self, limit: u32) -> impl Iterator<Item = u32> + Send + 'static {
        (0..limit).filter(|n| n % 2 == 0)
    }

    #[run_in_background]
    fn consume(mut self, extra: u8) -> u8 {
        self = Grid;
        let _ = &self;
        extra
    }
}

fn main() {
    let disk = Disk {
        prefix: "/tmp/".to_owned(),
    };
    assert_eq!(Loader::load(&disk, "a".to_owned()).join().unwrap(), 6);
    assert_eq!(Grid.cells::<3>(|i| i as u8 * 2).join().unwrap(), [0, 2, 4]);
    assert_eq!(Grid.evens(5).join().unwrap().collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(Grid.consume(7).join().unwrap(), 7);
}
