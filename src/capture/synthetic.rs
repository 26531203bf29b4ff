//! A deterministic classroom scene: a slide with text and shapes, a moving pointer, a page flip
//! every few seconds and a small region playing "video". Frame `i` is always the same picture, so
//! benchmarks and tests can regenerate the exact input.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::pacer::Ticker;
use super::{Clock, Frame, FrameSource, PictureMaker, SourceEvent};

/// Seconds between page flips in the classroom scene.
pub const PAGE_SECONDS: u64 = 5;

/// Which picture the synthetic source draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntheticScene {
    /// Slide with text and shapes, moving pointer, page flip every 5 s, a small video region.
    #[default]
    Classroom,
    /// One slide that never changes (the cheapest case: almost nothing should be encoded).
    StillSlide,
    /// The slide panning sideways every frame under moving film grain: full-frame motion with
    /// camera-like noise, the encoder's worst case.
    FullMotion,
    /// A "clapper" for sync tests: white for the first 100 ms of every whole second, black
    /// otherwise; the synthetic sound's clapper beeps at the same instants.
    Clapper,
}

/// Generates [`SyntheticScene`] frames, in real time or as fast as possible.
#[derive(Debug)]
pub struct SyntheticSource {
    width: u32,
    height: u32,
    fps: u32,
    scene: SyntheticScene,
    /// `None`: as fast as possible (virtual time); `Some`: in real time on this schedule.
    ticker: Option<Ticker>,
    limit: Option<u64>,
    index: u64,
    page: Option<(u64, Vec<u8>)>,
    /// Noise texture for the full-motion scene (a window of it moves every frame).
    grain: Vec<u8>,
    /// The frame last drawn.
    frame: Vec<u8>,
}

impl SyntheticSource {
    /// A source of `width` x `height` frames at `fps`. With `clock`, frames come in real time;
    /// without, as fast as the consumer takes them. `limit` ends the source after that many frames.
    pub fn new(
        width: u32,
        height: u32,
        fps: u32,
        scene: SyntheticScene,
        clock: Option<Clock>,
        limit: Option<u64>,
    ) -> Self {
        SyntheticSource {
            width,
            height,
            fps: fps.max(1),
            scene,
            ticker: clock.map(|clock| Ticker::new(clock, fps)),
            limit,
            index: 0,
            page: None,
            grain: Vec::new(),
            frame: Vec::new(),
        }
    }

    fn timestamp(&self, index: u64) -> Duration {
        Duration::from_nanos(index * 1_000_000_000 / u64::from(self.fps))
    }

    /// Draws frame `index` (BGRA, no stride padding).
    pub fn render(&mut self, index: u64) -> &[u8] {
        let mut data = std::mem::take(&mut self.frame);
        data.resize(self.width as usize * self.height as usize * 4, 0);
        if self.scene == SyntheticScene::Clapper {
            data.fill(if clapper_flash(self.timestamp(index)) { 0xFF } else { 0 });
            data.chunks_exact_mut(4).for_each(|px| px[3] = 0xFF);
            self.frame = data;
            return &self.frame;
        }
        let page_no = match self.scene {
            SyntheticScene::StillSlide => 0,
            _ => index / u64::from(self.fps) / PAGE_SECONDS,
        };
        if self.page.as_ref().map(|(n, _)| *n) != Some(page_no) {
            self.page = Some((page_no, draw_page(self.width, self.height, page_no)));
        }
        let page = &self.page.as_ref().expect("page drawn above").1;
        let mut canvas = Canvas {
            width: self.width,
            height: self.height,
            data,
        };
        match self.scene {
            SyntheticScene::FullMotion => pan(page, &mut canvas, index),
            _ => canvas.data.copy_from_slice(page),
        }
        if self.scene == SyntheticScene::FullMotion {
            add_grain(&mut canvas.data, &mut self.grain, index);
        }
        if self.scene != SyntheticScene::StillSlide {
            draw_video(&mut canvas, index);
            draw_pointer(&mut canvas, index);
        }
        self.frame = canvas.data;
        &self.frame
    }
}

impl FrameSource for SyntheticSource {
    fn size_hint(&self) -> Option<(u32, u32)> {
        Some((self.width, self.height))
    }

    fn next_event(&mut self, timeout: Duration, pictures: &mut PictureMaker) -> crate::Result<SourceEvent> {
        if self.limit.is_some_and(|limit| self.index >= limit) {
            return Ok(SourceEvent::Ended(format!(
                "synthetic scene finished after {} frames",
                self.index
            )));
        }
        let index = match &mut self.ticker {
            Some(ticker) => match ticker.wait(timeout) {
                Some(index) => index,
                None => return Ok(SourceEvent::Idle),
            },
            None => self.index,
        };
        self.index = index + 1;
        let (width, height, timestamp) = (self.width, self.height, self.timestamp(index));
        let picture = pictures.make(&Frame {
            width,
            height,
            stride: width as usize * 4,
            data: self.render(index),
            timestamp,
        })?;
        Ok(SourceEvent::Picture(picture))
    }

    fn now(&self) -> Option<Duration> {
        self.ticker.map(|t| t.clock().now())
    }
}

/// Whether the clapper shows white at `t`: during the first 100 ms of every whole second.
fn clapper_flash(t: Duration) -> bool {
    t.subsec_millis() < 100
}

/// A BGRA drawing surface.
struct Canvas {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Canvas {
    fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, bgra: [u8; 4]) {
        let (x0, x1) = (x0.clamp(0, self.width.into()), x1.clamp(0, self.width.into()));
        let (y0, y1) = (y0.clamp(0, self.height.into()), y1.clamp(0, self.height.into()));
        if x0 >= x1 {
            return;
        }
        for y in y0..y1 {
            let row = (y as usize * self.width as usize) * 4;
            for px in self.data[row + x0 as usize * 4..row + x1 as usize * 4].chunks_exact_mut(4) {
                px.copy_from_slice(&bgra);
            }
        }
    }

    fn fill_circle(&mut self, cx: i64, cy: i64, r: i64, bgra: [u8; 4]) {
        for dy in -r..=r {
            let half = ((r * r - dy * dy) as f64).sqrt() as i64;
            self.fill_rect(cx - half, cy + dy, cx + half + 1, cy + dy + 1, bgra);
        }
    }
}

/// A small deterministic pseudo-random generator (64-bit LCG), so pages are reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

fn draw_page(width: u32, height: u32, page_no: u64) -> Vec<u8> {
    let mut c = Canvas {
        width,
        height,
        data: [0xF0, 0xF4, 0xF6, 0xFF].repeat(width as usize * height as usize),
    };
    let mut rng = Lcg(page_no.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEECE66D);
    let (w, h) = (i64::from(width), i64::from(height));
    let accent = [
        (60 + rng.next(120)) as u8,
        (60 + rng.next(120)) as u8,
        (40 + rng.next(80)) as u8,
        0xFF,
    ];
    // Title bar with a white title.
    c.fill_rect(0, 0, w, h / 8, accent);
    let unit = (h / 54).max(2);
    let mut x = w / 20;
    for _ in 0..(3 + rng.next(4)) {
        let word = unit * (3 + rng.next(6) as i64);
        c.fill_rect(x, h / 16 - unit, x + word, h / 16 + unit, [0xFF; 4]);
        x += word + unit * 2;
    }
    // Body text: lines of dark "words" on the left two thirds.
    let mut y = h / 8 + unit * 3;
    while y < h * 7 / 10 {
        let mut x = w / 20 + if rng.next(3) == 0 { unit * 4 } else { 0 };
        let end = w * 6 / 10 - rng.next((w / 6) as u64) as i64;
        while x < end {
            let word = unit * (1 + rng.next(5) as i64);
            c.fill_rect(x, y, (x + word).min(end), y + unit * 2, [0x30, 0x30, 0x30, 0xFF]);
            x += word + unit;
        }
        y += unit * 4;
    }
    // Shapes: a box and a disc in the right column.
    let shape = [rng.next(200) as u8, rng.next(200) as u8, 200, 0xFF];
    c.fill_rect(w * 66 / 100, h / 5, w * 92 / 100, h * 2 / 5, shape);
    c.fill_circle(w * 72 / 100, h * 47 / 100, h / 14, [40, 160, rng.next(255) as u8, 0xFF]);
    c.data
}

/// The page shifted sideways by a few pixels per frame (wrapping), drawn on `c`: full-frame motion.
fn pan(page: &[u8], c: &mut Canvas, index: u64) {
    let row = c.width as usize * 4;
    let shift = (index as usize * 6 % c.width as usize) * 4;
    for (src, out) in page.chunks_exact(row).zip(c.data.chunks_exact_mut(row)) {
        out[..row - shift].copy_from_slice(&src[shift..]);
        out[row - shift..].copy_from_slice(&src[..shift]);
    }
}

/// Adds film grain: a noise texture (0..=23, drawn once) read from a different offset each frame.
fn add_grain(data: &mut [u8], grain: &mut Vec<u8>, index: u64) {
    if grain.len() != data.len() * 2 {
        let mut rng = Lcg(0x6A09_E667_F3BC_C908);
        *grain = (0..data.len() * 2).map(|_| rng.next(24) as u8).collect();
    }
    let offset = (index as usize * 40_961 * 4) % data.len();
    for (px, g) in data.iter_mut().zip(&grain[offset..]) {
        *px = px.saturating_sub(12).saturating_add(*g);
    }
}

/// The "video" region: moving colour bars and a bouncing ball in the lower right.
fn draw_video(c: &mut Canvas, index: u64) {
    let (w, h) = (i64::from(c.width), i64::from(c.height));
    let (x0, y0, x1, y1) = (w * 62 / 100, h * 56 / 100, w * 95 / 100, h * 92 / 100);
    let bar = ((x1 - x0) / 8).max(1);
    const BARS: [[u8; 4]; 8] = [
        [235, 235, 235, 255],
        [16, 235, 235, 255],
        [235, 235, 16, 255],
        [16, 235, 16, 255],
        [235, 16, 235, 255],
        [16, 16, 235, 255],
        [235, 16, 16, 255],
        [40, 40, 40, 255],
    ];
    let offset = index as i64 * 5;
    for k in -1..9 {
        let start = x0 + k * bar + offset % bar;
        let colour = BARS[((k - offset / bar).rem_euclid(8)) as usize];
        c.fill_rect(start.max(x0), y0, (start + bar).min(x1), y1, colour);
    }
    let t = index as f64 * 0.15;
    let (rw, rh) = ((x1 - x0) as f64, (y1 - y0) as f64);
    let r = (y1 - y0) / 8;
    let bx = x0 + r + ((t.sin() * 0.5 + 0.5) * (rw - 2.0 * r as f64)) as i64;
    let by = y0 + r + (((t * 1.7).cos() * 0.5 + 0.5) * (rh - 2.0 * r as f64)) as i64;
    c.fill_circle(bx, by, r, [30, 30, 220, 255]);
}

/// The teacher's pointer: a small arrow wandering across the slide.
fn draw_pointer(c: &mut Canvas, index: u64) {
    let (w, h) = (f64::from(c.width), f64::from(c.height));
    let t = index as f64;
    let x = (w * (0.5 + 0.4 * (t * 0.031).sin())) as i64;
    let y = (h * (0.5 + 0.35 * (t * 0.023).sin())) as i64;
    let size = (c.height / 30).max(6) as i64;
    for dy in 0..size {
        c.fill_rect(x, y + dy, x + dy / 2 + 1, y + dy + 1, [0, 0, 0, 0xFF]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_deterministic_and_change_as_described() {
        let mut a = SyntheticSource::new(320, 180, 15, SyntheticScene::Classroom, None, None);
        let mut b = SyntheticSource::new(320, 180, 15, SyntheticScene::Classroom, None, None);
        assert_eq!(a.render(7), b.render(7));
        let seven = a.render(7).to_vec();
        assert_ne!(seven, a.render(8), "pointer and video move every frame");
        let mut still = SyntheticSource::new(320, 180, 15, SyntheticScene::StillSlide, None, None);
        let first = still.render(0).to_vec();
        assert_eq!(first, still.render(1000));
    }

    #[test]
    fn clapper_flashes_white_for_100_ms_from_every_whole_second() {
        let mut s = SyntheticSource::new(8, 4, 30, SyntheticScene::Clapper, None, None);
        let white = [0xFF; 4].repeat(32);
        let black = [0, 0, 0, 0xFF].repeat(32);
        for (index, flash) in [(0, true), (2, true), (3, false), (29, false), (30, true), (33, false)] {
            assert_eq!(s.render(index), if flash { &white } else { &black }, "frame {index}");
        }
    }

    #[test]
    fn fast_mode_has_virtual_timestamps_and_a_limit() {
        let mut s = SyntheticSource::new(64, 64, 10, SyntheticScene::Classroom, None, Some(2));
        let (mut stamps, mut pictures) = (vec![], PictureMaker::new(64, 64));
        while let SourceEvent::Picture(p) = s.next_event(Duration::ZERO, &mut pictures).unwrap() {
            stamps.push(p.timestamp);
        }
        assert_eq!(stamps, vec![Duration::ZERO, Duration::from_millis(100)]);
    }
}
