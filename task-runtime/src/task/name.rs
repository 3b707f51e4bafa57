//! [`TaskName`]: given by the user, or `Task-<n>`.

use std::fmt;

/// Room for "Task-" and 17 digits, and for most names people give: those never need an
/// allocation of their own.
const INLINE: usize = 22;

/// A task's name, as kept for the task's whole life.
///
/// Short names (`Task-<n>` and most given ones) live inline, and names from the macros are
/// `&'static str`: the common task carries its name without an allocation that another thread
/// would have to free.
#[derive(Clone)]
pub(crate) enum TaskName {
    Static(&'static str),
    Inline { len: u8, bytes: [u8; INLINE] },
    Given(Box<str>),
}

/// A name as the builder received it.
pub(crate) enum GivenName {
    Static(&'static str),
    Owned(String),
}

impl GivenName {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            GivenName::Static(name) => name,
            GivenName::Owned(name) => name,
        }
    }
}

impl TaskName {
    pub(crate) fn new(given: Option<GivenName>, number: u64) -> Self {
        match given {
            Some(GivenName::Static(name)) => return TaskName::Static(name),
            Some(GivenName::Owned(name)) => {
                return Self::inline(name.as_bytes())
                    .unwrap_or_else(|| TaskName::Given(name.into_boxed_str()))
            }
            None => {}
        }
        // Two digits per division: names are made for every task, so this is a hot path.
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = number;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            at -= 1;
            digits[at] = b'0' + n as u8;
        }
        let digits = &digits[at..];
        let mut name = [0u8; 5 + 20];
        name[..5].copy_from_slice(b"Task-");
        name[5..5 + digits.len()].copy_from_slice(digits);
        let name = &name[..5 + digits.len()];
        // Numbers past 17 digits do not fit inline.
        Self::inline(name)
            .unwrap_or_else(|| TaskName::Given(format!("Task-{number}").into_boxed_str()))
    }

    /// `name` kept inline, if it fits. (It is UTF-8: it comes from a `str`.)
    fn inline(name: &[u8]) -> Option<Self> {
        if name.len() > INLINE {
            return None;
        }
        let mut bytes = [0u8; INLINE];
        bytes[..name.len()].copy_from_slice(name);
        Some(TaskName::Inline {
            len: name.len() as u8,
            bytes,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            TaskName::Static(name) => name,
            TaskName::Given(name) => name,
            TaskName::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)])
                .expect("an inline name is copied whole from a str"),
        }
    }

    pub(crate) fn is(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl AsRef<str> for TaskName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_are_inline() {
        assert_eq!(TaskName::new(None, 0).as_str(), "Task-0");
        assert_eq!(TaskName::new(None, 1234).as_str(), "Task-1234");
        for n in [9, 10, 99, 100, 101, 12345, 1_000_000] {
            assert_eq!(TaskName::new(None, n).as_str(), format!("Task-{n}"));
        }
        assert!(matches!(TaskName::new(None, 7), TaskName::Inline { .. }));
        let huge = TaskName::new(None, u64::MAX);
        assert_eq!(huge.as_str(), format!("Task-{}", u64::MAX));
        assert_eq!(std::mem::size_of::<TaskName>(), 24);
    }

    #[test]
    fn given_names_are_kept_as_given() {
        let owned = |name: &str| TaskName::new(Some(GivenName::Owned(name.into())), 9);
        assert_eq!(owned("Load").as_str(), "Load");
        assert!(matches!(owned("Load"), TaskName::Inline { .. }));
        let fits = "é".repeat(INLINE / 2); // multi-byte characters, exactly full
        assert_eq!(owned(&fits).as_str(), fits);
        assert!(matches!(owned(&fits), TaskName::Inline { .. }));
        let long = "a name longer than the inline room";
        assert_eq!(owned(long).as_str(), long);
        assert!(matches!(owned(long), TaskName::Given(_)));
        assert_eq!(owned("").as_str(), "");
        let fixed = TaskName::new(Some(GivenName::Static("search")), 9);
        assert!(matches!(fixed, TaskName::Static("search")));
    }
}
