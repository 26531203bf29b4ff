//! A real X client for the capture tests: opens a titled window and paints a known picture into
//! it, repainting after every expose and resize. Prints `ready 0x<id>` once the window is shown.
//!
//! ```text
//! cargo run --example x11_window -- --title "Class" --size 640x360 --at 0,0 --paint bars|solid:RRGGBB
//! ```
//! `bars` is eight vertical colour bars over a horizontal gradient, drawn for the current size;
//! `solid:ff00ff` fills the window with one colour (a window that covers another).

#[cfg(target_os = "linux")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{
        AtomEnum, ConfigureWindowAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat,
        PropMode, WindowClass,
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
        // In strips, each well under the core protocol's request size limit.
        let rows_per_strip = (65_536 / (usize::from(width) * 4)).max(1);
        for (strip, rows) in picture.chunks(rows_per_strip * usize::from(width) * 4).enumerate() {
            let strip_height = rows.len() / (usize::from(width) * 4);
            conn.put_image(
                ImageFormat::Z_PIXMAP,
                window,
                gc,
                width,
                strip_height as u16,
                0,
                (strip * rows_per_strip) as i16,
                0,
                screen.root_depth,
                rows,
            )?;
        }
        conn.flush()?;
        if !announced {
            conn.sync()?;
            println!("ready {window:#x}");
            std::io::stdout().flush()?;
            announced = true;
        }
    }
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
