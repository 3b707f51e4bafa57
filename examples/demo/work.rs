//! The demos' work, apart from the tasks that run it: generated data, two checksums, a
//! segmented prime sieve, a scan and a search that wait as on a slow disk, and a settings
//! load that fails with a structured error. Shared by this demo and the egui demo
//! (`demos/egui`), which includes this file by path. Each long job takes a closure that it
//! calls between steps: the task reports progress and checks for cancellation there.

use std::path::Path;
use std::thread;
use std::time::Duration;

use task_runtime::{codes, AppError, Category, Severity};

/// Fills `chunk` with xorshift output: generated data, the same on every run.
pub fn fill(chunk: &mut [u8], state: &mut u64) {
    for word in chunk.chunks_exact_mut(8) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        word.copy_from_slice(&state.to_le_bytes());
    }
}

/// A seed for [`fill`] that differs per file or stream.
pub fn seed(index: usize) -> u64 {
    0x9E37_79B9_7F4A_7C15_u64 ^ index as u64
}

/// FNV-1a, 64 bits.
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Hashes `bytes` into the running value.
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// CRC-32 (IEEE), a table-driven byte at a time.
pub struct Crc32 {
    table: [u32; 256],
    value: u32,
}

impl Crc32 {
    /// A CRC of no bytes yet.
    pub fn new() -> Self {
        let mut table = [0u32; 256];
        for (n, entry) in table.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        Crc32 {
            table,
            value: 0xFFFF_FFFF,
        }
    }

    /// Adds `bytes` to the running CRC.
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.value =
                self.table[((self.value ^ u32::from(byte)) & 0xFF) as usize] ^ (self.value >> 8);
        }
    }

    /// The CRC of everything written.
    pub fn finish(&self) -> u32 {
        !self.value
    }
}

/// Counts the primes below `limit` with a sieve, a segment of 1 Mi numbers at a time.
///
/// `after_segment(done, segments, primes_so_far)` runs after each segment; an error from
/// it (a cancellation, say) stops the count.
pub fn count_primes<E>(
    limit: usize,
    mut after_segment: impl FnMut(u64, u64, usize) -> Result<(), E>,
) -> Result<usize, E> {
    const SEGMENT: usize = 1 << 20;
    let root = (limit as f64).sqrt() as usize + 1;
    let small = sieve(root);
    let base: Vec<usize> = (2..root).filter(|&n| small[n]).collect();
    let mut count = 0;
    let segments = limit.div_ceil(SEGMENT);
    let mut composite = vec![false; SEGMENT];
    for segment in 0..segments {
        let low = segment * SEGMENT;
        let high = (low + SEGMENT).min(limit);
        composite.iter_mut().for_each(|c| *c = false);
        for &p in &base {
            let start = (low.div_ceil(p) * p).max(p * p);
            for multiple in (start..high).step_by(p) {
                composite[multiple - low] = true;
            }
        }
        count += (low.max(2)..high).filter(|&n| !composite[n - low]).count();
        after_segment(segment as u64 + 1, segments as u64, count)?;
    }
    Ok(count)
}

/// Scans entries of a slow disk, 37 per 20 ms, until `after_batch(entries_so_far)` fails.
pub fn scan<E>(mut after_batch: impl FnMut(u64) -> Result<(), E>) -> Result<(), E> {
    let mut entries = 0u64;
    loop {
        thread::sleep(Duration::from_millis(20));
        entries += 37;
        after_batch(entries)?;
    }
}

/// Looks `query` up in a make-believe index: ten steps of 25 ms, each finding some matches,
/// handed to `found` as they are found. Returns how many there were.
pub fn search<E>(
    query: &str,
    mut found: impl FnMut(String),
    mut after_step: impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<usize, E> {
    let total = query.len() * 7;
    let mut listed = 0;
    for step in 1..=10 {
        thread::sleep(Duration::from_millis(25));
        after_step(step, 10)?;
        while listed < total * step as usize / 10 {
            listed += 1;
            found(format!("{query}-{listed}"));
        }
    }
    Ok(total)
}

/// Reads a settings file; a missing one is a structured error with a user message.
pub fn read_settings(path: &Path) -> Result<String, AppError> {
    std::fs::read_to_string(path).map_err(|err| {
        AppError::new(codes::ERR_FILE_NOT_FOUND, "settings file missing")
            .with_user_message("Settings could not be loaded; using the defaults")
            .with_category(Category::FileNotFound)
            .with_severity(Severity::Warning)
            .with_details(format!("{} does not exist", path.display()))
            .with_context("path", path.display())
            .recoverable(true)
            .with_source(err)
    })
}

/// `sieve(n)[k]` tells whether `k < n` is prime.
fn sieve(n: usize) -> Vec<bool> {
    let mut prime = vec![true; n.max(2)];
    prime[0] = false;
    prime[1] = false;
    let mut p = 2;
    while p * p < n {
        if prime[p] {
            for multiple in (p * p..n).step_by(p) {
                prime[multiple] = false;
            }
        }
        p += 1;
    }
    prime
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_prime_counts() {
        let count = |limit| super::count_primes(limit, |_, _, _| Ok::<_, ()>(())).unwrap();
        assert_eq!(count(10), 4);
        assert_eq!(count(1_000_000), 78_498);
        assert_eq!(count(3_000_000), 216_816);
    }

    #[test]
    fn a_missing_settings_file_is_a_structured_error() {
        let error = super::read_settings("/nonexistent/settings.toml".as_ref()).unwrap_err();
        assert_eq!(error.code(), task_runtime::codes::ERR_FILE_NOT_FOUND);
        assert!(error.is_recoverable());
        assert!(error
            .user_message()
            .starts_with("Settings could not be loaded"));
    }

    #[test]
    fn crc32_check_value() {
        let mut crc = super::Crc32::new();
        crc.write(b"123456789");
        assert_eq!(crc.finish(), 0xCBF4_3926);
        let mut fnv = super::Fnv::default();
        fnv.write(b"a");
        assert_eq!(fnv.0, 0xaf63_dc4c_8601_ec8c);
    }
}
