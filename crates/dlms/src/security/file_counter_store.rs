//! [`FileCounterStore`]: invocation counters persisted in a small text file, written
//! atomically (write a temporary file, flush it to disk, rename it over the old one), so
//! a crash leaves either the old or the new content, never a torn file. Plain `std`, no
//! async runtime: call it from a blocking context.
//!
//! File format, one counter per line (`#` starts a comment):
//!
//! ```text
//! # gridedge invocation counters
//! 0 out 1001
//! 0 in 417
//! ```
//!
//! i.e. `<key_id> <out|in> <value>` with the Security setup `key_id` numbering
//! (0 global unicast, 1 global broadcast encryption key).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::security::error::SecurityError;
use crate::security::invocation_counter::{CounterDirection, CounterId, InvocationCounterStore};
use crate::security::keys::KeyId;

/// Counters of one key set, in one file. Every `save` rewrites the file atomically and
/// syncs it to disk before returning; outgoing counters are saved once per reserved
/// block, incoming counters once per accepted APDU.
#[derive(Debug)]
pub struct FileCounterStore {
    path: PathBuf,
    values: BTreeMap<CounterId, u32>,
}

fn store_error(path: &Path, what: &str, e: impl std::fmt::Display) -> SecurityError {
    SecurityError::CounterStore(format!("{}: {what}: {e}", path.display()))
}

impl FileCounterStore {
    /// Opens the store at `path`, reading the counters already there; a missing file is
    /// an empty store (it is created by the first save).
    ///
    /// # Errors
    /// [`SecurityError::CounterStore`] when the file exists but cannot be read or a line
    /// is malformed (a damaged counter file must not silently restart counters at 0).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SecurityError> {
        let path = path.into();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(store_error(&path, "read", e)),
        };
        let mut values = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, value) =
                parse_line(line).ok_or_else(|| store_error(&path, "line", format!("{} malformed", n + 1)))?;
            values.insert(id, value);
        }
        Ok(FileCounterStore { path, values })
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self) -> Result<(), SecurityError> {
        let mut text = String::from("# gridedge invocation counters: <key_id> <out|in> <value>\n");
        for (id, v) in &self.values {
            let dir = match id.direction {
                CounterDirection::Outgoing => "out",
                CounterDirection::Incoming => "in",
            };
            text.push_str(&format!("{} {dir} {v}\n", id.key as u8));
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = File::create(&tmp).map_err(|e| store_error(&tmp, "create", e))?;
        f.write_all(text.as_bytes()).map_err(|e| store_error(&tmp, "write", e))?;
        f.sync_all().map_err(|e| store_error(&tmp, "sync", e))?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(|e| store_error(&self.path, "rename", e))?;
        // Make the rename itself durable (best effort: not every platform can open a
        // directory for syncing).
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

fn parse_line(line: &str) -> Option<(CounterId, u32)> {
    let mut parts = line.split_whitespace();
    let key = KeyId::from_u8(parts.next()?.parse().ok()?)?;
    let direction = match parts.next()? {
        "out" => CounterDirection::Outgoing,
        "in" => CounterDirection::Incoming,
        _ => return None,
    };
    let value = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((CounterId::new(key, direction), value))
}

impl InvocationCounterStore for FileCounterStore {
    fn load(&self, id: CounterId) -> Result<Option<u32>, SecurityError> {
        Ok(self.values.get(&id).copied())
    }

    fn save(&mut self, id: CounterId, value: u32) -> Result<(), SecurityError> {
        let previous = self.values.insert(id, value);
        let written = self.write();
        if written.is_err() {
            // Keep memory and disk in agreement: the value is not durable.
            match previous {
                Some(p) => self.values.insert(id, p),
                None => self.values.remove(&id),
            };
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gridedge-dlms-ic-{}-{name}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        dir.join("counters.txt")
    }

    #[test]
    fn values_survive_reopening() {
        let path = temp_path("reopen");
        let _ = fs::remove_file(&path);
        let out = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Outgoing);
        let inc = CounterId::new(KeyId::GlobalBroadcastEncryption, CounterDirection::Incoming);
        let mut s = FileCounterStore::open(&path).unwrap();
        assert_eq!(s.load(out).unwrap(), None);
        s.save(out, 1001).unwrap();
        s.save(inc, 7).unwrap();
        s.save(out, 2001).unwrap();
        let reopened = FileCounterStore::open(&path).unwrap();
        assert_eq!(reopened.load(out).unwrap(), Some(2001));
        assert_eq!(reopened.load(inc).unwrap(), Some(7));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("0 out 2001") && text.contains("1 in 7"), "{text}");
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        assert!(!PathBuf::from(tmp).exists(), "the temporary file is renamed away");
        let _ = fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_reset() {
        let path = temp_path("damaged");
        for bad in ["0 out", "9 out 1", "0 sideways 1", "0 out -1", "0 out 1 2", "0 out 99999999999"] {
            fs::write(&path, format!("# ok\n{bad}\n")).unwrap();
            assert!(matches!(FileCounterStore::open(&path), Err(SecurityError::CounterStore(_))), "{bad}");
        }
        let _ = fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_failed_write_is_reported_and_not_remembered() {
        // The directory of the file does not exist: creating the temporary file fails.
        let path = temp_path("unwritable").parent().unwrap().join("missing-dir").join("counters.txt");
        let mut s = FileCounterStore::open(&path).unwrap();
        let id = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Outgoing);
        assert!(matches!(s.save(id, 5), Err(SecurityError::CounterStore(_))));
        assert_eq!(s.load(id).unwrap(), None);
        let _ = fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }
}
