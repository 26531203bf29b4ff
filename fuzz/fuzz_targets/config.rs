//! The configuration JSON as the C ABI reads it: no panic, only a result.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(json) = std::str::from_utf8(data) {
        let _ = classrec::fuzzing::config(json);
    }
});
