//! Where recordings go: S3-compatible storage or a mounted folder, behind one trait.

use std::time::Duration;

use crate::error::Error;

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth retrying: connection refused or reset, timeout, 5xx, 429.
    Transient(String),
    /// The multipart upload no longer exists on the server: start a new one.
    UploadGone,
    /// Will not get better by retrying: bad credentials, missing bucket, access denied.
    Permanent(Error),
}

/// An object as listed by [`crate::Uploader::list`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ObjectInfo {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modified, as the server reports it (ISO 8601 for S3).
    pub last_modified: String,
}

/// A part the server holds: number, ETag, size.
pub(crate) type ServerPart = (u16, String, u64);

/// A storage that assembles an object from numbered parts.
pub(crate) trait Target: Send + Sync {
    /// Human description for messages and the journal, e.g. `s3://bucket at http://host:9000`.
    fn describe(&self) -> String;
    /// The bucket (or folder) name, for the completion event.
    fn bucket(&self) -> String;
    /// Starts a multipart upload; returns its id.
    fn create(&self, key: &str) -> Result<String, Failure>;
    /// Uploads one part from `body` (a throttled reader of `len` bytes); returns its ETag.
    fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        body: &mut dyn std::io::Read,
        len: u64,
        sha256: &str,
    ) -> Result<String, Failure>;
    /// The parts the server holds for this upload (`UploadGone` if the upload id is unknown).
    fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<ServerPart>, Failure>;
    /// Assembles the object from `parts` (number, ETag), in order; returns the object's ETag.
    fn complete(&self, key: &str, upload_id: &str, parts: &[(u16, String)]) -> Result<String, Failure>;
    /// The object's URL (unsigned).
    fn url(&self, key: &str) -> String;
    /// A URL anyone can GET for `ttl`.
    fn presign_get(&self, key: &str, ttl: Duration) -> String;
    /// Objects under `prefix`.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, Failure>;
}
