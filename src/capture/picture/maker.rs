//! [`PictureMaker`]: BGRA frames → I420 pictures, reading each frame's pixels once.
//!
//! A frame is taken in strips of [`STRIP_ROWS`] rows. Each strip is hashed (xxh3-128), and compared
//! with the same strip of the previous frame: a strip that changed is converted right away, while
//! its bytes are still in the cache; one that did not is copied from the previous picture's planes
//! (3/8 of the bytes, already converted). A frame where nothing changed costs one hashing pass and
//! hands out the previous picture's planes again. A pointer moving over a slide converts a few
//! strips, not the whole frame.
//!
//! Planes are reused, and remember which strips they show: a strip they already show is left as
//! it is (neither copied nor converted), as with a compositor's buffer age. With the planes of two
//! pictures ago, only the strips that changed in the last two frames are written.

use std::ops::Range;
use std::sync::Arc;

use super::letterbox::Letterbox;
use super::{I420Buffer, Picture};
use crate::capture::Frame;
use crate::error::Result;

/// Rows per strip: 16 rows of 1080p BGRA are 120 KiB, which stay in the L2 cache between
/// hashing and converting.
const STRIP_ROWS: u32 = 16;

/// Planes kept for reuse: enough for the pictures in flight (the maker's last, the pacer's,
/// the capture queue's, the encoder's) and the one being made. More are made when needed and
/// freed once done with.
const POOL: usize = 6;

/// The previous frame: its picture and strip hashes, for a source of this size.
#[derive(Debug)]
struct Previous {
    pixels: Arc<I420Buffer>,
    source: (u32, u32),
    strips: Vec<u128>,
}

/// Planes kept for reuse, and the hashes of the strips they show when they were made from a frame
/// of the output size (not letter-boxed).
#[derive(Debug)]
struct Pooled {
    pixels: Arc<I420Buffer>,
    shows: Option<Vec<u128>>,
}

/// Turns BGRA frames of any size into I420 pictures of one output size (letter-boxed when the
/// sizes differ), reusing its planes; see the module docs.
#[derive(Debug)]
pub struct PictureMaker {
    size: (u32, u32),
    /// Planes handed out before; one that no picture holds any more is written again.
    pool: Vec<Pooled>,
    previous: Option<Previous>,
    letterbox: Letterbox,
}

impl PictureMaker {
    /// Pictures of `width` x `height` (both even, as the encoder needs).
    pub fn new(width: u32, height: u32) -> Self {
        PictureMaker {
            size: (width, height),
            pool: Vec::new(),
            previous: None,
            letterbox: Letterbox::default(),
        }
    }

    /// The picture `frame` shows, at the output size. If it shows exactly what the previous frame
    /// showed, that picture's planes are handed out again ([`Picture::same_pixels`]).
    pub fn make(&mut self, frame: &Frame<'_>) -> Result<Picture> {
        self.make_changed(frame, 0..frame.height)
    }

    /// As [`make`](Self::make), knowing that only the rows `changed` can differ from the previous
    /// frame (as a window system's damage region says): the strips outside them are not read.
    pub fn make_changed(&mut self, frame: &Frame<'_>, changed: Range<u32>) -> Result<Picture> {
        Frame::validate(frame.width, frame.height, frame.stride, frame.data.len())?;
        let source = (frame.width, frame.height);
        let strips = frame.height.div_ceil(STRIP_ROWS) as usize;
        let previous = self.previous.take().filter(|p| p.source == source);
        let same = |s: usize, hash: u128| previous.as_ref().is_some_and(|p| p.strips[s] == hash);
        let hash = |s: usize| {
            let (top, bottom) = strip_rows(s, frame.height);
            match &previous {
                Some(p) if bottom <= changed.start || top >= changed.end => p.strips[s],
                _ => hash_strip(frame, s),
            }
        };
        let mut hashes = Vec::with_capacity(strips);
        // Hash until the first strip that changed; nothing is written before one does.
        while hashes.len() < strips {
            let hash = hash(hashes.len());
            hashes.push(hash);
            if !same(hashes.len() - 1, hash) {
                break;
            }
        }
        let first_changed = hashes.len() - 1;
        if same(first_changed, hashes[first_changed]) {
            let previous = previous.expect("every strip matched the previous frame");
            let picture = Picture {
                pixels: previous.pixels.clone(),
                timestamp: frame.timestamp,
            };
            self.previous = Some(previous);
            return Ok(picture);
        }
        let Pooled { mut pixels, shows } = self.free_planes();
        let target = Arc::get_mut(&mut pixels).expect("free planes are held nowhere else");
        let direct = source == self.size;
        if direct {
            let unchanged = previous.as_ref().map(|p| &*p.pixels);
            for s in 0..strips {
                if s == hashes.len() {
                    hashes.push(hash(s));
                }
                if shows.as_ref().is_some_and(|shown| shown[s] == hashes[s]) {
                    continue; // these planes show this strip already
                }
                let (top, bottom) = strip_rows(s, frame.height);
                match unchanged {
                    Some(unchanged) if same(s, hashes[s]) => target.copy_rows(unchanged, top, bottom),
                    _ => {
                        let start = top as usize * frame.stride;
                        let area = (0, top, frame.width, bottom - top);
                        target.convert_into(area, &frame.data[start..], frame.stride)?;
                    }
                }
            }
        } else {
            hashes.extend((first_changed + 1..strips).map(hash));
            self.letterbox.draw(frame, target)?;
        }
        if self.pool.len() < POOL {
            let shows = direct.then(|| hashes.clone());
            self.pool.push(Pooled {
                pixels: pixels.clone(),
                shows,
            });
        }
        self.previous = Some(Previous {
            pixels: pixels.clone(),
            source,
            strips: hashes,
        });
        Ok(Picture {
            pixels,
            timestamp: frame.timestamp,
        })
    }

    /// Planes no picture holds any more, from the pool, or new ones.
    fn free_planes(&mut self) -> Pooled {
        if let Some(at) = self.pool.iter().position(|p| Arc::strong_count(&p.pixels) == 1) {
            return self.pool.swap_remove(at); // back in the pool once written (`make`)
        }
        Pooled {
            pixels: Arc::new(I420Buffer::black(self.size.0, self.size.1)),
            shows: None,
        }
    }
}

/// The rows of strip `s` of a picture `height` rows high: (first, one past the last).
fn strip_rows(s: usize, height: u32) -> (u32, u32) {
    let top = s as u32 * STRIP_ROWS;
    (top, (top + STRIP_ROWS).min(height))
}

/// The xxh3-128 hash of strip `s`'s visible pixels (stride padding excluded).
fn hash_strip(frame: &Frame<'_>, s: usize) -> u128 {
    let (top, bottom) = strip_rows(s, frame.height);
    let visible = frame.width as usize * 4;
    if frame.stride == visible {
        let start = top as usize * visible;
        return xxhash_rust::xxh3::xxh3_128(&frame.data[start..start + (bottom - top) as usize * visible]);
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    (top..bottom).for_each(|y| hasher.update(frame.row(y)));
    hasher.digest128()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `h` rows of `stride` bytes of deterministic noise: a BGRA picture.
    fn noise(h: u32, stride: usize, seed: u32) -> Vec<u8> {
        let mut state = seed.wrapping_mul(2_654_435_761) | 1;
        (0..stride * h as usize)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect()
    }

    fn frame(data: &[u8], w: u32, h: u32, stride: usize, ms: u64) -> Frame<'_> {
        Frame {
            width: w,
            height: h,
            stride,
            data,
            timestamp: Duration::from_millis(ms),
        }
    }

    fn planes(p: &Picture) -> Vec<u8> {
        let (y, u, v) = p.i420().planes;
        [y, u, v].concat()
    }

    #[test]
    fn a_partly_changed_frame_equals_a_full_conversion_and_an_unchanged_one_shares_planes() {
        let (w, h) = (64, 70); // 5 strips, the last one 6 rows
        let a = noise(h, w as usize * 4, 1);
        let mut b = a.clone();
        b[(40 * w as usize + 10) * 4] ^= 0xFF; // one pixel in strip 2
        let mut maker = PictureMaker::new(w, h);
        let first = maker.make(&frame(&a, w, h, w as usize * 4, 0)).unwrap();
        let second = maker.make(&frame(&b, w, h, w as usize * 4, 66)).unwrap();
        let full = PictureMaker::new(w, h)
            .make(&frame(&b, w, h, w as usize * 4, 66))
            .unwrap();
        assert!(!second.same_pixels(&first));
        assert_eq!(planes(&second), planes(&full), "copied strips plus converted ones");
        assert_ne!(planes(&second), planes(&first));
        let again = maker.make(&frame(&b, w, h, w as usize * 4, 132)).unwrap();
        assert!(again.same_pixels(&second), "nothing changed: the same planes");
        assert_eq!(again.timestamp, Duration::from_millis(132));
    }

    #[test]
    fn only_the_changed_rows_are_read() {
        let (w, h) = (64, 80); // 5 strips
        let row = w as usize * 4;
        let a = noise(h, row, 5);
        let mut b = a.clone();
        b[(20 * w as usize + 1) * 4] ^= 0xFF; // strip 1, inside the changed rows
        let mut decoy = b.clone();
        decoy[(70 * w as usize + 2) * 4] ^= 0xFF; // strip 4, outside them: must not be read
        let mut maker = PictureMaker::new(w, h);
        let first = maker.make(&frame(&a, w, h, row, 0)).unwrap();
        let second = maker.make_changed(&frame(&decoy, w, h, row, 66), 18..21).unwrap();
        let expected = PictureMaker::new(w, h).make(&frame(&b, w, h, row, 66)).unwrap();
        assert_eq!(planes(&second), planes(&expected), "strip 1 converted, the rest kept");
        let third = maker.make_changed(&frame(&decoy, w, h, row, 132), 0..0).unwrap();
        assert!(third.same_pixels(&second), "no rows changed: the same planes");
        let after_resize = PictureMaker::new(w, h).make_changed(&frame(&a, w, h, row, 0), 0..0);
        assert_eq!(
            planes(&after_resize.unwrap()),
            planes(&first),
            "without a previous frame every row is read"
        );
    }

    #[test]
    fn planes_of_an_older_picture_are_brought_up_to_date() {
        let (w, h) = (64, 80); // 5 strips
        let row = w as usize * 4;
        let a = noise(h, row, 3);
        let mut b = a.clone();
        b[(40 * w as usize + 3) * 4] ^= 0xFF; // strip 2
        let mut c = b.clone();
        c[(70 * w as usize + 9) * 4] ^= 0xFF; // strip 4
        let mut maker = PictureMaker::new(w, h);
        let first = maker.make(&frame(&a, w, h, row, 0)).unwrap();
        let first_planes = first.i420().planes.0.as_ptr();
        drop(first);
        drop(maker.make(&frame(&b, w, h, row, 66)).unwrap());
        // The first picture's planes are free again: they show a, two frames ago.
        let third = maker.make(&frame(&c, w, h, row, 132)).unwrap();
        assert_eq!(
            third.i420().planes.0.as_ptr(),
            first_planes,
            "the older planes were reused"
        );
        let full = PictureMaker::new(w, h).make(&frame(&c, w, h, row, 132)).unwrap();
        assert_eq!(
            planes(&third),
            planes(&full),
            "strip 2 copied, strip 4 converted, the rest kept"
        );
    }

    #[test]
    fn stride_padding_is_neither_hashed_nor_converted() {
        let (w, h) = (32, 20);
        let tight = noise(h, w as usize * 4, 7);
        let stride = w as usize * 4 + 12;
        let mut padded = vec![0xAB; stride * h as usize];
        for (row, src) in padded.chunks_mut(stride).zip(tight.chunks(w as usize * 4)) {
            row[..src.len()].copy_from_slice(src);
        }
        let mut maker = PictureMaker::new(w, h);
        let from_tight = maker.make(&frame(&tight, w, h, w as usize * 4, 0)).unwrap();
        let from_padded = maker.make(&frame(&padded, w, h, stride, 0)).unwrap();
        assert!(from_padded.same_pixels(&from_tight));
        padded[stride - 1] = 0; // padding only
        assert!(maker
            .make(&frame(&padded, w, h, stride, 0))
            .unwrap()
            .same_pixels(&from_tight));
    }

    #[test]
    fn planes_are_reused_once_no_picture_holds_them() {
        let (w, h) = (16, 16);
        let mut maker = PictureMaker::new(w, h);
        let mut seen = Vec::new();
        for i in 0..20 {
            let pixels = noise(h, w as usize * 4, i);
            let picture = maker.make(&frame(&pixels, w, h, w as usize * 4, 0)).unwrap();
            seen.push(picture.i420().planes.0.as_ptr());
        }
        seen.sort();
        seen.dedup();
        assert!(seen.len() <= 2, "{} different planes for 20 pictures", seen.len());
        let held: Vec<Picture> = (100..110)
            .map(|i| {
                maker
                    .make(&frame(&noise(h, w as usize * 4, i), w, h, w as usize * 4, 0))
                    .unwrap()
            })
            .collect();
        assert_eq!(maker.pool.len(), POOL, "held pictures beyond the pool are not kept");
        drop(held);
    }

    #[test]
    fn other_sizes_are_letterboxed_with_black_borders_whatever_the_planes_held() {
        let mut maker = PictureMaker::new(64, 64);
        let white = vec![0xFF; 33 * 17 * 4];
        let picture = maker.make(&frame(&white, 33, 17, 33 * 4, 0)).unwrap();
        let (y, stride) = (picture.i420().planes.0, picture.i420().strides.0);
        assert_eq!((y[0], y[10 * stride + 32]), (16, 16), "top border black");
        assert_eq!(y[32 * stride + 32], 235, "centre white");
        drop(picture);
        // A tall frame next, drawn into the same planes: the old picture must not show.
        let tall = vec![0xFF; 8 * 64 * 4];
        let picture = maker.make(&frame(&tall, 8, 64, 8 * 4, 0)).unwrap();
        let (y, stride) = (picture.i420().planes.0, picture.i420().strides.0);
        assert_eq!(
            (y[32 * stride + 2], y[32 * stride + 60]),
            (16, 16),
            "side borders black"
        );
        assert_eq!(y[32 * stride + 32], 235, "centre white");
    }
}
