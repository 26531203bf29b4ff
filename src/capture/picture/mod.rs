//! Pictures: what the capture side hands the encoder. A source's BGRA is converted to I420 at the
//! recording's output size where it lies (X11's shared memory, the host's buffer, a mapped file),
//! by a [`PictureMaker`], so a frame is never copied on its way to the encoder, and what travels
//! between threads is 1.5 bytes per pixel instead of 4.

mod letterbox;
mod maker;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use yuv::{BufferStoreMut, YuvPlanarImageMut};

pub use maker::PictureMaker;

use super::Frame;
use crate::error::{Error, Result};

/// Black in BT.709 limited range: Y 16, U and V 128.
const BLACK: (u8, u8, u8) = (16, 128, 128);

/// A borrowed I420 picture: Y, U, V planes, their strides, and the size.
#[derive(Clone, Copy, Debug)]
pub struct I420<'a> {
    /// Y, U and V planes.
    pub planes: (&'a [u8], &'a [u8], &'a [u8]),
    /// Bytes per row of each plane.
    pub strides: (usize, usize, usize),
    /// Width and height in pixels.
    pub size: (u32, u32),
}

/// The planes of one I420 picture of an even size: Y at full size, U and V at half size, rows
/// without padding.
#[derive(Debug)]
pub struct I420Buffer {
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl I420Buffer {
    /// A black picture of `width` x `height` (both even).
    pub fn black(width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        I420Buffer {
            width,
            height,
            y: vec![BLACK.0; w * h],
            u: vec![BLACK.1; w * h / 4],
            v: vec![BLACK.2; w * h / 4],
        }
    }

    /// The picture, borrowed.
    pub fn view(&self) -> I420<'_> {
        let chroma = self.width as usize / 2;
        I420 {
            planes: (&self.y, &self.u, &self.v),
            strides: (self.width as usize, chroma, chroma),
            size: (self.width, self.height),
        }
    }

    /// The `w` x `h` area at (`x`, `y`) (all even) as a target for the yuv crate's conversions.
    fn area_mut(&mut self, (x, y, w, h): (u32, u32, u32, u32)) -> YuvPlanarImageMut<'_, u8> {
        let (stride, chroma) = (self.width as usize, self.width as usize / 2);
        let luma_start = y as usize * stride + x as usize;
        let luma_end = (y + h - 1) as usize * stride + (x + w) as usize;
        let chroma_start = y as usize / 2 * chroma + x as usize / 2;
        let chroma_end = ((y + h) / 2 - 1) as usize * chroma + (x + w) as usize / 2;
        YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(&mut self.y[luma_start..luma_end]),
            y_stride: stride as u32,
            u_plane: BufferStoreMut::Borrowed(&mut self.u[chroma_start..chroma_end]),
            u_stride: chroma as u32,
            v_plane: BufferStoreMut::Borrowed(&mut self.v[chroma_start..chroma_end]),
            v_stride: chroma as u32,
            width: w,
            height: h,
        }
    }

    /// Converts `bgra` (`stride` bytes per row; alpha is ignored) into the `w` x `h` area at
    /// (`x`, `y`), all even: BT.709, limited range, what players assume for HD.
    fn convert_into(&mut self, area: (u32, u32, u32, u32), bgra: &[u8], stride: usize) -> Result<()> {
        yuv::bgra_to_yuv420(
            &mut self.area_mut(area),
            bgra,
            stride as u32,
            yuv::YuvRange::Limited,
            yuv::YuvStandardMatrix::Bt709,
            yuv::YuvConversionMode::Balanced,
        )
        .map_err(|e| Error::Internal(format!("BGRA to I420 conversion: {e}")))
    }

    /// Copies rows `from..to` (even) of `other`, a picture of the same size.
    fn copy_rows(&mut self, other: &I420Buffer, from: u32, to: u32) {
        let (w, c) = (self.width as usize, self.width as usize / 2);
        let (from, to) = (from as usize, to as usize);
        self.y[from * w..to * w].copy_from_slice(&other.y[from * w..to * w]);
        let chroma = from / 2 * c..to / 2 * c;
        self.u[chroma.clone()].copy_from_slice(&other.u[chroma.clone()]);
        self.v[chroma.clone()].copy_from_slice(&other.v[chroma]);
    }
}

/// An I420 picture at the recording's output size, with its time on the recording's timeline.
/// Cheap to clone: the planes are shared, and never change while shared.
#[derive(Clone, Debug)]
pub struct Picture {
    pixels: Arc<I420Buffer>,
    /// Time since the recording started.
    pub timestamp: Duration,
}

impl Picture {
    /// The planes, borrowed.
    pub fn i420(&self) -> I420<'_> {
        self.pixels.view()
    }

    /// True when `other` is the very same planes: a [`PictureMaker`] hands out the planes of its
    /// last picture again when a frame shows nothing new, so this is how the encoder knows that
    /// nothing changed (exactly, not by a hash).
    pub fn same_pixels(&self, other: &Picture) -> bool {
        Arc::ptr_eq(&self.pixels, &other.pixels)
    }
}

/// A [`PictureMaker`] for sources whose frames arrive on a thread of their own (pushed by the
/// host, Windows' capture thread): they convert there, where the BGRA lies. It exists once the
/// recording's size is known ([`super::FrameSource::set_output_size`]). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct SharedPictureMaker {
    maker: Arc<Mutex<Option<PictureMaker>>>,
}

impl SharedPictureMaker {
    /// Makes pictures of `width` x `height` from now on.
    pub fn set_output_size(&self, width: u32, height: u32) {
        let mut maker = self.maker.lock().unwrap_or_else(PoisonError::into_inner);
        *maker = Some(PictureMaker::new(width, height));
    }

    /// Converts `frame` (see [`PictureMaker::make`]).
    pub fn make(&self, frame: &Frame<'_>) -> Result<Picture> {
        let mut maker = self.maker.lock().unwrap_or_else(PoisonError::into_inner);
        match maker.as_mut() {
            Some(maker) => maker.make(frame),
            None => Err(Error::Internal(
                "a frame came before the recording's size was set".into(),
            )),
        }
    }
}

#[cfg(test)]
impl Picture {
    /// A 2x2 picture of luma `shade`, for tests.
    pub(crate) fn solid(shade: u8, timestamp: Duration) -> Picture {
        let mut pixels = I420Buffer::black(2, 2);
        pixels.y.fill(shade);
        Picture {
            pixels: Arc::new(pixels),
            timestamp,
        }
    }
}
