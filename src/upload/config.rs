//! Where and how recordings are uploaded ([`UploadConfig`], part of the recorder's JSON
//! configuration), S3's multipart limits, and the credentials that open a target.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::folder::FolderTarget;
use super::s3::S3Target;
use super::target::Target;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// S3's smallest part (all but the last): 5 MiB (AWS S3 multipart upload limits).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's most parts in one upload.
pub const MAX_PARTS: u16 = 10_000;
/// The region signed for when neither the configuration nor `$AWS_REGION` names one.
const DEFAULT_REGION: &str = "us-east-1";

/// Where recordings are uploaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum UploadTarget {
    /// S3-compatible storage: Tencent COS, AWS S3, MinIO, SeaweedFS, Garage, Ceph.
    S3 {
        /// e.g. `https://cos.ap-guangzhou.myqcloud.com` or `http://127.0.0.1:9000`.
        endpoint: String,
        /// Region; default `$AWS_REGION`, else `us-east-1`.
        #[serde(default)]
        region: Option<String>,
        /// Bucket name.
        bucket: String,
        /// Key prefix, e.g. `recordings/`.
        #[serde(default)]
        prefix: String,
        /// `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO, SeaweedFS, IPs).
        #[serde(default)]
        path_style: bool,
        /// Access key; default `$AWS_ACCESS_KEY_ID`.
        #[serde(default)]
        access_key: Option<String>,
        /// Secret key; default `$AWS_SECRET_ACCESS_KEY`.
        #[serde(default)]
        secret_key: Option<Secret>,
        /// Session token for temporary credentials; default `$AWS_SESSION_TOKEN`.
        #[serde(default)]
        session_token: Option<Secret>,
    },
    /// A mounted folder (school NAS or share).
    Folder {
        /// The folder.
        path: PathBuf,
        /// Key prefix (a sub-folder).
        #[serde(default)]
        prefix: String,
    },
}

/// Upload settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadConfig {
    /// Where to upload.
    pub target: UploadTarget,
    /// Smallest part, bytes (at least 5 MiB).
    #[serde(default = "default_part_size")]
    pub part_size: u64,
    /// Bandwidth cap in bytes per second (None: no cap). Changeable while uploading.
    #[serde(default)]
    pub bandwidth_limit: Option<u64>,
}

fn default_part_size() -> u64 {
    MIN_PART_SIZE
}

impl UploadConfig {
    /// Upload to an S3 bucket with credentials from the standard `AWS_*` variables.
    pub fn s3(endpoint: &str, bucket: &str, prefix: &str) -> Self {
        UploadConfig {
            target: UploadTarget::S3 {
                endpoint: endpoint.into(),
                region: None,
                bucket: bucket.into(),
                prefix: prefix.into(),
                path_style: true,
                access_key: None,
                secret_key: None,
                session_token: None,
            },
            part_size: MIN_PART_SIZE,
            bandwidth_limit: None,
        }
    }
}

impl UploadConfig {
    /// Checks the part size and opens the target: S3 credentials come from the configuration or
    /// the standard `AWS_*` variables. Returns the target and the key prefix (without slashes).
    pub(crate) fn open_target(&self) -> Result<(Box<dyn Target>, String)> {
        if self.part_size < MIN_PART_SIZE || self.part_size > MAX_PART_SIZE {
            return Err(Error::InvalidConfig(format!(
                "part_size is {}; use {MIN_PART_SIZE} (5 MiB) to {MAX_PART_SIZE} (5 GiB), S3's limits",
                self.part_size
            )));
        }
        let (target, prefix): (Box<dyn Target>, &str) = match &self.target {
            UploadTarget::S3 {
                endpoint,
                region,
                bucket,
                prefix,
                path_style,
                access_key,
                secret_key,
                session_token,
            } => {
                let key = access_key.clone().or_else(|| env("AWS_ACCESS_KEY_ID"));
                let secret = secret_key
                    .as_ref()
                    .map(|s| s.0.clone())
                    .or_else(|| env("AWS_SECRET_ACCESS_KEY"));
                let (Some(key), Some(secret)) = (key, secret) else {
                    return Err(Error::InvalidConfig(
                        "S3 upload needs credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
                    ));
                };
                let token = session_token
                    .as_ref()
                    .map(|s| s.0.clone())
                    .or_else(|| env("AWS_SESSION_TOKEN"));
                let credentials = match token {
                    Some(token) => rusty_s3::Credentials::new_with_token(key, secret, token),
                    None => rusty_s3::Credentials::new(key, secret),
                };
                let region = region
                    .clone()
                    .or_else(|| env("AWS_REGION"))
                    .unwrap_or_else(|| DEFAULT_REGION.into());
                (
                    Box::new(S3Target::new(endpoint, &region, bucket, *path_style, credentials)?),
                    prefix,
                )
            }
            UploadTarget::Folder { path, prefix } => (Box::new(FolderTarget::new(path)), prefix),
        };
        Ok((target, prefix.trim_matches('/').to_owned()))
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
