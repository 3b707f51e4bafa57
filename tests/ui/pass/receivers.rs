use std::sync::Arc;

use task_macros::run_in_background;

#[derive(Clone)]
struct Worker {
    base: u32,
}

impl Worker {
    #[run_in_background]
    fn shared(&self, n: u32) -> u32 {
        self.base + n
    }

    #[run_in_background]
    fn typed_shared(self: &Self, n: u32) -> u32 {
        self.base * n
    }

    #[run_in_background]
    fn owned(self, n: u32) -> u32 {
        self.base - n
    }

    #[run_in_background]
    fn owned_mut(mut self, n: u32) -> u32 {
        self.base += n;
        self.base
    }

    #[run_in_background]
    fn arc(self: Arc<Self>) -> u32 {
        self.base
    }

    #[run_in_background]
    fn arc_ref(self: &Arc<Self>) -> u32 {
        self.base + 1
    }

    #[run_in_background]
    fn boxed(self: Box<Self>) -> u32 {
        self.base + 2
    }

    #[run_in_background]
    fn associated(n: u32) -> Self {
        Self { base: n }
    }
}

fn main() {
    let w = Worker { base: 10 };
    assert_eq!(w.shared(1).join().unwrap(), 11);
    assert_eq!(w.typed_shared(2).join().unwrap(), 20);
    assert_eq!(w.clone().owned(3).join().unwrap(), 7);
    assert_eq!(w.clone().owned_mut(4).join().unwrap(), 14);
    let a = Arc::new(w.clone());
    assert_eq!(a.arc_ref().join().unwrap(), 11);
    assert_eq!(a.arc().join().unwrap(), 10);
    assert_eq!(Box::new(w).boxed().join().unwrap(), 12);
    assert_eq!(Worker::associated(5).join().unwrap().base, 5);
}
