//! A 2-minute lecture on a fixed script: six 1920x1080 slides (a new one every 17 to 23 s), a
//! pointer moving part of the time, handwriting and circles drawn with a pen, and 20 s of a small
//! embedded video (480x270, 24 fps). The picture is a function of the script's clock alone, so a
//! live run and an offline render (`--dump-raw`) show the same pixels at the same time.
//!
//! `advance` brings the picture to a tick and says which rectangles changed, as a whiteboard app
//! repaints only its dirty region. Layers, bottom up: the slide, the video (while it plays), the
//! ink of the slide so far (redrawn over each video frame), the pointer.

use std::ops::Range;

use super::canvas::{Canvas, Rect};
use super::slides::{self, Figure, Video, FIGURE};

pub const WIDTH: usize = 1920;
pub const HEIGHT: usize = 1080;
/// The script's clock: the picture changes at most this many times a second.
pub const TICKS_PER_SECOND: f64 = 60.0;

/// The tick `seconds` into the script (before it starts: its first picture).
pub fn tick_at(seconds: f64) -> u64 {
    (seconds * TICKS_PER_SECOND + 1e-6).floor().max(0.0) as u64
}

/// The tick `ticks` sixtieths of a second after second `seconds`.
const fn at(seconds: u64, ticks: u64) -> u64 {
    seconds * 60 + ticks
}

/// Each slide's first tick and its figure. After the first change, each change falls a quarter
/// of a 15 fps frame later within its second than the one before: together they tell where a
/// 15 fps recording's frames fall on the script's clock (see benches/lecture.sh).
pub const SLIDES: [(u64, Figure); 6] = [
    (at(0, 0), Figure::Boxes),
    (at(17, 0), Figure::Chart),
    (at(35, 1), Figure::Video),
    (at(58, 2), Figure::Chart),
    (at(81, 3), Figure::Boxes),
    (at(104, 0), Figure::Boxes),
];
/// The video plays in the middle of slide 2's figure.
const VIDEO: Rect = Rect {
    x: FIGURE.x + 140,
    y: FIGURE.y + 215,
    width: 480,
    height: 270,
};
const VIDEO_TICKS: Range<u64> = at(37, 0)..at(57, 0);
const VIDEO_FPS: u64 = 24;
const PEN: [u32; 2] = [0xd0202a, 0x1848c0];

fn slide_at(tick: u64) -> usize {
    SLIDES.iter().rposition(|&(start, _)| start <= tick).unwrap_or(0)
}

fn video_frame_at(tick: u64) -> Option<u64> {
    VIDEO_TICKS
        .contains(&tick)
        .then(|| (tick - VIDEO_TICKS.start) * VIDEO_FPS / TICKS_PER_SECOND as u64)
}

/// One pen-down movement: a point per tick from `start`.
struct Stroke {
    start: u64,
    points: Vec<(f32, f32)>,
    rgb: u32,
}

impl Stroke {
    /// The tick after its last point.
    fn end(&self) -> u64 {
        self.start + self.points.len() as u64
    }

    /// How many of its points are down at `tick`.
    fn points_at(&self, tick: u64) -> usize {
        tick.checked_sub(self.start)
            .map_or(0, |since| (since as usize + 1).min(self.points.len()))
    }
}

/// Words of cursive-like loops (a prolate cycloid, each letter of its own height) from `at`,
/// the pen lifted for a fifth of a second between words.
fn handwriting(start: u64, at: (f32, f32), words: usize, seed: u64, rgb: u32) -> Vec<Stroke> {
    let mut random = slides::Random::new(seed);
    let (mut x, mut tick, mut strokes) = (at.0, start, Vec::new());
    for _ in 0..words {
        let letters = random.below(2..6);
        let heights: Vec<f32> = (0..=letters).map(|_| random.below(60..130) as f32 / 100.0).collect();
        let points: Vec<(f32, f32)> = (0..letters * 16)
            .map(|i| {
                let s = i as f32 / 16.0 * std::f32::consts::TAU;
                let (letter, within) = (i / 16, (i % 16) as f32 / 16.0);
                let height = heights[letter] + (heights[letter + 1] - heights[letter]) * within;
                let dx = 26.0 * s / std::f32::consts::TAU - 9.0 * s.sin();
                (x + dx, at.1 + 0.03 * (x + dx - at.0) - 18.0 * height * (1.0 + s.cos()))
            })
            .collect();
        let end = points.last().map_or(x, |p| p.0);
        let stroke = Stroke {
            start: tick,
            points,
            rgb,
        };
        (x, tick) = (end + 34.0, stroke.end() + 12);
        strokes.push(stroke);
    }
    strokes
}

/// A loose circle (1.15 turns in 1.2 s) around `center`.
fn circle(start: u64, center: (f32, f32), radius: f32, rgb: u32) -> Stroke {
    let points = (0..72)
        .map(|i| {
            let a = i as f32 / 72.0 * 1.15 * std::f32::consts::TAU - 2.0;
            let r = radius * (1.0 + 0.06 * (a * 3.0).sin());
            (center.0 + r * 1.3 * a.cos(), center.1 + r * a.sin())
        })
        .collect();
    Stroke { start, points, rgb }
}

/// Everything the pen writes, in time order (no two strokes at once).
fn ink() -> Vec<Stroke> {
    let tallest = |slide: usize| {
        let tops = slides::chart_tops(slide);
        tops.into_iter()
            .fold((0.0, f32::MAX), |best, top| if top.1 < best.1 { top } else { best })
    };
    let mut strokes = handwriting(at(6, 0), (140.0, 920.0), 4, 1, PEN[0]);
    let top = tallest(1);
    strokes.push(circle(at(20, 0), top, 60.0, PEN[0]));
    strokes.extend(handwriting(at(22, 0), (140.0, 920.0), 5, 2, PEN[1]));
    let top = tallest(3);
    strokes.push(circle(at(67, 0), top, 60.0, PEN[1]));
    strokes.extend(handwriting(at(69, 0), (140.0, 920.0), 5, 3, PEN[0]));
    strokes.extend(handwriting(at(85, 0), (140.0, 900.0), 7, 4, PEN[1]));
    strokes.extend(handwriting(at(113, 0), (140.0, 920.0), 4, 5, PEN[0]));
    strokes
}

/// A move of the pointer without the pen: its ticks and the waypoints it passes through.
type Move = (Range<u64>, Vec<(f32, f32)>);

/// The pointer's moves.
fn pointer_moves() -> Vec<Move> {
    let lines = |y: f32| {
        vec![
            (300.0, y),
            (900.0, y),
            (300.0, y + 70.0),
            (800.0, y + 70.0),
            (400.0, y + 140.0),
        ]
    };
    vec![
        (at(2, 0)..at(5, 0), lines(240.0)),
        (
            at(35, 30)..at(37, 0),
            vec![(600.0, 500.0), (1300.0, 460.0), (1480.0, 520.0)],
        ),
        (at(60, 0)..at(66, 0), slides::chart_tops(3)),
        (at(106, 0)..at(112, 0), lines(250.0)),
    ]
}

/// The lecture's picture at the last tick it was advanced to.
pub struct Lecture {
    slide: Option<usize>,
    /// Every slide, painted before the lecture starts (as a presentation app does), so that a
    /// change costs only sending it.
    slide_pictures: Vec<Canvas>,
    /// Everything but the pointer.
    board: Canvas,
    screen: Canvas,
    video: Video,
    video_frame: Option<u64>,
    strokes: Vec<Stroke>,
    /// How many points of each stroke are on the board.
    drawn: Vec<usize>,
    moves: Vec<Move>,
    pointer: Option<(usize, usize)>,
}

impl Lecture {
    pub fn new() -> Lecture {
        let strokes = ink();
        let blank = Canvas::new(WIDTH, HEIGHT, 0);
        Lecture {
            slide: None,
            slide_pictures: (0..SLIDES.len())
                .map(|i| slides::slide(i, SLIDES[i].1, WIDTH, HEIGHT))
                .collect(),
            board: blank.clone(),
            screen: blank,
            video: Video::new(VIDEO.width, VIDEO.height),
            video_frame: None,
            drawn: vec![0; strokes.len()],
            strokes,
            moves: pointer_moves(),
            pointer: None,
        }
    }

    /// What is on screen.
    pub fn screen(&self) -> &Canvas {
        &self.screen
    }

    /// Brings the picture to `tick` (never earlier than the last one); returns what changed.
    pub fn advance(&mut self, tick: u64) -> Vec<Rect> {
        let mut dirty = Vec::new();
        let slide = slide_at(tick);
        if self.slide != Some(slide) {
            self.slide = Some(slide);
            self.board.copy_from(&self.slide_pictures[slide], self.board.bounds());
            self.drawn.fill(0);
            self.video_frame = None;
            dirty.push(self.board.bounds());
        }
        let frame = video_frame_at(tick);
        if frame != self.video_frame {
            match frame {
                Some(frame) => self.video.paint(&mut self.board, frame, (VIDEO.x, VIDEO.y)),
                None => self.board.copy_from(&self.slide_pictures[slide], VIDEO),
            }
            self.video_frame = frame;
            for i in 0..self.strokes.len() {
                self.draw_ink(i, 0, self.drawn[i]);
            }
            dirty.push(VIDEO);
        }
        for i in 0..self.strokes.len() {
            let down = self.strokes[i].points_at(tick);
            if slide_at(self.strokes[i].start) == slide && down > self.drawn[i] {
                dirty.extend(self.draw_ink(i, self.drawn[i], down));
                self.drawn[i] = down;
            }
        }
        let pointer = self.pointer_at(tick);
        if pointer != self.pointer {
            dirty.extend(self.pointer.into_iter().chain(pointer).map(slides::pointer_rect));
            self.pointer = pointer;
        }
        if dirty.contains(&self.board.bounds()) {
            dirty = vec![self.board.bounds()];
        }
        dirty = dirty.into_iter().map(|rect| rect.clip(self.board.bounds())).collect();
        for &rect in &dirty {
            self.screen.copy_from(&self.board, rect);
            if let Some(tip) = self.pointer {
                slides::paint_pointer(&mut self.screen, tip, rect);
            }
        }
        dirty
    }

    /// Draws points `from..to` of stroke `i` (each joined to the one before); returns what it touched.
    fn draw_ink(&mut self, i: usize, from: usize, to: usize) -> Option<Rect> {
        let stroke = &self.strokes[i];
        (from..to)
            .map(|j| {
                let (a, b) = (stroke.points[j.saturating_sub(1)], stroke.points[j]);
                self.board.line(a, b, 2.5, stroke.rgb)
            })
            .reduce(Rect::union)
    }

    /// The pointer's tip at `tick`: on the pen while it writes, else along a move, else hidden.
    fn pointer_at(&self, tick: u64) -> Option<(usize, usize)> {
        let writing = self.strokes.iter().find(|s| (s.start..s.end()).contains(&tick));
        let tip = match writing {
            Some(stroke) => stroke.points[stroke.points_at(tick) - 1],
            None => {
                let (ticks, path) = self.moves.iter().find(|(ticks, _)| ticks.contains(&tick))?;
                let along = (tick - ticks.start) as f32 / (ticks.end - ticks.start) as f32 * (path.len() - 1) as f32;
                let (leg, f) = (along.floor() as usize, along.fract());
                let eased = f * f * (3.0 - 2.0 * f);
                let (a, b) = (path[leg], path[(leg + 1).min(path.len() - 1)]);
                (a.0 + (b.0 - a.0) * eased, a.1 + (b.1 - a.1) * eased)
            }
        };
        Some((tip.0.max(0.0) as usize, tip.1.max(0.0) as usize))
    }
}
