//! Feature `tokio`: every body of a manager, blocking or `async`, runs inside a tokio runtime
//! context, so tokio's timers and sockets, and the crates built on them (reqwest, sqlx), work
//! in bodies. Each worker enters the context once, for its whole life (a manual manager's
//! caller, for each job it runs). The runtime is the one given with
//! `TaskManagerBuilder::tokio(handle)`, or else one of a single thread that the manager starts
//! when its first worker does, and shuts down when it goes, waiting at most its
//! `shutdown_timeout` (and not at all from inside an async context, where waiting is refused).
//!
//! Work a body hands to tokio itself (`tokio::spawn`, `spawn_blocking`) is tokio's: it is not
//! part of the task, not cancelled with it and not counted by the manager.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::pool::Around;

/// Where a manager's bodies find their tokio runtime.
pub(crate) struct Reactor {
    given: Option<Handle>,
    /// Started by the first worker when no handle was given (`None`: it could not start).
    own: OnceLock<Option<Runtime>>,
    thread_name: String,
    shutdown_timeout: Duration,
}

impl Reactor {
    pub(crate) fn new(
        given: Option<Handle>,
        thread_name: String,
        shutdown_timeout: Duration,
    ) -> Self {
        Reactor {
            given,
            own: OnceLock::new(),
            thread_name,
            shutdown_timeout,
        }
    }

    /// What the pool runs its workers inside: this runtime's context.
    pub(crate) fn around(self) -> Around {
        let reactor = Arc::new(self);
        Arc::new(move |work: &mut dyn FnMut()| match reactor.handle() {
            Some(handle) => {
                let _entered = handle.enter();
                work();
            }
            None => work(),
        })
    }

    fn handle(&self) -> Option<Handle> {
        if let Some(given) = &self.given {
            return Some(given.clone());
        }
        let own = self.own.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name(format!("{}-tokio", self.thread_name))
                .enable_all()
                .build()
                .inspect_err(|error| {
                    tracing::error!(%error, "could not start the tokio runtime; bodies run without it");
                })
                .ok()
        });
        own.as_ref().map(|runtime| runtime.handle().clone())
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        let Some(Some(runtime)) = self.own.take() else {
            return;
        };
        // Inside an async context a runtime may not be waited for: let it go in the
        // background rather than panic.
        if Handle::try_current().is_ok() {
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(self.shutdown_timeout);
        }
    }
}
