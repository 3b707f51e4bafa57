//! [`TaskName`]: given by the user, or `Task-<n>`.

use std::fmt;

/// Room for "Task-" and 17 digits: `Task-<n>` names never need an allocation.
const INLINE: usize = 22;

/// A task's name: given by the user, or `Task-<n>` (numbered per manager) kept inline.
pub(crate) enum TaskName {
    Given(Box<str>),
    Numbered { len: u8, bytes: [u8; INLINE] },
}

impl TaskName {
    pub(crate) fn new(given: Option<String>, number: u64) -> Self {
        if let Some(name) = given {
            return TaskName::Given(name.into_boxed_str());
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
        if 5 + digits.len() > INLINE {
            return TaskName::Given(format!("Task-{number}").into_boxed_str());
        }
        let mut bytes = [0u8; INLINE];
        bytes[..5].copy_from_slice(b"Task-");
        bytes[5..5 + digits.len()].copy_from_slice(digits);
        TaskName::Numbered {
            len: (5 + digits.len()) as u8,
            bytes,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            TaskName::Given(name) => name,
            // Built from ASCII above, so this never falls back.
            TaskName::Numbered { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("Task")
            }
        }
    }

    pub(crate) fn is(&self, name: &str) -> bool {
        self.as_str() == name
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
        assert!(matches!(TaskName::new(None, 7), TaskName::Numbered { .. }));
        let huge = TaskName::new(None, u64::MAX);
        assert_eq!(huge.as_str(), format!("Task-{}", u64::MAX));
        assert_eq!(TaskName::new(Some("Load".into()), 9).as_str(), "Load");
        assert_eq!(std::mem::size_of::<TaskName>(), 24);
    }
}
