//! Talking to the X server: connecting, requests that name what failed, and finding the
//! windows that can be recorded (by id, by title).

use x11rb::connection::Connection;
use x11rb::cookie::{Cookie, VoidCookie};
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, MapState, Window};
use x11rb::rust_connection::RustConnection;
use x11rb::x11_utils::TryParse;

use crate::capture::WindowInfo;
use crate::error::{Error, Result};

pub(super) fn source_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::source_caused(&format!("X11: {what}"), e)
}

/// Sends a request and waits for its reply, naming `what` failed.
pub(super) fn reply<R: TryParse>(
    what: &str,
    request: Result<Cookie<'_, RustConnection, R>, ConnectionError>,
) -> Result<R> {
    request
        .map_err(ReplyError::from)
        .and_then(|cookie| cookie.reply())
        .map_err(|e| source_error(what, e))
}

/// Sends a request without a reply and waits until the server has checked it.
pub(super) fn check(what: &str, request: Result<VoidCookie<'_, RustConnection>, ConnectionError>) -> Result<()> {
    request
        .map_err(ReplyError::from)
        .and_then(|cookie| cookie.check())
        .map_err(|e| source_error(what, e))
}

pub(super) fn connect() -> Result<(RustConnection, usize)> {
    x11rb::connect(None).map_err(|e| {
        Error::source(format!(
            "cannot connect to the X server (DISPLAY={}): {e}; run inside an X session or set DISPLAY",
            std::env::var("DISPLAY").unwrap_or_default()
        ))
    })
}

/// Reads a window's title: `_NET_WM_NAME` (UTF-8), else `WM_NAME`.
pub(super) fn title(conn: &RustConnection, window: Window, net_wm_name: u32) -> Option<String> {
    for atom in [net_wm_name, AtomEnum::WM_NAME.into()] {
        let reply = reply(
            "read a title",
            conn.get_property(false, window, atom, AtomEnum::ANY, 0, 1024),
        )
        .ok()?;
        if !reply.value.is_empty() {
            return Some(String::from_utf8_lossy(&reply.value).into_owned());
        }
    }
    None
}

pub(super) fn net_wm_name(conn: &RustConnection) -> Result<u32> {
    Ok(reply("intern _NET_WM_NAME", conn.intern_atom(false, b"_NET_WM_NAME"))?.atom)
}

/// Every mapped window with a title, depth first from the root (so it finds client windows
/// inside a window manager's frames too).
pub(super) fn windows(conn: &RustConnection, root: Window) -> Result<Vec<WindowInfo>> {
    let name_atom = net_wm_name(conn)?;
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(window) = stack.pop() {
        let Ok(tree) = conn
            .query_tree(window)
            .map_err(|e| source_error("list windows", e))?
            .reply()
        else {
            continue; // destroyed meanwhile
        };
        stack.extend(tree.children.iter().rev());
        if window == root {
            continue;
        }
        let Some(title) = title(conn, window, name_atom) else {
            continue;
        };
        let mapped =
            reply("read a window", conn.get_window_attributes(window)).is_ok_and(|a| a.map_state != MapState::UNMAPPED);
        if !mapped {
            continue;
        }
        let Ok(geometry) = reply("read a window size", conn.get_geometry(window)) else {
            continue; // destroyed meanwhile
        };
        out.push(WindowInfo {
            id: window.into(),
            title,
            width: geometry.width.into(),
            height: geometry.height.into(),
        });
    }
    Ok(out)
}

/// Lists the windows that can be recorded on the X display (`$DISPLAY`).
pub(crate) fn list_windows() -> Result<Vec<WindowInfo>> {
    let (conn, screen) = connect()?;
    let root = conn.setup().roots[screen].root;
    windows(&conn, root)
}

/// Finds a window: by id, else by exact title, else by a title containing `title`.
pub(super) fn find(conn: &RustConnection, root: Window, title: Option<&str>, id: Option<u64>) -> Result<Window> {
    if let Some(id) = id {
        let window = Window::try_from(id).map_err(|_| Error::source(format!("window id {id:#x} is not an X11 id")))?;
        // Unmapped windows are not listed but may still be recorded (the last picture is held).
        return match reply("read the window", conn.get_geometry(window)) {
            Ok(_) => Ok(window),
            Err(_) => Err(Error::source(format!(
                "no window with id {id:#x}; list them with `record --list-windows`"
            ))),
        };
    }
    let title = title.unwrap_or_default();
    let all = windows(conn, root)?;
    all.iter()
        .find(|w| w.title == title)
        .or_else(|| all.iter().find(|w| w.title.contains(title)))
        .map(|w| w.id as Window)
        .ok_or_else(|| {
            Error::source(format!(
                "no window titled `{title}` (exactly or in part); list them with `record --list-windows`"
            ))
        })
}
