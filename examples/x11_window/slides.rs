//! What the lecture shows, painted from a slide number or a frame number alone: the slides
//! (blocky pseudo-text, boxes, a bar chart), the embedded video's frames and the pointer's arrow.

use super::canvas::{Canvas, Rect};

const PAPER: u32 = 0xf7f6f0;
const INK: u32 = 0x23262b;
const ACCENTS: [u32; 6] = [0x2b5797, 0x1e7145, 0xb91d47, 0xe3a21a, 0x603cba, 0x00aba9];
/// The right half of a slide, where its figure goes (the video plays inside it on its slide).
pub const FIGURE: Rect = Rect {
    x: 1080,
    y: 200,
    width: 760,
    height: 700,
};

/// A small deterministic generator (SplitMix64), so that every run draws the same slides.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    /// A number in `range`.
    pub fn below(&mut self, range: std::ops::Range<usize>) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        range.start + ((z ^ (z >> 31)) % (range.end - range.start) as u64) as usize
    }
}

/// What fills a slide's right half.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Boxes,
    /// An empty frame the embedded video plays in.
    Video,
    Chart,
}

/// Slide `index` as a whole picture: a title bar, bullet lines and its figure.
pub fn slide(index: usize, figure: Figure, width: usize, height: usize) -> Canvas {
    let mut canvas = Canvas::new(width, height, PAPER);
    let mut random = Random::new(index as u64 + 1);
    let accent = ACCENTS[index % ACCENTS.len()];
    canvas.fill(Rect::new(0, 0, width, 140), accent);
    text_line(&mut canvas, &mut random, (80, 40), 1100, 7, 0xffffff);
    for line in 0..random.below(6..10) {
        let y = 210 + line * 70;
        canvas.fill(Rect::new(90, y + 8, 14, 14), accent);
        let width = random.below(500..880);
        text_line(&mut canvas, &mut random, (130, y), width, 4, INK);
    }
    match figure {
        Figure::Boxes => boxes(&mut canvas, &mut random, accent),
        Figure::Video => canvas.outline(FIGURE, 3, INK),
        Figure::Chart => chart(&mut canvas, &mut random, index),
    }
    canvas.fill(Rect::new(0, height - 50, width, 2), accent);
    text_line(&mut canvas, &mut random, (80, height - 38), 300, 3, 0x777777);
    canvas
}

/// Words of blocky glyphs (5x7 cells of `scale` pixels) from `at` until `width` is used.
fn text_line(canvas: &mut Canvas, random: &mut Random, at: (usize, usize), width: usize, scale: usize, rgb: u32) {
    let mut x = at.0;
    loop {
        let letters = random.below(2..9);
        if x + letters * 6 * scale > at.0 + width {
            return;
        }
        for _ in 0..letters {
            glyph(canvas, random.below(0..26), (x, at.1), scale, rgb);
            x += 6 * scale;
        }
        x += 4 * scale;
    }
}

/// One of 26 made-up letters, each two or three strokes out of seven (stems, bars, an ascender).
fn glyph(canvas: &mut Canvas, letter: usize, at: (usize, usize), scale: usize, rgb: u32) {
    // (column, row, columns wide, rows high) in cells of a 5x7 box; rows 0-1 are ascender space.
    const STROKES: [(usize, usize, usize, usize); 7] = [
        (0, 2, 1, 5),
        (4, 2, 1, 5),
        (0, 2, 5, 1),
        (0, 4, 5, 1),
        (0, 6, 5, 1),
        (0, 0, 1, 7),
        (2, 2, 1, 5),
    ];
    let mut random = Random::new(letter as u64 * 7919);
    for _ in 0..2 + letter % 2 {
        let (cx, cy, w, h) = STROKES[random.below(0..STROKES.len())];
        canvas.fill(
            Rect::new(at.0 + cx * scale, at.1 + cy * scale, w * scale, h * scale),
            rgb,
        );
    }
}

/// Three to four labelled boxes joined by arrows' shafts.
fn boxes(canvas: &mut Canvas, random: &mut Random, accent: u32) {
    let count = random.below(3..5);
    let step = FIGURE.height / count;
    for i in 0..count {
        let x = FIGURE.x + random.below(0..260);
        let rect = Rect::new(x, FIGURE.y + i * step, 440, step - 60);
        canvas.fill(rect, 0xffffff);
        canvas.outline(rect, 4, accent);
        text_line(canvas, random, (rect.x + 30, rect.y + 30), 380, 3, INK);
        if i + 1 < count {
            let from = ((x + 220) as f32, (rect.y + rect.height) as f32);
            canvas.line(from, (from.0, from.1 + 60.0), 2.0, INK);
        }
    }
}

/// A bar chart with grid lines and labels.
fn chart(canvas: &mut Canvas, random: &mut Random, index: usize) {
    let base = FIGURE.y + FIGURE.height - 80;
    for level in 0..6 {
        canvas.fill(Rect::new(FIGURE.x + 60, base - level * 100, 680, 1), 0xc8c8c8);
    }
    canvas.fill(Rect::new(FIGURE.x + 60, FIGURE.y, 3, base - FIGURE.y), INK);
    canvas.fill(Rect::new(FIGURE.x + 60, base, 680, 3), INK);
    for (bar, slot) in chart_bars(index).into_iter().zip(0..) {
        canvas.fill(bar, ACCENTS[slot % ACCENTS.len()]);
        text_line(canvas, random, (bar.x, base + 20), 80, 2, INK);
    }
}

/// The six bars of slide `index`'s chart (their own random draws, so the pointer can find them).
fn chart_bars(index: usize) -> Vec<Rect> {
    let mut random = Random::new(index as u64 * 31 + 7);
    let base = FIGURE.y + FIGURE.height - 80;
    (0..6)
        .map(|i| {
            let height = random.below(120..520);
            Rect::new(FIGURE.x + 100 + i * 108, base - height, 70, height)
        })
        .collect()
}

/// The embedded video: a camera panning over a textured landscape with a ball bouncing across,
/// as frame `frame` of a clip, at `width` x `height`.
pub struct Video {
    landscape: Canvas,
    width: usize,
    height: usize,
}

impl Video {
    pub fn new(width: usize, height: usize) -> Video {
        let mut landscape = Canvas::new(width * 3, height * 2, 0);
        let mut grain = Random::new(99);
        for y in 0..landscape.height {
            for x in 0..landscape.width {
                let (fx, fy) = (x as f32, y as f32);
                let hill = ((fx * 0.011).sin() * 60.0 + (fx * 0.037).cos() * 25.0 + fy * 0.9) as i32;
                let noise = grain.below(0..40) as i32;
                let (r, g, b) = if hill < 260 {
                    (90 + noise, 150 + noise, 230) // sky
                } else {
                    let stripe = ((fx * 0.09 + fy * 0.05).sin() * 30.0) as i32;
                    (60 + stripe + noise, 120 + stripe / 2 + noise, 40 + noise)
                };
                landscape.put(x as isize, y as isize, rgb(r, g, b));
            }
        }
        Video {
            landscape,
            width,
            height,
        }
    }

    /// Paints frame `frame` with its top left corner at `at`.
    pub fn paint(&self, canvas: &mut Canvas, frame: u64, at: (usize, usize)) {
        let pan = (frame as usize * 5) % (self.landscape.width - self.width);
        let tilt = (((frame as f32) * 0.04).sin() * 0.5 + 0.5) * (self.landscape.height - self.height) as f32;
        canvas.blit(
            &self.landscape,
            Rect::new(pan, tilt as usize, self.width, self.height),
            at.0,
            at.1,
        );
        // A ball on a parabola, bouncing every 40 frames, crossing the picture every 160.
        let across = (frame % 160) as f32 / 160.0;
        let hop = (frame % 40) as f32 / 40.0;
        let x = at.0 as f32 + 40.0 + across * (self.width as f32 - 80.0);
        let y = at.1 as f32 + self.height as f32 - 40.0 - 4.0 * hop * (1.0 - hop) * (self.height as f32 - 90.0);
        canvas.line((x, y), (x, y), 28.0, 0xe8412c);
    }
}

fn rgb(r: i32, g: i32, b: i32) -> u32 {
    let c = |v: i32| v.clamp(0, 255) as u32;
    c(r) << 16 | c(g) << 8 | c(b)
}

/// The pointer's arrow: `#` black, `.` white, its tip (the hot spot) at the top left.
const ARROW: [&str; 17] = [
    "#",
    "##",
    "#.#",
    "#..#",
    "#...#",
    "#....#",
    "#.....#",
    "#......#",
    "#.......#",
    "#........#",
    "#.....####",
    "#..#..#",
    "#.# #..#",
    "##  #..#",
    "#    #..#",
    "     #..#",
    "      ##",
];

/// Where the arrow with its tip at `tip` covers.
pub fn pointer_rect(tip: (usize, usize)) -> Rect {
    Rect::new(tip.0, tip.1, 11, ARROW.len())
}

/// Draws the arrow with its tip at `tip`, only inside `clip`.
pub fn paint_pointer(canvas: &mut Canvas, tip: (usize, usize), clip: Rect) {
    for (dy, row) in ARROW.iter().enumerate() {
        for (dx, c) in row.bytes().enumerate() {
            let (x, y) = (tip.0 + dx, tip.1 + dy);
            let inside = x >= clip.x && y >= clip.y && x < clip.x + clip.width && y < clip.y + clip.height;
            if inside && c != b' ' {
                canvas.put(x as isize, y as isize, if c == b'#' { 0 } else { 0xffffff });
            }
        }
    }
}

/// The tops of slide `index`'s chart bars, where the pointer goes.
pub fn chart_tops(index: usize) -> Vec<(f32, f32)> {
    chart_bars(index)
        .iter()
        .map(|bar| ((bar.x + bar.width / 2) as f32, bar.y as f32))
        .collect()
}
