//! The demo's work: sample files written to a temporary directory, and a hash of each, read
//! in chunks with progress and cancellation checks.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use task_runtime::{AppError, TaskContext};

const CHUNK: usize = 64 * 1024;

/// Writes `count` files of `size` bytes each into a fresh directory under the system's
/// temporary directory, and names one more that does not exist (its load fails).
pub fn sample(count: usize, size: usize) -> io::Result<(PathBuf, Vec<PathBuf>)> {
    let dir = std::env::temp_dir().join(format!("gtk-demo-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let mut paths = Vec::with_capacity(count + 1);
    for index in 0..count {
        let path = dir.join(format!("sample-{index:02}.bin"));
        // Cheap, varied content: a linear congruential sequence seeded by the index.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ index as u64;
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                (state >> 56) as u8
            })
            .collect();
        fs::write(&path, bytes)?;
        paths.push(path);
    }
    paths.insert(count.min(2), dir.join("missing.bin"));
    Ok((dir, paths))
}

/// FNV-1a over the file, `pace` of sleep per chunk so that a person can watch the bars.
pub fn hash(path: &Path, pace: Duration, ctx: &TaskContext) -> Result<u64, AppError> {
    let mut file = fs::File::open(path)?;
    let total = file.metadata()?.len();
    let mut buffer = vec![0; CHUNK];
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut done = 0;
    loop {
        ctx.check_cancelled()?;
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hash);
        }
        for byte in &buffer[..read] {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        done += read as u64;
        ctx.report_progress(done, total, "hashing");
        std::thread::sleep(pace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_of_nothing_is_the_offset_basis() {
        let dir = std::env::temp_dir().join(format!("gtk-demo-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty");
        fs::write(&empty, b"").unwrap();
        let manager = task_runtime::TaskManager::new(1);
        let path = empty.clone();
        let task = manager.spawn(move |ctx| hash(&path, Duration::ZERO, ctx));
        assert_eq!(task.join().unwrap(), 0xcbf2_9ce4_8422_2325);
        // "a" is 0xaf63dc4c8601ec8c in FNV-1a 64.
        fs::write(&empty, b"a").unwrap();
        let task = manager.spawn(move |ctx| hash(&empty, Duration::ZERO, ctx));
        assert_eq!(task.join().unwrap(), 0xaf63_dc4c_8601_ec8c);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_sample_has_one_missing_file() {
        let (dir, paths) = sample(3, 10).unwrap();
        assert_eq!(paths.len(), 4);
        assert_eq!(paths.iter().filter(|p| !p.exists()).count(), 1);
        fs::remove_dir_all(dir).unwrap();
    }
}
