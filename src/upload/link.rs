//! What every upload session of one [`crate::Uploader`] shares: the target, the key prefix, the
//! part size, the bandwidth cap and the cancel flag.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::target::Target;
use super::throttle::Throttle;

/// The uploader's connection to its storage.
pub(super) struct Link {
    pub target: Box<dyn Target>,
    /// Key prefix, without surrounding slashes.
    pub prefix: String,
    /// Smallest part, bytes.
    pub part_size: u64,
    pub throttle: Throttle,
    /// Set when the process shuts down: retry loops give up, journals keep the state.
    pub cancelled: AtomicBool,
}

impl Link {
    /// The object key of a recording: `<prefix>/<file name>` (file names are already sanitized).
    pub(super) fn key_for(&self, recording: &Path) -> String {
        let name = recording
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.prefix.is_empty() {
            name
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}
