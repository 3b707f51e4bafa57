use std::sync::Arc;

use task_macros::run_in_background;
use task_runtime::{AppError, TaskContext};

#[derive(Clone)]
struct Cache<K, V> {
    entries: Arc<Vec<(K, V)>>,
}

impl<K, V> Cache<K, V>
where
    K: PartialEq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    #[run_in_background]
    fn lookup(&self, key: K, ctx: &TaskContext) -> Result<Option<V>, AppError> {
        ctx.check_cancelled()?;
        Ok(self
            .entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone()))
    }

    #[run_in_background]
    fn size(self: Arc<Self>) -> usize {
        self.entries.len()
    }
}

fn main() {
    let cache = Cache {
        entries: Arc::new(vec![(1, "one"), (2, "two")]),
    };
    assert_eq!(cache.lookup(2).join().unwrap(), Some("two"));
    assert_eq!(Arc::new(cache).size().join().unwrap(), 2);
}
