//! A BGRX picture in memory and the few drawing operations the lecture needs. Everything is
//! clipped to the canvas, and every operation paints the same pixels whatever was there before,
//! so drawing the same things in the same order always gives the same picture.

/// A rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Rect {
    pub fn new(x: usize, y: usize, width: usize, height: usize) -> Rect {
        Rect { x, y, width, height }
    }

    /// The smallest rectangle holding both.
    pub fn union(self, other: Rect) -> Rect {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        let right = (self.x + self.width).max(other.x + other.width);
        let bottom = (self.y + self.height).max(other.y + other.height);
        Rect::new(x, y, right - x, bottom - y)
    }

    /// The part inside `bounds` (possibly empty).
    pub fn clip(self, bounds: Rect) -> Rect {
        let (x, y) = (self.x.max(bounds.x), self.y.max(bounds.y));
        let right = (self.x + self.width).min(bounds.x + bounds.width).max(x);
        let bottom = (self.y + self.height).min(bounds.y + bounds.height).max(y);
        Rect::new(x, y, right - x, bottom - y)
    }
}

/// Pixels as B, G, R, 255 bytes, rows top to bottom: what a 24-bit X server takes in a Z-pixmap
/// PutImage, and BGRA for FFmpeg.
#[derive(Clone)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

fn bgra(rgb: u32) -> [u8; 4] {
    [rgb as u8, (rgb >> 8) as u8, (rgb >> 16) as u8, 255]
}

impl Canvas {
    pub fn new(width: usize, height: usize, rgb: u32) -> Canvas {
        Canvas {
            width,
            height,
            pixels: bgra(rgb).repeat(width * height),
        }
    }

    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    pub fn fill(&mut self, rect: Rect, rgb: u32) {
        let rect = rect.clip(self.bounds());
        let pixel = bgra(rgb);
        for y in rect.y..rect.y + rect.height {
            let row = (y * self.width + rect.x) * 4;
            for px in self.pixels[row..row + rect.width * 4].chunks_exact_mut(4) {
                px.copy_from_slice(&pixel);
            }
        }
    }

    /// A frame `thickness` pixels thick just inside `rect`.
    pub fn outline(&mut self, rect: Rect, thickness: usize, rgb: u32) {
        let Rect { x, y, width, height } = rect;
        let t = thickness.min(width / 2).min(height / 2);
        self.fill(Rect::new(x, y, width, t), rgb);
        self.fill(Rect::new(x, y + height - t, width, t), rgb);
        self.fill(Rect::new(x, y, t, height), rgb);
        self.fill(Rect::new(x + width - t, y, t, height), rgb);
    }

    /// Copies `rect` from `source` (of the same size) to the same place here.
    pub fn copy_from(&mut self, source: &Canvas, rect: Rect) {
        self.blit(source, rect, rect.x, rect.y);
    }

    /// Copies `from` of `source` to (`x`, `y`) here.
    pub fn blit(&mut self, source: &Canvas, from: Rect, x: usize, y: usize) {
        let from = from.clip(source.bounds());
        let to = Rect::new(x, y, from.width, from.height).clip(self.bounds());
        for row in 0..to.height {
            let src = ((from.y + row) * source.width + from.x) * 4;
            let dst = ((to.y + row) * self.width + to.x) * 4;
            self.pixels[dst..dst + to.width * 4].copy_from_slice(&source.pixels[src..src + to.width * 4]);
        }
    }

    /// The pixels of `rect`, rows packed one after the other (borrowed when they already are).
    pub fn rows_of(&self, rect: Rect) -> std::borrow::Cow<'_, [u8]> {
        if rect.x == 0 && rect.width == self.width {
            return self.pixels[rect.y * self.width * 4..(rect.y + rect.height) * self.width * 4].into();
        }
        let mut out = Vec::with_capacity(rect.width * rect.height * 4);
        for y in rect.y..rect.y + rect.height {
            let start = (y * self.width + rect.x) * 4;
            out.extend_from_slice(&self.pixels[start..start + rect.width * 4]);
        }
        out.into()
    }

    /// A round pen stroke from `from` to `to`, `radius` pixels wide each side; returns what it
    /// touched.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), radius: f32, rgb: u32) -> Rect {
        let steps = ((to.0 - from.0).hypot(to.1 - from.1) * 2.0).ceil().max(1.0) as usize;
        let mut touched: Option<Rect> = None;
        for step in 0..=steps {
            let f = step as f32 / steps as f32;
            let dot = self.dot(from.0 + (to.0 - from.0) * f, from.1 + (to.1 - from.1) * f, radius, rgb);
            touched = Some(touched.map_or(dot, |t| t.union(dot)));
        }
        touched.unwrap_or(Rect::new(0, 0, 0, 0))
    }

    /// A filled disc (the pen's tip) centred on pixel coordinates (`cx`, `cy`).
    fn dot(&mut self, cx: f32, cy: f32, radius: f32, rgb: u32) -> Rect {
        let r = radius.ceil() as isize;
        let (px, py) = (cx.round() as isize, cy.round() as isize);
        for dy in -r..=r {
            for dx in -r..=r {
                if ((dx * dx + dy * dy) as f32) <= radius * radius {
                    self.put(px + dx, py + dy, rgb);
                }
            }
        }
        let (x, y) = ((px - r).max(0) as usize, (py - r).max(0) as usize);
        Rect::new(x, y, (2 * r + 1) as usize, (2 * r + 1) as usize).clip(self.bounds())
    }

    pub fn put(&mut self, x: isize, y: isize, rgb: u32) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let at = (y as usize * self.width + x as usize) * 4;
            self.pixels[at..at + 4].copy_from_slice(&bgra(rgb));
        }
    }
}
