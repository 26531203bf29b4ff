//! Crash recovery on any bytes (seeds: real recordings, finalized and torn): no panic, no hang;
//! a recovered file, or a clear error.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("classrec-fuzz-recover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = scratch().join("case.mp4");
    std::fs::write(&path, data).unwrap();
    if let Ok(recovered) = classrec::recover(&path) {
        // Recovering twice changes nothing.
        let again = classrec::recover(&path).expect("a recovered file recovers again");
        assert!(again.already_finalized || recovered.already_finalized);
    }
});
