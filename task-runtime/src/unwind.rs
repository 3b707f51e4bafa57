//! Panics are contained here: every piece of user code the runtime runs (bodies, callbacks,
//! signal slots, dispatchers, wakers, user values being dropped) goes through [`catch`], so a
//! panic turns into a value the runtime reports instead of an unwinding worker.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// A caught panic's payload, with its message already extracted.
pub(crate) struct Panic {
    message: String,
}

impl Panic {
    /// The panic message, or a placeholder for payloads that are not strings.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

/// Runs `f`, turning a panic into `Err(Panic)`.
///
/// `AssertUnwindSafe` is sound here because after a panic the runtime never looks at the
/// user state the closure touched: it only reports the message.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(into_panic)
}

/// Drops `value` where a panic in its `Drop` cannot escape; returns the panic if there was one.
pub(crate) fn drop_contained<T>(value: T) -> Option<Panic> {
    catch(move || drop(value)).err()
}

/// The message of a panic's payload, or a placeholder for payloads that are not strings.
fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// A panic's payload (caught by [`catch`], or by other means: a future's `catch_unwind`) as
/// its message; the payload is dropped here, where a panic in its `Drop` cannot escape.
pub(crate) fn into_panic(payload: Box<dyn Any + Send>) -> Panic {
    let message = message(&*payload);
    // The payload is user data too: its own `Drop` may panic, and that must not unwind here.
    let mut payload = Some(payload);
    while let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload.take()))) {
        // A panic from dropping a payload hands us a new payload; drop that one the same way.
        // Practically this loop runs once; it only repeats for pathological Drop chains.
        payload = Some(again);
    }
    Panic { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_common_payloads() {
        assert_eq!(
            catch(|| panic!("static")).err().unwrap().message(),
            "static"
        );
        let n = 3;
        assert_eq!(
            catch(|| panic!("formatted {n}")).err().unwrap().message(),
            "formatted 3"
        );
        let other = catch(|| std::panic::panic_any(42_u32)).err().unwrap();
        assert_eq!(other.message(), "non-string panic payload");
        assert_eq!(catch(|| 7).ok(), Some(7));
    }

    #[test]
    fn payload_whose_drop_panics_is_contained() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("bomb dropped");
            }
        }
        let caught = catch(|| std::panic::panic_any(Bomb)).err().unwrap();
        assert_eq!(caught.message(), "non-string panic payload");
        assert!(drop_contained(Bomb).is_some());
        assert!(drop_contained(1_u8).is_none());
    }
}
