//! The upload journal parser on any bytes: no panic, a journal or a clear error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(journal) = classrec::Journal::parse(data) {
        // What the uploader computes from it must not overflow either.
        let total: u64 = journal.parts.iter().map(|p| p.len).sum();
        let _ = journal.parts.iter().map(|p| p.offset + p.len).max();
        let _ = total;
    }
});
