//! [`LatestOfName`]: "latest wins" (`Exclusive::CancelPrevious`) as a feature of its tasks.
//!
//! Every `CancelPrevious` task of one name shares one `LatestOfName`, which the registry sets
//! to each new one as it is admitted: an older task of the name sees that it was superseded by
//! itself, also after it was decided and while a delivery of its is still queued, without
//! anyone having to find it and say so.

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::task::cell::TaskCore;
use crate::task::feature::Feature;
use crate::vocabulary::TaskId;

/// The id of the newest `Exclusive::CancelPrevious` task of one name.
#[derive(Debug, Default)]
pub(crate) struct LatestOfName(AtomicU64);

impl LatestOfName {
    /// `id` was admitted: it is the latest now.
    pub(crate) fn set(&self, id: TaskId) {
        self.0.store(id.as_u64(), Ordering::Release);
    }

    fn is(&self, id: TaskId) -> bool {
        self.0.load(Ordering::Acquire) == id.as_u64()
    }
}

/// A task replaced by a newer one of its name delivers none of its own callbacks any more.
impl Feature for LatestOfName {
    fn silences(&self, task: &TaskCore) -> bool {
        !self.is(task.id)
    }
}
