//! A folder target: a mounted school NAS or share. Parts are written as files, then assembled
//! into a temp file and renamed into place, so a reader never sees a half-written recording.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::target::{Failure, ObjectInfo, ServerPart, Target};
use crate::error::Error;
use crate::files::write_atomically;

/// Where unfinished uploads keep their parts, inside the target folder.
const PARTS_DIR: &str = ".classrec-parts";

/// Uploads into a folder.
pub(crate) struct FolderTarget {
    root: PathBuf,
}

impl FolderTarget {
    pub(crate) fn new(root: &Path) -> Self {
        FolderTarget { root: root.to_owned() }
    }

    fn parts_dir(&self, upload_id: &str) -> PathBuf {
        self.root.join(PARTS_DIR).join(upload_id)
    }

    fn failure(&self, what: &str, e: std::io::Error) -> Failure {
        let message = format!("cannot {what} in `{}`: {e}", self.root.display());
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            Failure::Permanent(Error::Upload(format!(
                "{message}; give this user write access to the folder"
            )))
        } else {
            Failure::Transient(format!("{message}; is the share mounted?"))
        }
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

impl Target for FolderTarget {
    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    fn bucket(&self) -> String {
        self.root.display().to_string()
    }

    fn create(&self, _key: &str) -> Result<String, Failure> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!("{nanos:x}-{}", std::process::id());
        std::fs::create_dir_all(self.parts_dir(&id)).map_err(|e| self.failure("start an upload", e))?;
        Ok(id)
    }

    fn put_part(
        &self,
        _key: &str,
        upload_id: &str,
        number: u16,
        body: &mut dyn Read,
        _len: u64,
        sha256: &str,
    ) -> Result<String, Failure> {
        let dir = self.parts_dir(upload_id);
        if !dir.is_dir() {
            return Err(Failure::UploadGone);
        }
        write_atomically(&dir.join(format!("{number:05}.part")), body).map_err(|e| self.failure("write a part", e))?;
        Ok(format!("\"{sha256}\""))
    }

    fn list_parts(&self, _key: &str, upload_id: &str) -> Result<Vec<ServerPart>, Failure> {
        let dir = self.parts_dir(upload_id);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Failure::UploadGone),
            Err(e) => return Err(self.failure("list parts", e)),
        };
        let mut parts = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(number) = name.strip_suffix(".part").and_then(|n| n.parse().ok()) else {
                continue;
            };
            let data = std::fs::read(entry.path()).map_err(|e| self.failure("read a part", e))?;
            parts.push((
                number,
                format!("\"{}\"", hex::encode(Sha256::digest(&data))),
                data.len() as u64,
            ));
        }
        parts.sort();
        Ok(parts)
    }

    fn complete(&self, key: &str, upload_id: &str, parts: &[(u16, String)]) -> Result<String, Failure> {
        let dir = self.parts_dir(upload_id);
        let target = self.root.join(key);
        let assemble = || -> std::io::Result<String> {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut body: Box<dyn Read> = Box::new(std::io::empty());
            for (number, _) in parts {
                body = Box::new(body.chain(File::open(dir.join(format!("{number:05}.part")))?));
            }
            let mut hashing = Hashing {
                inner: body,
                hash: Sha256::new(),
            };
            write_atomically(&target, &mut hashing)?;
            std::fs::remove_dir_all(&dir)?;
            Ok(format!("\"{}\"", hex::encode(hashing.hash.finalize())))
        };
        if !dir.is_dir() {
            return Err(Failure::UploadGone);
        }
        assemble().map_err(|e| self.failure("assemble the recording", e))
    }

    fn url(&self, key: &str) -> String {
        format!("file://{}", self.root.join(key).display())
    }

    fn presign_get(&self, key: &str, _ttl: Duration) -> String {
        self.url(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, Failure> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| self.failure("list recordings", e))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    if entry.file_name() != PARTS_DIR {
                        stack.push(path);
                    }
                    continue;
                }
                let key = path
                    .strip_prefix(&self.root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                if key.starts_with(prefix) && !key.ends_with(".tmp") {
                    let modified = meta.modified().map(crate::files::utc_stamp).unwrap_or_default();
                    out.push(ObjectInfo {
                        key,
                        size: meta.len(),
                        last_modified: modified,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
