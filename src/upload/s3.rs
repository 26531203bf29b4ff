//! S3-compatible storage (Tencent COS, AWS S3, MinIO, SeaweedFS, Garage, Ceph): rusty-s3 signs,
//! ureq sends. Every request carries `x-amz-content-sha256` (signed); no `x-amz-checksum-*`
//! headers (COS and others reject them). Error bodies are read and turned into messages that
//! name the cause and the fix.

use std::io::Read;
use std::time::Duration;

use rusty_s3::actions::{CompleteMultipartUploadResponse, CreateMultipartUpload, ListObjectsV2, ListParts};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use sha2::{Digest, Sha256};

use super::target::{Failure, ObjectInfo, ServerPart, Target};
use crate::error::Error;

/// How long a signed request URL stays valid: long enough for a slow part on a throttled link.
const SIGNED_URL_LIFETIME: Duration = Duration::from_secs(3600);
/// Connect timeout; a dead network is noticed quickly and retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// No byte received for this long ends a request (a throttled part body still makes progress).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// ListParts and ListObjectsV2 answer at most this many entries per page (S3 API).
const LIST_PAGE: usize = 1000;
/// The SHA-256 of an empty body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// An S3 bucket with credentials.
pub(crate) struct S3Target {
    bucket: Bucket,
    credentials: Credentials,
    endpoint: String,
    agent: ureq::Agent,
}

impl S3Target {
    pub(crate) fn new(
        endpoint: &str,
        region: &str,
        bucket: &str,
        path_style: bool,
        credentials: Credentials,
    ) -> Result<Self, Error> {
        let invalid = |why: String| Error::InvalidConfig(why);
        let url = endpoint.parse().map_err(|e| {
            invalid(format!(
                "S3 endpoint `{endpoint}` is not a URL ({e}); use e.g. https://cos.ap-guangzhou.myqcloud.com"
            ))
        })?;
        let style = if path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(url, style, bucket.to_owned(), region.to_owned()).map_err(|e| {
            invalid(format!(
                "bucket `{bucket}` at `{endpoint}`: {e} (for an IP-address endpoint use path_style)"
            ))
        })?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .timeout_recv_body(Some(RESPONSE_TIMEOUT))
            .build()
            .new_agent();
        Ok(S3Target {
            bucket,
            credentials,
            endpoint: endpoint.to_owned(),
            agent,
        })
    }

    /// Signs `action` with the body's hash as a signed header, and sends it.
    fn send<'a, A: S3Action<'a>>(
        &self,
        mut action: A,
        body: Option<(&mut dyn Read, u64)>,
        sha256: &str,
    ) -> Result<(u16, String, Option<String>), Failure> {
        action.headers_mut().insert("x-amz-content-sha256", sha256.to_owned());
        let url = action.sign(SIGNED_URL_LIFETIME);
        let method = match A::METHOD {
            rusty_s3::Method::Get => "GET",
            rusty_s3::Method::Put => "PUT",
            rusty_s3::Method::Post => "POST",
            rusty_s3::Method::Delete => "DELETE",
            rusty_s3::Method::Head => "HEAD",
        };
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("x-amz-content-sha256", sha256);
        let result = match body {
            Some((reader, len)) => {
                let request = request
                    .header("content-length", len)
                    .body(ureq::SendBody::from_reader(reader));
                self.agent.run(request.expect("valid request"))
            }
            None => self.agent.run(request.body(()).expect("valid request")),
        };
        let mut response = result.map_err(|e| self.network_failure(&e))?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text, etag))
    }

    fn network_failure(&self, e: &ureq::Error) -> Failure {
        Failure::Transient(format!(
            "cannot reach S3 at `{}`: {e}; check the network and the endpoint",
            self.endpoint
        ))
    }

    /// Turns a non-2xx answer into a failure that names the cause and the fix.
    fn classify(&self, status: u16, body: &str, what: &str) -> Failure {
        let code = xml_text(body, "Code").unwrap_or_default();
        let message = xml_text(body, "Message").unwrap_or_default();
        let bucket = self.bucket.name();
        let at = &self.endpoint;
        let detail = if message.is_empty() {
            code.clone()
        } else {
            format!("{code}: {message}")
        };
        let permanent = |m: String| Failure::Permanent(Error::Upload(m));
        match (status, code.as_str()) {
            (_, "NoSuchUpload") => Failure::UploadGone,
            (_, "NoSuchBucket") => permanent(format!("bucket `{bucket}` not found at `{at}`; create it or fix the bucket name")),
            (_, "InvalidAccessKeyId") => permanent(format!(
                "S3 at `{at}` does not know the access key ({detail}); check AWS_ACCESS_KEY_ID or the configured access_key"
            )),
            (_, "SignatureDoesNotMatch") => permanent(format!(
                "S3 at `{at}` rejected the signature ({detail}); check AWS_SECRET_ACCESS_KEY and the region `{}`",
                self.bucket.region()
            )),
            (403, _) => permanent(format!(
                "access denied to bucket `{bucket}` at `{at}` while trying to {what} ({detail}); grant the key write access to the bucket"
            )),
            (404, _) => permanent(format!("bucket `{bucket}` not found at `{at}` ({detail}); create it or fix the bucket name")),
            (408 | 429 | 500..=599, _) => Failure::Transient(format!("S3 at `{at}` answered {status} to {what} ({detail}); retrying")),
            _ => permanent(format!("S3 at `{at}` answered {status} to {what} ({detail})")),
        }
    }

    fn expect_ok<'a>(&self, action: impl S3Action<'a>, what: &str) -> Result<(String, Option<String>), Failure> {
        let (status, text, etag) = self.send(action, None, EMPTY_SHA256)?;
        if (200..300).contains(&status) {
            Ok((text, etag))
        } else {
            Err(self.classify(status, &text, what))
        }
    }
}

/// The text of the first `<tag>` element (enough for S3's flat error documents).
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].to_owned())
}

/// The hex SHA-256 of `data`, as `x-amz-content-sha256` wants it.
fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Target for S3Target {
    fn describe(&self) -> String {
        format!("s3://{} at {}", self.bucket.name(), self.endpoint)
    }

    fn bucket(&self) -> String {
        self.bucket.name().to_owned()
    }

    fn create(&self, key: &str) -> Result<String, Failure> {
        let action = self.bucket.create_multipart_upload(Some(&self.credentials), key);
        let (text, _) = self.expect_ok(action, "start an upload")?;
        let parsed = CreateMultipartUpload::parse_response(&text)
            .map_err(|e| Failure::Transient(format!("unreadable CreateMultipartUpload answer ({e}); retrying")))?;
        Ok(parsed.upload_id().to_owned())
    }

    fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        body: &mut dyn Read,
        len: u64,
        sha256: &str,
    ) -> Result<String, Failure> {
        let action = self.bucket.upload_part(Some(&self.credentials), key, number, upload_id);
        let (status, text, etag) = self.send(action, Some((body, len)), sha256)?;
        if !(200..300).contains(&status) {
            return Err(self.classify(status, &text, "upload a part"));
        }
        etag.ok_or_else(|| {
            Failure::Transient(format!(
                "S3 at `{}` sent no ETag for part {number}; retrying",
                self.endpoint
            ))
        })
    }

    fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<ServerPart>, Failure> {
        let mut parts = Vec::new();
        let mut marker = None;
        loop {
            let mut action = self.bucket.list_parts(Some(&self.credentials), key, upload_id);
            action.set_max_parts(LIST_PAGE as u16);
            if let Some(m) = marker {
                action.set_part_number_marker(m);
            }
            let (text, _) = self.expect_ok(action, "list uploaded parts")?;
            let page = ListParts::parse_response(&text)
                .map_err(|e| Failure::Transient(format!("unreadable ListParts answer ({e}); retrying")))?;
            parts.extend(page.parts.into_iter().map(|p| (p.number, p.etag, p.size)));
            match page.next_part_number_marker {
                Some(m) if marker != Some(m) => marker = Some(m),
                _ => return Ok(parts),
            }
        }
    }

    fn complete(&self, key: &str, upload_id: &str, parts: &[(u16, String)]) -> Result<String, Failure> {
        let etags = parts.iter().map(|(_, e)| e.as_str());
        let action = self
            .bucket
            .complete_multipart_upload(Some(&self.credentials), key, upload_id, etags);
        let body = action.body();
        let sha = sha256_hex(body.as_bytes());
        let action = self.bucket.complete_multipart_upload(
            Some(&self.credentials),
            key,
            upload_id,
            parts.iter().map(|(_, e)| e.as_str()),
        );
        let mut reader = body.as_bytes();
        let (status, text, _) = self.send(action, Some((&mut reader, body.len() as u64)), &sha)?;
        // S3 can answer 200 with an error document for Complete.
        if !(200..300).contains(&status) || text.contains("<Error>") {
            return Err(self.classify(if status == 200 { 500 } else { status }, &text, "complete the upload"));
        }
        CompleteMultipartUploadResponse::parse(&text)
            .map(|r| r.etag().to_owned())
            .map_err(|e| Failure::Transient(format!("unreadable CompleteMultipartUpload answer ({e}); retrying")))
    }

    fn url(&self, key: &str) -> String {
        self.bucket.object_url(key).to_string()
    }

    fn presign_get(&self, key: &str, ttl: Duration) -> String {
        self.bucket
            .get_object(Some(&self.credentials), key)
            .sign(ttl)
            .to_string()
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, Failure> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
            action.with_prefix(prefix.to_owned());
            action.with_max_keys(LIST_PAGE);
            if let Some(t) = &token {
                action.with_continuation_token(t.clone());
            }
            let (text, _) = self.expect_ok(action, "list recordings")?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| Failure::Transient(format!("unreadable ListObjectsV2 answer ({e}); retrying")))?;
            out.extend(page.contents.into_iter().map(|c| ObjectInfo {
                key: c.key,
                size: c.size.unwrap_or(0),
                last_modified: c.last_modified.unwrap_or_default(),
            }));
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> S3Target {
        S3Target::new(
            "http://127.0.0.1:9",
            "us-east-1",
            "b",
            true,
            Credentials::new("AKID", "SECRET"),
        )
        .unwrap()
    }

    #[test]
    fn signed_requests_carry_the_real_payload_hash_as_a_signed_header() {
        let t = target();
        let mut action = t.bucket.upload_part(Some(&t.credentials), "k", 2, "id");
        let hash = sha256_hex(b"hello");
        assert_eq!(hash, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        action.headers_mut().insert("x-amz-content-sha256", hash.clone());
        let url = action.sign(Duration::from_secs(60)).to_string();
        assert!(url.contains("X-Amz-SignedHeaders=host%3Bx-amz-content-sha256"), "{url}");
        assert!(!url.contains("x-amz-checksum"), "{url}");
        // A different body hash must change the signature: a lenient server cannot hide a wrong hash.
        let mut other = t.bucket.upload_part(Some(&t.credentials), "k", 2, "id");
        other.headers_mut().insert("x-amz-content-sha256", sha256_hex(b"hullo"));
        let sig = |u: &str| u.split("X-Amz-Signature=").nth(1).map(str::to_owned);
        assert_ne!(sig(&url), sig(other.sign(Duration::from_secs(60)).as_ref()));
    }

    #[test]
    fn errors_name_the_cause_and_the_fix() {
        let t = target();
        let msg = |status, code: &str| match t.classify(
            status,
            &format!("<Error><Code>{code}</Code><Message>m</Message></Error>"),
            "upload a part",
        ) {
            Failure::Permanent(e) => e.to_string(),
            Failure::Transient(m) => format!("transient: {m}"),
            Failure::UploadGone => "gone".into(),
        };
        assert!(msg(404, "NoSuchBucket").contains("bucket `b` not found at `http://127.0.0.1:9`"));
        assert!(msg(403, "SignatureDoesNotMatch").contains("check AWS_SECRET_ACCESS_KEY"));
        assert!(msg(403, "InvalidAccessKeyId").contains("check AWS_ACCESS_KEY_ID"));
        assert!(msg(403, "AccessDenied").contains("access denied to bucket `b`"));
        assert!(msg(503, "SlowDown").starts_with("transient"));
        assert!(msg(429, "").starts_with("transient"));
        assert_eq!(msg(404, "NoSuchUpload"), "gone");
    }
}
