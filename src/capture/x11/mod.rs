//! Window capture on X11: the Composite extension redirects the window to an off-screen pixmap
//! (the X11 twin of Windows' DWM), so parts covered by other windows are still captured; the
//! pixmap is read with MIT-SHM (a shared segment the server writes into, converted straight from
//! there: no copy), or with a plain GetImage where shared memory is unavailable (a remote display).
//!
//! The Damage extension says when the application drew: while it does not, no pixel is read and
//! the source reports [`SourceEvent::Unchanged`], so a still slide costs almost nothing. When it
//! did, only the damaged rows are read into the shared segment (which keeps the rest from earlier
//! reads), and only their strips are hashed and converted: a pen stroke or a moving pointer costs
//! a band of the window, not all of it.
//!
//! Resizes re-name the pixmap; while the window is unmapped the last picture is held
//! ([`SourceEvent::Hidden`]); when it is destroyed the source ends.
#![allow(unsafe_code)] // mapping the shared-memory segment the X server hands us

use std::ops::Range;
use std::os::fd::OwnedFd;
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::composite::{self, ConnectionExt as _};
use x11rb::protocol::damage::{self, ConnectionExt as _};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat, ImageOrder, MapState, Window,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

mod server;

pub(crate) use server::list_windows;
use server::{check, connect, find, reply, source_error};

use crate::capture::pacer::Ticker;
use crate::capture::{Clock, Frame, FrameSource, Picture, PictureMaker, SourceEvent};
use crate::error::{Error, Result};

/// A shared-memory segment the server writes images into.
struct SharedImage {
    segment: shm::Seg,
    map: memmap2::Mmap,
}

impl SharedImage {
    /// A segment of `len` bytes made by the server (MIT-SHM 1.2 `CreateSegment`, passed as a file
    /// descriptor, so no SysV ids leak if we crash).
    fn new(conn: &RustConnection, len: usize) -> Option<SharedImage> {
        let segment = conn.generate_id().ok()?;
        // A reply with file descriptors: its own cookie type, so not through `reply()`.
        let reply = conn
            .shm_create_segment(segment, u32::try_from(len).ok()?, false)
            .ok()?
            .reply()
            .ok()?;
        let fd: OwnedFd = reply.shm_fd;
        // SAFETY: the server created this segment of `len` bytes for us; it writes into it only
        // while we wait for a GetImage reply, and we read it only after that reply.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&fd) }.ok()?;
        Some(SharedImage { segment, map })
    }

    fn free(self, conn: &RustConnection) {
        let _ = conn.shm_detach(self.segment);
    }
}

/// Captures one X11 window through Composite.
pub struct X11Source {
    conn: RustConnection,
    window: Window,
    /// The window's composite pixmap (re-named after a resize or a map), if viewable.
    pixmap: Option<u32>,
    size: (u32, u32),
    shared: Option<SharedImage>,
    /// MIT-SHM is usable; false after a failure (remote display): plain GetImage from then on.
    use_shm: bool,
    ticker: Ticker,
    mapped: bool,
    /// No frames before this time: the application repaints after a (re)direct.
    settled_at: Duration,
    /// The Damage object watching the window, where the server has the extension.
    damage: Option<damage::Damage>,
    /// The window was drawn since the last read (always true without Damage).
    dirty: bool,
    /// An XFixes region the damage is moved into, to learn which rows were drawn (`None`: every
    /// read is of the whole window).
    drawn_region: Option<xfixes::Region>,
    /// The shared segment holds the whole pixmap as of the last read, so reading the drawn rows
    /// alone brings it up to date.
    segment_whole: bool,
    /// The last picture read with a plain GetImage (no MIT-SHM).
    image: Vec<u8>,
}

/// How long an application gets to repaint its window after we redirect it or it is resized or
/// mapped (an Expose round trip; applications answer in milliseconds). A heuristic: the Damage
/// extension would tell exactly.
const REPAINT_GRACE: Duration = Duration::from_millis(250);

impl std::fmt::Debug for X11Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11Source")
            .field("window", &format_args!("{:#x}", self.window))
            .field("size", &self.size)
            .field("shm", &self.use_shm)
            .finish()
    }
}

impl X11Source {
    /// Opens the window named by `title` (exact, then substring) or `id` on `$DISPLAY`, and
    /// redirects it so covered parts are captured too. Frames come at `fps` on `clock`.
    pub fn open(title: Option<&str>, id: Option<u64>, fps: u32, clock: Clock) -> Result<X11Source> {
        let (conn, screen) = connect()?;
        let setup = conn.setup();
        if setup.image_byte_order != ImageOrder::LSB_FIRST {
            return Err(Error::source(
                "X11: only little-endian (LSBFirst) image byte order is supported",
            ));
        }
        let root = setup.roots[screen].root;
        reply("Composite", conn.composite_query_version(0, 4)).map_err(|_| {
                Error::source(
                    "the X server has no Composite extension, needed to capture covered windows; enable it (Xvfb: +extension Composite)",
                )
            })?;
        let window = find(&conn, root, title, id)?;
        let watch = ChangeWindowAttributesAux::new().event_mask(EventMask::STRUCTURE_NOTIFY);
        check("watch the window", conn.change_window_attributes(window, &watch))?;
        check(
            "redirect the window",
            conn.composite_redirect_window(window, composite::Redirect::AUTOMATIC),
        )?;
        let use_shm =
            reply("MIT-SHM", conn.shm_query_version()).is_ok_and(|v| (v.major_version, v.minor_version) >= (1, 2));
        let damage = watch_damage(&conn, window)?;
        let drawn_region = damage.and_then(|_| new_region(&conn));
        let mut source = X11Source {
            conn,
            window,
            pixmap: None,
            size: (0, 0),
            shared: None,
            use_shm,
            ticker: Ticker::new(clock, fps),
            mapped: true,
            settled_at: Duration::ZERO,
            damage,
            dirty: true,
            drawn_region,
            segment_whole: false,
            image: Vec::new(),
        };
        source.rename_pixmap()?;
        Ok(source)
    }

    /// Reads the window's current picture now, outside the frame schedule (snapshots,
    /// benchmarks); `None` while it is unmapped or repainting.
    pub fn capture_now(&mut self, pictures: &mut PictureMaker) -> Result<Option<Picture>> {
        self.drain_events()?;
        let timestamp = self.ticker.clock().now();
        self.grab(timestamp, 0..self.size.1)
            .map(|(frame, _)| pictures.make(&frame))
            .transpose()
    }

    /// Reads with MIT-SHM (`true`, the default where the server offers it) or plain GetImage.
    pub fn use_shared_memory(&mut self, on: bool) {
        self.use_shm = on;
        self.segment_whole = false; // not kept up to date while GetImage is used
    }

    /// Names the window's current composite pixmap (after open, a resize or a map).
    fn rename_pixmap(&mut self) -> Result<()> {
        if let Some(old) = self.pixmap.take() {
            let _ = self.conn.free_pixmap(old);
        }
        let attributes = self
            .conn
            .get_window_attributes(self.window)
            .map_err(|e| source_error("read the window", e))?
            .reply();
        let Ok(attributes) = attributes else {
            return Ok(()); // destroyed: the DestroyNotify ends the source
        };
        self.mapped = attributes.map_state == MapState::VIEWABLE;
        if !self.mapped {
            return Ok(());
        }
        let geometry = reply("read the window size", self.conn.get_geometry(self.window))?;
        if geometry.depth != 24 && geometry.depth != 32 {
            return Err(Error::source(format!(
                "X11: the window has depth {}; only 24- and 32-bit windows are supported",
                geometry.depth
            )));
        }
        let pixmap = self.conn.generate_id().map_err(|e| source_error("allocate an id", e))?;
        if check(
            "name the window pixmap",
            self.conn.composite_name_window_pixmap(self.window, pixmap),
        )
        .is_err()
        {
            self.mapped = false; // unmapped in between
            return Ok(());
        }
        self.pixmap = Some(pixmap);
        self.size = (geometry.width.into(), geometry.height.into());
        self.dirty = true;
        self.segment_whole = false;
        // A freshly redirected window's pixmap starts as a copy of the screen, covering windows
        // included: ask the application to repaint all of it (an Expose event) so covered parts
        // hold its own content.
        // Until it has had time to, the pixmap may show the covering windows: no frames.
        let _ = self.conn.clear_area(true, self.window, 0, 0, 0, 0);
        let _ = self.conn.flush();
        self.settled_at = self.ticker.clock().now() + REPAINT_GRACE;
        Ok(())
    }

    /// Handles the window's pending events; `Some(reason)` once it is gone.
    fn drain_events(&mut self) -> Result<Option<String>> {
        let mut rename = false;
        while let Some(event) = self
            .conn
            .poll_for_event()
            .map_err(|e| source_error("connection to the X server lost", e))?
        {
            match event {
                Event::DestroyNotify(e) if e.window == self.window => {
                    return Ok(Some("the captured window was closed".into()));
                }
                Event::UnmapNotify(e) if e.window == self.window => {
                    self.mapped = false;
                    rename = false;
                }
                Event::MapNotify(e) if e.window == self.window => rename = true,
                Event::DamageNotify(e) if Some(e.damage) == self.damage => self.dirty = true,
                Event::ConfigureNotify(e)
                    if e.window == self.window && (u32::from(e.width), u32::from(e.height)) != self.size =>
                {
                    rename = true
                }
                _ => {}
            }
        }
        if rename {
            self.rename_pixmap()?;
        }
        Ok(None)
    }

    /// Reads the pixmap's rows `drawn`, or all of them where the rest is not at hand (alpha is
    /// left as the server sends it: conversion ignores it). Returns the frame and the rows that
    /// may differ from the previous read; `None` when it cannot be read now.
    fn grab(&mut self, timestamp: Duration, drawn: Range<u32>) -> Option<(Frame<'_>, Range<u32>)> {
        let pixmap = self.pixmap?;
        let (width, height) = self.size;
        let len = width as usize * height as usize * 4;
        let shm_read = if self.use_shm {
            self.read_shm(pixmap, len, drawn)
        } else {
            None
        };
        let (data, read) = match shm_read {
            Some(read) => (&self.shared.as_ref()?.map[..len], read),
            None => {
                let image = (self.conn).get_image(ImageFormat::Z_PIXMAP, pixmap, 0, 0, width as u16, height as u16, !0);
                self.image = reply("read the window", image).ok()?.data;
                (self.image.get(..len)?, 0..height)
            }
        };
        let frame = Frame {
            width,
            height,
            stride: width as usize * 4,
            data,
            timestamp,
        };
        Some((frame, read))
    }

    /// Has the server write the pixmap's rows `drawn` into the shared segment, or all of them
    /// where the segment does not hold the rest; returns the rows read, `None` if it could not.
    fn read_shm(&mut self, pixmap: u32, len: usize, drawn: Range<u32>) -> Option<Range<u32>> {
        if self.shared.as_ref().is_none_or(|s| s.map.len() < len) {
            if let Some(old) = self.shared.take() {
                old.free(&self.conn);
            }
            self.segment_whole = false;
            self.shared = SharedImage::new(&self.conn, len);
            if self.shared.is_none() {
                self.use_shm = false; // e.g. a remote display: GetImage from now on
                return None;
            }
        }
        let shared = self.shared.as_ref()?;
        let (width, height) = self.size;
        let rows = if self.segment_whole { drawn } else { 0..height };
        if rows.is_empty() {
            return Some(rows);
        }
        let format = ImageFormat::Z_PIXMAP.into();
        let (top, count, offset) = (rows.start as i16, rows.len() as u16, rows.start * width * 4);
        let request =
            (self.conn).shm_get_image(pixmap, 0, top, width as u16, count, !0, format, shared.segment, offset);
        self.segment_whole = reply("read the window (MIT-SHM)", request).is_ok();
        self.segment_whole.then_some(rows)
    }

    /// Empties the damage region; returns the rows it covered (all of them where XFixes is
    /// missing or the region cannot be read).
    fn take_damage(&mut self, damage: damage::Damage) -> Result<Range<u32>> {
        let all = 0..self.size.1;
        let into = self.drawn_region.unwrap_or(x11rb::NONE);
        check("reset the damage", self.conn.damage_subtract(damage, x11rb::NONE, into))?;
        let Some(region) = self
            .drawn_region
            .and_then(|r| reply("read the damage", self.conn.xfixes_fetch_region(r)).ok())
        else {
            return Ok(all);
        };
        let area = region.extents;
        let clamp = |y: i32| y.clamp(0, all.end as i32) as u32;
        Ok(clamp(area.y.into())..clamp(i32::from(area.y) + i32::from(area.height)))
    }
}

impl FrameSource for X11Source {
    fn size_hint(&self) -> Option<(u32, u32)> {
        (self.size != (0, 0)).then_some(self.size)
    }

    fn next_event(&mut self, timeout: Duration, pictures: &mut PictureMaker) -> Result<SourceEvent> {
        if let Some(reason) = self.drain_events()? {
            return Ok(SourceEvent::Ended(reason));
        }
        let Some(index) = self.ticker.wait(timeout) else {
            return Ok(SourceEvent::Idle);
        };
        // Again after the wait: damage reported meanwhile belongs to this frame.
        if let Some(reason) = self.drain_events()? {
            return Ok(SourceEvent::Ended(reason));
        }
        if !self.mapped {
            return Ok(SourceEvent::Hidden);
        }
        if self.ticker.clock().now() < self.settled_at {
            return Ok(SourceEvent::Idle); // the application is still repainting
        }
        let mut drawn = 0..self.size.1;
        if let Some(damage) = self.damage {
            if !self.dirty {
                return Ok(SourceEvent::Unchanged(self.ticker.timestamp(index)));
            }
            // Mark everything repaired before reading: drawing from now on notifies again.
            drawn = self.take_damage(damage)?;
            self.dirty = false;
        }
        match self.grab(self.ticker.timestamp(index), drawn) {
            Some((frame, drawn)) => Ok(SourceEvent::Picture(pictures.make_changed(&frame, drawn)?)),
            // Unmapped or resized between the event and the read: the next events tell.
            None => Ok(SourceEvent::Idle),
        }
    }

    fn now(&self) -> Option<Duration> {
        Some(self.ticker.clock().now())
    }
}

/// A Damage object reporting when `window` is drawn (one event each time its damaged region goes
/// from empty to not); `None` where the server lacks the extension (every tick is read then).
fn watch_damage(conn: &RustConnection, window: Window) -> Result<Option<damage::Damage>> {
    if reply("Damage", conn.damage_query_version(1, 1)).is_err() {
        return Ok(None);
    }
    let id = conn.generate_id().map_err(|e| source_error("allocate an id", e))?;
    check(
        "watch the window for drawing",
        conn.damage_create(id, window, damage::ReportLevel::NON_EMPTY),
    )?;
    Ok(Some(id))
}

/// An XFixes region to move the damage into (XFixes 2 or later), if the server has one.
fn new_region(conn: &RustConnection) -> Option<xfixes::Region> {
    let version = reply("XFixes", conn.xfixes_query_version(5, 0)).ok()?;
    let region = conn.generate_id().ok().filter(|_| version.major_version >= 2)?;
    check("make a region", conn.xfixes_create_region(region, &[])).ok()?;
    Some(region)
}

impl Drop for X11Source {
    fn drop(&mut self) {
        if let Some(damage) = self.damage.take() {
            let _ = self.conn.damage_destroy(damage);
        }
        if let Some(region) = self.drawn_region.take() {
            let _ = self.conn.xfixes_destroy_region(region);
        }
        if let Some(shared) = self.shared.take() {
            shared.free(&self.conn);
        }
        if let Some(pixmap) = self.pixmap.take() {
            let _ = self.conn.free_pixmap(pixmap);
        }
        let _ = self
            .conn
            .composite_unredirect_window(self.window, composite::Redirect::AUTOMATIC);
        let _ = self.conn.flush();
    }
}
