//! Notify: the `local_record_callback` POST that tells the school's backend a recording is
//! complete in the cloud (seed section 6; docs/ARCHITECTURE.md, Completion callback).
//!
//! The body follows the seed's *example* where its type table disagrees: `sdkappid` and
//! `class_id` are numbers, the ids (`teacher_id`, `assistant_id`, `user_id`, `file_id`) and
//! `file_url` are strings, `file_size` (bytes), `duration` (seconds) and the times (Unix
//! seconds) are numbers. The URL carries Tencent's public parameters `sdkappid`, `expire_time`,
//! `random` and `sign = md5_hex(key + expire_time)`; `expire_time` is also in the body.
//! Delivered means HTTP 200 with JSON `error_code` 0; anything else is retried
//! (`deliver.rs`). One attempt is one POST (`send.rs`).
//!
//! Notify knows nothing of uploads: the uploader hands it the facts once the object is complete
//! and persists the [`CallbackState`] it returns in the upload journal.

mod deliver;
mod send;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

pub(crate) use deliver::deliver;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Who is recording. Only a teacher or an assistant may record (seed section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The class's teacher.
    Teacher,
    /// The class's assistant.
    Assistant,
    /// A student: may not record.
    Student,
}

/// The class a recording belongs to, as the callback reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassInfo {
    /// The application id (`sdkappid`).
    pub sdkappid: u64,
    /// Class id.
    pub class_id: u64,
    /// Class topic; default: the class id as text (seed table).
    #[serde(default)]
    pub class_topic: Option<String>,
    /// Teacher's id.
    pub teacher_id: String,
    /// Assistant's id.
    #[serde(default)]
    pub assistant_id: String,
    /// The recording user's id.
    pub user_id: String,
    /// The recording user's role.
    pub role: Role,
    /// Class start, Unix seconds.
    #[serde(default)]
    pub class_start_time: u64,
    /// Class stop, Unix seconds.
    #[serde(default)]
    pub class_stop_time: u64,
}

impl ClassInfo {
    /// Refuses roles that may not record.
    pub(crate) fn check_role(&self) -> Result<()> {
        match self.role {
            Role::Teacher | Role::Assistant => Ok(()),
            Role::Student => Err(Error::NotAllowed(format!(
                "user `{}` is a student in class {}; only a teacher or an assistant may record",
                self.user_id, self.class_id
            ))),
        }
    }
}

/// Where and how to send the `local_record_callback` (see [`crate::callback_body`] for the body).
/// Each attempt is POSTed to `url?sdkappid=…&expire_time=…&random=…&sign=…` with
/// `sign = md5_hex(key + expire_time)`; delivered means HTTP 200 with JSON `error_code` 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    /// The institution's callback URL.
    pub url: String,
    /// The callback key that signs each request (never written to disk).
    pub key: Secret,
    /// Retries after the first attempt (default 10, as the seed's service).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Time between attempts in milliseconds (default 60000).
    #[serde(default = "default_interval_ms")]
    pub retry_interval_ms: u64,
    /// How long to wait for an answer, in milliseconds (default 10000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_retries() -> u32 {
    10
}
fn default_interval_ms() -> u64 {
    60_000
}
fn default_timeout_ms() -> u64 {
    10_000
}

/// `md5_hex(key + expire_time)`, Tencent's callback signature.
pub fn sign(key: &str, expire_time: u64) -> String {
    hex::encode(Md5::digest(format!("{key}{expire_time}").as_bytes()))
}

/// The facts of a finished recording that the callback reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFacts {
    /// Recording start, Unix seconds.
    pub start_time: u64,
    /// Recording stop, Unix seconds.
    pub stop_time: u64,
    /// Object key (the callback's `file_id`).
    pub file_id: String,
    /// Object URL.
    pub file_url: String,
    /// Size in bytes.
    pub file_size: u64,
    /// Duration in whole seconds (rounded).
    pub duration: u64,
}

/// Delivery of the completion callback, kept in the upload journal so that a client closed
/// between attempts goes on (and never delivers twice) on its next start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackState {
    /// What the callback reports.
    pub facts: RecordFacts,
    /// Attempts made so far.
    pub attempts: u32,
    /// Delivered (HTTP 200, `error_code` 0): never sent again.
    pub delivered: bool,
    /// Gave up after the last retry, with the last reason.
    pub failed: Option<String>,
}

impl CallbackState {
    /// Nothing attempted yet.
    pub(crate) fn new(facts: RecordFacts) -> Self {
        CallbackState {
            facts,
            attempts: 0,
            delivered: false,
            failed: None,
        }
    }

    /// Neither delivered nor given up on.
    pub(crate) fn is_pending(&self) -> bool {
        !self.delivered && self.failed.is_none()
    }
}

/// The callback body, exactly in the seed example's shape:
/// `{"event":"local_record_callback","expire_time":…,"data":{"record_info":{…}}}`.
///
/// The seed's type table and its example disagree; this follows the example: `sdkappid` and
/// `class_id` are numbers; `teacher_id`, `assistant_id`, `user_id`, `file_id` (the object key),
/// `file_url` and `class_topic` are strings; `file_size` (bytes), `duration` (whole seconds) and
/// all times (Unix seconds) are numbers. Receivers should accept ids as strings or numbers.
pub fn body(class: &ClassInfo, facts: &RecordFacts, expire_time: u64) -> serde_json::Value {
    serde_json::json!({
        "event": "local_record_callback",
        "expire_time": expire_time,
        "data": { "record_info": {
            "sdkappid": class.sdkappid,
            "class_id": class.class_id,
            "class_topic": class.class_topic.clone().unwrap_or_else(|| class.class_id.to_string()),
            "teacher_id": class.teacher_id,
            "assistant_id": class.assistant_id,
            "start_time": facts.start_time,
            "stop_time": facts.stop_time,
            "class_start_time": class.class_start_time,
            "class_stop_time": class.class_stop_time,
            "user_id": class.user_id,
            "record_type": "local_record",
            "file_id": facts.file_id,
            "file_format": "MP4",
            "file_size": facts.file_size,
            "file_url": facts.file_url,
            "duration": facts.duration,
        }}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_tencents_worked_example() {
        assert_eq!(
            sign("DzXpbluRsmo1JkoFxzKMNg5ifrA4GRlU", 1548247837),
            "28374bd8cff400ac4906414780fbe387"
        );
    }

    #[test]
    fn students_may_not_record() {
        let mut class = ClassInfo {
            sdkappid: 1,
            class_id: 2,
            class_topic: None,
            teacher_id: "t".into(),
            assistant_id: "a".into(),
            user_id: "s1".into(),
            role: Role::Student,
            class_start_time: 0,
            class_stop_time: 0,
        };
        let err = class.check_role().unwrap_err().to_string();
        assert!(err.contains("only a teacher or an assistant may record"), "{err}");
        class.role = Role::Assistant;
        assert!(class.check_role().is_ok());
    }
}
