//! The recordings page: one self-contained HTML file (no scripts, no outside styles or fonts) that
//! lists the recordings with a `<video>` player each, playing from presigned URLs. Everything that
//! comes from the bucket or the command line is escaped.

use std::fmt::Write;
use std::time::Duration;

use crate::units::{clock, size};

/// One recording on the page.
pub struct Row {
    /// Object key.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// A presigned GET URL.
    pub url: String,
    /// From the object's `mvhd`: `Ok(None)` when it states none, `Err` when it could not be read.
    pub duration: Result<Option<Duration>, String>,
}

/// Text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The start time a recording's file name carries (`20261124-015412Z_…mp4`, UTC), as
/// (`2026-11-24T01:54:12Z`, `2026-11-24 01:54:12`); `None` for other names.
pub fn start_time(name: &str) -> Option<(String, String)> {
    let stamp = name.get(..16)?;
    let digits = |r: std::ops::Range<usize>| stamp.get(r).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
    let (date, time) = (digits(0..8)?, digits(9..15)?);
    if &stamp[8..9] != "-" || &stamp[15..16] != "Z" {
        return None;
    }
    let (y, mo, d) = (&date[..4], &date[4..6], &date[6..]);
    let (h, mi, s) = (&time[..2], &time[2..4], &time[4..]);
    Some((
        format!("{y}-{mo}-{d}T{h}:{mi}:{s}Z"),
        format!("{y}-{mo}-{d} {h}:{mi}:{s}"),
    ))
}

const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse}th,td{padding:.4em .8em;border-bottom:1px solid #ddd;text-align:left;\
vertical-align:middle}td.n{text-align:right;font-variant-numeric:tabular-nums}video{width:320px;background:#000}";

fn row(out: &mut String, r: &Row) {
    let name = r.key.rsplit('/').next().unwrap_or(&r.key);
    let start = match start_time(name) {
        Some((iso, shown)) => format!("<time datetime=\"{iso}\">{shown}</time>"),
        None => "unknown".into(),
    };
    let duration = match &r.duration {
        Ok(Some(d)) => format!(
            "<td class=\"n\"><time datetime=\"PT{:.3}S\">{}</time></td>",
            d.as_secs_f64(),
            clock(*d)
        ),
        Ok(None) => "<td class=\"n\">unknown</td>".into(),
        Err(why) => format!("<td class=\"n\" title=\"{}\">unknown</td>", escape(why)),
    };
    let (url, key) = (escape(&r.url), escape(&r.key));
    let _ = writeln!(
        out,
        "<tr><td><a href=\"{url}\" title=\"{key}\">{}</a></td><td>{start}</td>{duration}<td class=\"n\">{}</td>\
<td><video controls preload=\"metadata\" src=\"{url}\"></video></td></tr>",
        escape(name),
        size(r.size),
    );
}

/// The page for `rows` found at `place` (e.g. `s3://bucket/prefix`), links valid for `hours`.
pub fn html(place: &str, rows: &[Row], hours: u64) -> String {
    let place = escape(place);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>Recordings in {place}</title>\
<style>{STYLE}</style></head>\n<body><h1>Recordings in {place}</h1>\n\
<p>{} recording(s). The links play for {hours} hour(s) after this page was written.</p>\n\
<table><thead><tr><th>Name</th><th>Start (UTC)</th><th>Duration</th><th>Size</th><th>Play</th></tr></thead>\n<tbody>\n",
        rows.len()
    );
    for r in rows {
        row(&mut out, r);
    }
    out.push_str("</tbody></table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_from_outside_is_escaped() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let page = html(
            "s3://b/<p>",
            &[Row {
                key: "p/<script>alert(1)</script>.mp4".into(),
                size: 5,
                url: "http://h/k?a=1&b=\"2\"".into(),
                duration: Err("<oops>".into()),
            }],
            24,
        );
        assert!(!page.contains("<script>") && !page.contains("/<p>") && !page.contains("<oops>"));
        assert!(page.contains("Recordings in s3://b/&lt;p&gt;</h1>"));
        assert!(page.contains("src=\"http://h/k?a=1&amp;b=&quot;2&quot;\""));
    }

    #[test]
    fn the_start_time_comes_from_the_name() {
        let parsed = start_time("20261124-015412Z_42_teacher-1.mp4");
        assert_eq!(parsed.unwrap().0, "2026-11-24T01:54:12Z");
        assert_eq!(start_time("notes.mp4"), None);
        assert_eq!(start_time("2026112x-015412Z.mp4"), None);
    }
}
