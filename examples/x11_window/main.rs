//! A real X client for the capture tests and benches: opens a titled window and paints a known
//! picture into it, repainting after every expose and resize. Prints `ready 0x<id>` once the
//! window is shown.
//!
//! ```text
//! cargo run --example x11_window -- --title "Class" --size 640x360 --at 0,0 --paint bars|solid:RRGGBB|lecture
//! cargo run --release --example x11_window -- --paint lecture --dump-raw FILE|- [--fps 15] [--seconds 120] [--start S]
//! ```
//! `bars` is eight vertical colour bars over a horizontal gradient, drawn for the current size;
//! `solid:ff00ff` fills the window with one colour (a window that covers another); `lecture`
//! plays a 2-minute lecture at 1920x1080 in real time (`lecture.rs`), sending only what changes,
//! then holds its last picture. `--dump-raw` renders the lecture offline instead, as raw BGRA
//! frames at `--fps` from `--start` seconds into the script: exactly what the window showed then.

#[cfg(target_os = "linux")]
mod canvas;
#[cfg(target_os = "linux")]
mod lecture;
#[cfg(target_os = "linux")]
mod slides;

#[cfg(target_os = "linux")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{
        AtomEnum, ConfigureWindowAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, PropMode,
        WindowClass,
    };
    use x11rb::protocol::Event;
    use x11rb::wrapper::ConnectionExt as _;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let title = arg("--title").unwrap_or_else(|| "classrec test window".into());
    let (mut width, mut height) = arg("--size")
        .and_then(|s| s.split_once('x').map(|(w, h)| (w.parse().unwrap(), h.parse().unwrap())))
        .unwrap_or((640u16, 360u16));
    let (x, y) = arg("--at")
        .and_then(|s| s.split_once(',').map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap())))
        .unwrap_or((0i16, 0i16));
    let paint = arg("--paint").unwrap_or_else(|| "bars".into());
    if paint == "lecture" {
        (width, height) = (lecture::WIDTH as u16, lecture::HEIGHT as u16);
        if let Some(path) = arg("--dump-raw") {
            let number = |name: &str, default: f64| arg(name).map_or(default, |v| v.parse().expect(name));
            return Ok(dump_lecture(
                &path,
                number("--fps", 15.0),
                number("--seconds", 120.0),
                number("--start", 0.0),
            )?);
        }
    }

    let (conn, screen_num) = x11rb::connect(None)?;
    let screen = &conn.setup().roots[screen_num];
    let window = conn.generate_id()?;
    conn.create_window(
        screen.root_depth,
        window,
        screen.root,
        x,
        y,
        width,
        height,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &CreateWindowAux::new().event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY),
    )?;
    let utf8 = conn.intern_atom(false, b"UTF8_STRING")?.reply()?.atom;
    let net_wm_name = conn.intern_atom(false, b"_NET_WM_NAME")?.reply()?.atom;
    conn.change_property8(
        PropMode::REPLACE,
        window,
        AtomEnum::WM_NAME,
        AtomEnum::STRING,
        title.as_bytes(),
    )?;
    conn.change_property8(PropMode::REPLACE, window, net_wm_name, utf8, title.as_bytes())?;
    let gc = conn.generate_id()?;
    conn.create_gc(gc, window, &CreateGCAux::new())?;
    conn.map_window(window)?;
    // Without a window manager the position from create_window holds; set it again for one.
    conn.configure_window(window, &ConfigureWindowAux::new().x(i32::from(x)).y(i32::from(y)))?;
    conn.flush()?;
    if paint == "lecture" {
        return play_lecture(&conn, window, gc, screen.root_depth);
    }

    let mut announced = false;
    loop {
        let event = conn.wait_for_event()?;
        let repaint = match event {
            Event::Expose(e) => e.count == 0,
            Event::ConfigureNotify(e) if (e.width, e.height) != (width, height) => {
                (width, height) = (e.width, e.height);
                true
            }
            _ => false,
        };
        if !repaint {
            continue;
        }
        let picture = picture(&paint, width.into(), height.into());
        put_rows(&conn, (window, gc, screen.root_depth), (0, 0), width.into(), &picture)?;
        conn.flush()?;
        if !announced {
            conn.sync()?;
            println!("ready {window:#x}");
            std::io::stdout().flush()?;
            announced = true;
        }
    }
}

/// Where pixels go: the window, its graphics context and depth.
#[cfg(target_os = "linux")]
type Target = (u32, u32, u8);

/// Puts BGRX `rows` of `width` pixels at `at` in the window, in as few requests as the server takes
/// (one, with BIG-REQUESTS, for a whole 1080p picture).
#[cfg(target_os = "linux")]
fn put_rows(
    conn: &impl x11rb::connection::Connection,
    (window, gc, depth): Target,
    at: (usize, usize),
    width: usize,
    rows: &[u8],
) -> Result<(), x11rb::errors::ConnectionError> {
    use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
    let rows_per_request = ((conn.maximum_request_bytes() - 64) / (width * 4)).max(1);
    for (i, strip) in rows.chunks(rows_per_request * width * 4).enumerate() {
        let y = at.1 + i * rows_per_request;
        let height = strip.len() / (width * 4);
        let (w, h, x, y) = (width as u16, height as u16, at.0 as i16, y as i16);
        conn.put_image(ImageFormat::Z_PIXMAP, window, gc, w, h, x, y, 0, depth, strip)?;
    }
    Ok(())
}

/// Plays the lecture in the window from its first picture, sending what changed at each tick of
/// its clock; holds the last picture once it is over. Never returns but on an X error.
#[cfg(target_os = "linux")]
fn play_lecture(
    conn: &impl x11rb::connection::Connection,
    window: u32,
    gc: u32,
    depth: u8,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    use std::time::{Duration, Instant};
    use x11rb::protocol::Event;
    use x11rb::wrapper::ConnectionExt as _;

    while !matches!(conn.wait_for_event()?, Event::Expose(_)) {}
    let mut lecture = lecture::Lecture::new();
    let start = Instant::now();
    let mut tick = 0;
    loop {
        let mut dirty = lecture.advance(tick);
        while let Some(event) = conn.poll_for_event()? {
            if matches!(event, Event::Expose(_)) {
                dirty = vec![lecture.screen().bounds()];
            }
        }
        for rect in dirty {
            let rows = lecture.screen().rows_of(rect);
            put_rows(conn, (window, gc, depth), (rect.x, rect.y), rect.width, &rows)?;
        }
        conn.flush()?;
        if tick == 0 {
            conn.sync()?;
            println!("ready {window:#x}");
            std::io::stdout().flush()?;
        }
        // The next tick when it is due; ticks it fell behind on are skipped, as frames are by an app.
        let next = tick + 1;
        let due = start + Duration::from_secs_f64(next as f64 / lecture::TICKS_PER_SECOND);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        tick = lecture::tick_at(start.elapsed().as_secs_f64()).max(next);
    }
}

/// Writes the lecture's frames at `fps` for `seconds` from `start` seconds into its script, as
/// raw BGRA, to `path` (`-`: stdout).
#[cfg(target_os = "linux")]
fn dump_lecture(path: &str, fps: f64, seconds: f64, start: f64) -> std::io::Result<()> {
    use std::io::Write;
    let mut out: Box<dyn Write> = match path {
        "-" => Box::new(std::io::stdout().lock()),
        _ => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
    };
    let mut lecture = lecture::Lecture::new();
    for frame in 0..(seconds * fps).round() as u64 {
        lecture.advance(lecture::tick_at(start + frame as f64 / fps));
        out.write_all(&lecture.screen().pixels)?;
    }
    out.flush()
}

/// The picture for `paint` at this size, as BGRX.
#[cfg(target_os = "linux")]
fn picture(paint: &str, width: usize, height: usize) -> Vec<u8> {
    const BARS: [[u8; 3]; 8] = [
        [235, 235, 235],
        [235, 235, 16],
        [16, 235, 235],
        [16, 235, 16],
        [235, 16, 235],
        [235, 16, 16],
        [16, 16, 235],
        [60, 60, 60],
    ];
    let solid = paint
        .strip_prefix("solid:")
        .and_then(|hex| u32::from_str_radix(hex, 16).ok());
    let mut out = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            let [r, g, b] = match solid {
                Some(rgb) => [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8],
                None if y < height * 3 / 4 => BARS[x * 8 / width.max(1)],
                None => {
                    let v = (x * 255 / width.max(1)) as u8;
                    [v, v, v]
                }
            };
            out.extend_from_slice(&[b, g, r, 0]);
        }
    }
    out
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("x11_window runs on Linux (X11) only");
}
