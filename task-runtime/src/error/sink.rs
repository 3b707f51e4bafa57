//! [`ErrorSink`]: where errors go that nobody else took.

use std::fmt;
use std::sync::Arc;

use super::AppError;
use crate::unwind;

/// The manager's error handler (`TaskManagerBuilder::error_handler`), shared by everything
/// that reports: the tasks, the signals, the display thread. Reporting never unwinds: a
/// handler that panics is logged with the error it was given.
#[derive(Clone)]
pub(crate) struct ErrorSink(Arc<dyn Fn(&AppError) + Send + Sync>);

impl ErrorSink {
    pub(crate) fn new(handler: impl Fn(&AppError) + Send + Sync + 'static) -> Self {
        ErrorSink(Arc::new(handler))
    }

    /// The handler of a manager built without one: a `tracing` error event.
    pub(crate) fn tracing() -> Self {
        ErrorSink::new(|error: &AppError| {
            tracing::error!(
                code = error.code(),
                severity = %error.severity(),
                "unhandled task error: {error}"
            );
        })
    }

    pub(crate) fn report(&self, error: &AppError) {
        if let Err(panic) = unwind::catch(|| (self.0)(error)) {
            tracing::error!(
                panic = panic.message(),
                error = %error,
                "the error handler panicked while handling an error"
            );
        }
    }
}

impl fmt::Debug for ErrorSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorSink")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_panicking_handler_is_contained() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h = heard.clone();
        let sink = ErrorSink::new(move |error: &AppError| {
            h.lock().unwrap().push(error.code().to_owned());
            panic!("handler bug");
        });
        sink.report(&AppError::new("ERR_A", "a"));
        sink.clone().report(&AppError::new("ERR_B", "b"));
        assert_eq!(*heard.lock().unwrap(), ["ERR_A", "ERR_B"]);
    }
}
