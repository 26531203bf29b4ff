//! X11 window capture cost at 1920x1080 (one frame interval at 30 fps is 33.3 ms): MIT-SHM
//! against plain GetImage, on a real X server (Xvfb, started here) and a real window. Each read is
//! turned into a picture where it lies: "unchanged" is the read and the hashing pass that finds
//! nothing new; "converted" the read and a full conversion (into newly allocated planes).
//!
//! `cargo bench --bench window_capture`. Skips (prints why) where Xvfb is not installed.

use std::time::Duration;

use classrec::capture::{Clock, PictureMaker, X11Source};
use criterion::{criterion_group, criterion_main, Criterion};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateGCAux, CreateWindowAux, WindowClass};
use x11rb::wrapper::ConnectionExt as _;

#[allow(dead_code)]
#[path = "../tests/common/examples.rs"]
mod examples;
#[allow(dead_code)]
#[path = "../tests/common/xvfb.rs"]
mod xvfb;

/// A 1920x1080 window with a title, painted once (this process is its X client).
fn open_window(conn: &impl Connection, screen: usize) -> u32 {
    let screen = &conn.setup().roots[screen];
    let window = conn.generate_id().unwrap();
    conn.create_window(
        screen.root_depth,
        window,
        screen.root,
        0,
        0,
        1920,
        1080,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &CreateWindowAux::new().background_pixel(0x3366cc),
    )
    .unwrap();
    conn.change_property8(
        x11rb::protocol::xproto::PropMode::REPLACE,
        window,
        x11rb::protocol::xproto::AtomEnum::WM_NAME,
        x11rb::protocol::xproto::AtomEnum::STRING,
        b"bench window",
    )
    .unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, window, &CreateGCAux::new()).unwrap();
    conn.map_window(window).unwrap();
    conn.sync().unwrap();
    window
}

fn window_capture(c: &mut Criterion) {
    let Some(xvfb) = xvfb::Xvfb::start() else { return };
    let (conn, screen) = x11rb::connect(None).unwrap();
    open_window(&conn, screen);
    let mut source = X11Source::open(Some("bench window"), None, 30, Clock::start()).unwrap();
    std::thread::sleep(Duration::from_millis(300)); // past the repaint grace
    let mut group = c.benchmark_group("x11 capture 1920x1080");
    for (name, shm) in [("MIT-SHM", true), ("GetImage", false)] {
        source.use_shared_memory(shm);
        let mut pictures = PictureMaker::new(1920, 1080);
        group.bench_function(format!("{name}, unchanged"), |b| {
            b.iter(|| source.capture_now(&mut pictures).unwrap().expect("a picture"))
        });
        group.bench_function(format!("{name}, converted"), |b| {
            b.iter(|| {
                let mut pictures = PictureMaker::new(1920, 1080);
                source.capture_now(&mut pictures).unwrap().expect("a picture")
            })
        });
    }
    group.finish();
    drop(source);
    drop(xvfb);
}

criterion_group!(benches, window_capture);
criterion_main!(benches);
