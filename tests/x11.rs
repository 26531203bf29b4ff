//! X11 window capture under a real X server (Xvfb with Composite) with real X clients as windows:
//! a covered window records its own content, resizes keep one output size, unmapping holds the
//! last picture, closing the window finalizes the file. FFmpeg decodes every file.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use classrec::{Event, Recorder, RecorderConfig, SourceConfig, StopReason};
use common::xvfb::{TestWindow, Xvfb};
use common::{decode_errors, probe, TempDir};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConfigureWindowAux, ConnectionExt as _, ImageFormat};

/// Orange, the covering window's colour; nothing in the bars is close to it.
const COVER: [u8; 3] = [255, 128, 0];

fn config(dir: &Path, title: &str, size: (u32, u32)) -> RecorderConfig {
    RecorderConfig {
        source: SourceConfig::Window {
            title: Some(title.into()),
            id: None,
        },
        out_dir: Some(dir.to_owned()),
        size: Some(size),
        fps: 15,
        ..RecorderConfig::default()
    }
}

/// What the window itself shows, read directly from the X server (RGB).
fn direct_capture(window: u32, size: (u32, u32)) -> Vec<u8> {
    let (conn, _) = x11rb::connect(None).unwrap();
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, size.0 as u16, size.1 as u16, !0)
        .unwrap()
        .reply()
        .unwrap();
    image.data.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0]]).collect()
}

/// What the screen shows in a rectangle (RGB): the covering window where it covers.
fn screen_capture(at: (i16, i16), size: (u32, u32)) -> Vec<u8> {
    let (conn, screen) = x11rb::connect(None).unwrap();
    let root = conn.setup().roots[screen].root;
    let image = conn
        .get_image(
            ImageFormat::Z_PIXMAP,
            root,
            at.0,
            at.1,
            size.0 as u16,
            size.1 as u16,
            !0,
        )
        .unwrap()
        .reply()
        .unwrap();
    image.data.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0]]).collect()
}

/// Every frame FFmpeg decodes from `path`, as RGB, without duplicating or dropping any.
fn decoded_frames(path: &Path, size: (u32, u32)) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
        .chunks_exact((size.0 * size.1 * 3) as usize)
        .map(<[u8]>::to_vec)
        .collect()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse.max(1e-9)).log10()
}

fn cover_pixels(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| {
            p.iter()
                .zip(COVER)
                .all(|(v, c)| (i32::from(*v) - i32::from(c)).abs() < 40)
        })
        .count()
}

/// The right half of an RGB picture of `width` columns.
fn right_half(rgb: &[u8], width: usize) -> Vec<u8> {
    rgb.chunks_exact(width * 3)
        .flat_map(|row| row[width * 3 / 2..].to_vec())
        .collect()
}

#[test]
fn a_covered_window_records_its_own_content_never_the_cover() {
    let Some(_x) = Xvfb::start() else { return };
    let dir = TempDir::new("x11-covered");
    let size = (640, 360);
    let window = TestWindow::open("Class A", size, (0, 0), "bars");
    let reference = direct_capture(window.id, size);
    let _cover = TestWindow::open("Cover", (320, 360), (320, 0), "solid:ff8000");
    let screen = screen_capture((0, 0), size);
    assert!(
        cover_pixels(&right_half(&screen, 640)) > 320 * 360 * 9 / 10,
        "the cover really hides the right half on screen"
    );

    let mut recorder = Recorder::start(config(dir.path(), "Class", size)).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let recording = recorder.stop().unwrap();
    assert_eq!(decode_errors(&recording.path), "");
    let frames = decoded_frames(&recording.path, size);
    let last = frames.last().expect("frames");
    let whole = psnr(last, &reference);
    let covered_half = psnr(&right_half(last, 640), &right_half(&reference, 640));
    println!(
        "covered window: PSNR against a direct capture {whole:.1} dB (covered half {covered_half:.1} dB), {} frames",
        frames.len()
    );
    assert!(whole > 30.0 && covered_half > 30.0, "{whole} / {covered_half} dB");
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(cover_pixels(frame), 0, "frame {i} shows the covering window");
    }
}

#[test]
fn resizing_keeps_the_output_size_and_the_picture_follows() {
    let Some(_x) = Xvfb::start() else { return };
    let dir = TempDir::new("x11-resize");
    let window = TestWindow::open("Resizable", (640, 360), (0, 0), "bars");
    let mut recorder = Recorder::start(config(dir.path(), "Resizable", (640, 360))).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let (conn, _) = x11rb::connect(None).unwrap();
    conn.configure_window(window.id, &ConfigureWindowAux::new().width(400).height(300))
        .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let recording = recorder.stop().unwrap();

    let p = probe(&recording.path);
    assert_eq!((p.width, p.height), (640, 360), "one fixed output size");
    assert_eq!(decode_errors(&recording.path), "");
    let frames = decoded_frames(&recording.path, (640, 360));
    let column_mean = |rgb: &[u8], x: usize| {
        rgb.chunks_exact(640 * 3)
            .map(|row| u32::from(row[x * 3 + 1]))
            .sum::<u32>()
            / 360
    };
    let (first, last) = (&frames[0], frames.last().unwrap());
    // 400x300 letter-boxed into 640x360 is 480x360 centred: 80 black columns each side.
    assert!(
        column_mean(first, 20) > 150,
        "before: the first bar (light) reaches the left edge"
    );
    assert!(column_mean(last, 20) < 25, "after: a black border on the left");
    assert!(
        column_mean(last, 100) > 150,
        "after: the first bar starts after the border"
    );
    println!(
        "resize: {} frames, 640x360 throughout, picture letter-boxed after 400x300",
        frames.len()
    );
}

#[test]
fn unmapping_holds_the_last_picture_and_closing_finalizes() {
    let Some(_x) = Xvfb::start() else { return };
    let dir = TempDir::new("x11-unmap");
    let mut window = TestWindow::open("Hideable", (320, 180), (0, 0), "bars");
    let mut recorder = Recorder::start(config(dir.path(), "Hideable", (320, 180))).unwrap();
    let events = recorder.events();
    std::thread::sleep(Duration::from_millis(800));
    let (conn, _) = x11rb::connect(None).unwrap();
    conn.unmap_window(window.id).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let hidden_at = recorder.stats().frames_captured;
    std::thread::sleep(Duration::from_millis(1000));
    let still_hidden = recorder.stats().frames_captured;
    conn.map_window(window.id).unwrap();
    conn.flush().unwrap();
    // 250 ms of repaint grace, then 15 frames a second: about 14 frames in 1.2 s.
    std::thread::sleep(Duration::from_millis(1200));
    let shown_again = recorder.stats().frames_captured;
    window.close();
    let recording = recorder.wait().unwrap();

    assert!(
        still_hidden <= hidden_at + 1,
        "no frames while unmapped ({hidden_at} → {still_hidden})"
    );
    assert!(
        shown_again >= still_hidden + 8,
        "frames again once mapped ({still_hidden} → {shown_again})"
    );
    let warned = events
        .try_iter()
        .any(|e| matches!(&e, Event::Warning { message } if message.contains("hidden")));
    assert!(warned, "a warning while the window was unmapped");
    assert_eq!(
        recording.stop_reason,
        StopReason::SourceEnded("the captured window was closed".into())
    );
    assert_eq!(decode_errors(&recording.path), "", "finalized and clean");
    let p = probe(&recording.path);
    assert!(
        p.duration > 2.8,
        "the duration kept growing while hidden: {} s",
        p.duration
    );
    println!(
        "unmap/map/close: {:.2} s, frames captured {hidden_at} → {still_hidden} (hidden) → {shown_again}",
        p.duration
    );
}

#[test]
fn listing_finds_windows_and_a_missing_title_is_a_clear_error() {
    let Some(_x) = Xvfb::start() else { return };
    let window = TestWindow::open("Listed Window", (200, 100), (10, 10), "bars");
    let listed = classrec::list_windows().unwrap();
    let found = listed.iter().find(|w| w.title == "Listed Window").expect("listed");
    assert_eq!((found.id, found.width, found.height), (u64::from(window.id), 200, 100));
    let dir = TempDir::new("x11-missing");
    let err = Recorder::start(config(dir.path(), "No Such Window", (320, 180))).unwrap_err();
    assert!(
        err.to_string().contains("No Such Window") && err.to_string().contains("--list-windows"),
        "{err}"
    );
    let by_id = RecorderConfig {
        source: SourceConfig::Window {
            title: None,
            id: Some(u64::from(window.id)),
        },
        ..config(dir.path(), "", (320, 180))
    };
    let mut recorder = Recorder::start(by_id).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(recorder.stop().unwrap().bytes > 0, "recorded by id");
}

#[test]
fn a_still_window_is_not_read_again_until_something_draws_into_it() {
    use classrec::capture::{Clock, X11Source};
    use classrec::{FrameSource, SourceEvent};
    use x11rb::protocol::xproto::{CreateGCAux, Rectangle};

    let Some(_x) = Xvfb::start() else { return };
    let window = TestWindow::open("Still", (320, 180), (0, 0), "bars");
    let mut source = X11Source::open(Some("Still"), None, 15, Clock::start()).unwrap();
    let mut pictures = classrec::PictureMaker::new(320, 180);
    let mut next = || loop {
        match source.next_event(Duration::from_millis(100), &mut pictures).unwrap() {
            SourceEvent::Idle => continue,
            event => return event,
        }
    };
    // The next picture within 30 events (2 s), skipping unchanged ticks.
    fn next_picture(next: &mut impl FnMut() -> SourceEvent, what: &str) -> classrec::Picture {
        (0..30)
            .find_map(|_| match next() {
                SourceEvent::Picture(picture) => Some(picture),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no picture {what}"))
    }
    next_picture(&mut next, "at first: the window's first picture is read");
    // One second of a still window: Damage reports nothing, so nothing is read.
    for _ in 0..15 {
        let event = next();
        assert!(
            matches!(event, SourceEvent::Unchanged(_)),
            "still window gave {event:?}"
        );
    }
    // Another client draws a green square into the window: the next picture is read, and has it.
    let (conn, _) = x11rb::connect(None).unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, window.id, &CreateGCAux::new().foreground(0x00ff00))
        .unwrap();
    let square = Rectangle {
        x: 100,
        y: 50,
        width: 20,
        height: 20,
    };
    conn.poly_fill_rectangle(window.id, gc, &[square]).unwrap();
    conn.flush().unwrap();
    let picture = next_picture(&mut next, "after drawing");
    let (planes, strides) = (picture.i420().planes, picture.i420().strides);
    let yuv = (
        planes.0[60 * strides.0 + 110],
        planes.1[30 * strides.1 + 55],
        planes.2[30 * strides.2 + 55],
    );
    // Pure green in BT.709 limited range is Y 173, U 42, V 26.
    let near = |got: u8, want: u8| got.abs_diff(want) <= 2;
    assert!(
        near(yuv.0, 173) && near(yuv.1, 42) && near(yuv.2, 26),
        "the drawn square's YUV {yuv:?}"
    );
    // A second square, lower down: only its rows are read now, and the picture must still equal
    // a whole read of the window converted from scratch (the first square kept, not lost).
    let lower = Rectangle { y: 140, ..square };
    conn.poly_fill_rectangle(window.id, gc, &[lower]).unwrap();
    conn.flush().unwrap();
    let picture = next_picture(&mut next, "after drawing again");
    let whole = conn
        .get_image(ImageFormat::Z_PIXMAP, window.id, 0, 0, 320, 180, !0)
        .unwrap()
        .reply()
        .unwrap()
        .data;
    let frame = classrec::Frame {
        width: 320,
        height: 180,
        stride: 320 * 4,
        data: &whole,
        timestamp: Duration::ZERO,
    };
    let expected = classrec::PictureMaker::new(320, 180).make(&frame).unwrap();
    assert!(
        picture.i420().planes == expected.i420().planes,
        "the picture made from the drawn rows differs from a whole read of the window"
    );
    println!("damage: 15 still ticks unread, the drawn square read on the next tick, then only the drawn rows");
}
