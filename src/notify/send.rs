//! One attempt at the callback: a POST with freshly signed URL parameters.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{body, sign, CallbackConfig, ClassInfo, RecordFacts};

/// How long a signed callback URL stays valid (Tencent's `expire_time` is a deadline).
const SIGN_LIFETIME: Duration = Duration::from_secs(300);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One attempt: POST the body with freshly signed URL parameters. `Ok` only for HTTP 200 whose
/// JSON says `error_code` 0; the error says what the receiver did instead.
pub(crate) fn attempt(
    config: &CallbackConfig,
    class: &ClassInfo,
    facts: &RecordFacts,
) -> std::result::Result<(), String> {
    let expire_time = unix_now() + SIGN_LIFETIME.as_secs();
    let random = u64::from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos(),
    ) % 1_000_000;
    let separator = if config.url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{separator}sdkappid={}&expire_time={expire_time}&random={random}&sign={}",
        config.url,
        class.sdkappid,
        sign(&config.key.0, expire_time)
    );
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
        .build()
        .new_agent();
    let payload = body(class, facts, expire_time).to_string();
    let mut response = agent
        .post(&url)
        .header("content-type", "application/json")
        .send(payload.as_bytes())
        .map_err(|e| format!("no answer from `{}`: {e}", config.url))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        return Err(format!("`{}` answered HTTP {status}", config.url));
    }
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| format!("`{}` answered something that is not JSON: {text:.80}", config.url))?;
    match json.get("error_code").and_then(serde_json::Value::as_i64) {
        Some(0) => Ok(()),
        Some(code) => Err(format!("`{}` answered error_code {code}", config.url)),
        None => Err(format!("`{}` answered JSON without error_code", config.url)),
    }
}
