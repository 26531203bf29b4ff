//! Getting a captured frame into the encoder's picture: letter-box it into the fixed output size
//! (when its size differs), then convert BGRA to I420 (BT.709, limited range).

use fast_image_resize::images::{CroppedImageMut, Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use yuv::{YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

use crate::capture::Frame;
use crate::error::{Error, Result};

/// The largest rectangle of a `src` aspect ratio that fits in `dst`, centred: (x, y, w, h).
pub(crate) fn fit_rect(src: (u32, u32), dst: (u32, u32)) -> (u32, u32, u32, u32) {
    let (sw, sh) = (u64::from(src.0), u64::from(src.1));
    let (dw, dh) = (u64::from(dst.0), u64::from(dst.1));
    // Compare sw/sh with dw/dh without floating point.
    let (w, h) = if sw * dh >= sh * dw {
        (dw, (sh * dw + sw / 2) / sw)
    } else {
        ((sw * dh + sh / 2) / sh, dh)
    };
    let (w, h) = (w.clamp(1, dw) as u32, h.clamp(1, dh) as u32);
    ((dst.0 - w) / 2, (dst.1 - h) / 2, w, h)
}

/// Holds the output-sized buffers and turns frames into I420 pictures.
pub struct PictureMaker {
    width: u32,
    height: u32,
    /// Output-sized BGRA canvas for frames of another size (black borders).
    canvas: Vec<u8>,
    /// The source size the canvas borders were last drawn for.
    canvas_for: Option<(u32, u32)>,
    resizer: Resizer,
    yuv: YuvPlanarImageMut<'static, u8>,
}

impl PictureMaker {
    /// Buffers for `width` x `height` output (both even).
    pub fn new(width: u32, height: u32) -> Self {
        PictureMaker {
            width,
            height,
            canvas: Vec::new(),
            canvas_for: None,
            resizer: Resizer::new(),
            yuv: YuvPlanarImageMut::alloc(width, height, yuv::YuvChromaSubsampling::Yuv420),
        }
    }

    /// Converts `frame` into the I420 picture, letter-boxing it if its size differs.
    pub fn make(&mut self, frame: &Frame) -> Result<()> {
        if (frame.width, frame.height) == (self.width, self.height) {
            return convert(&mut self.yuv, &frame.data, frame.stride);
        }
        self.letterbox(frame)?;
        let stride = self.width as usize * 4;
        convert(&mut self.yuv, &self.canvas, stride)
    }

    fn letterbox(&mut self, frame: &Frame) -> Result<()> {
        let src_size = (frame.width, frame.height);
        let (x, y, w, h) = fit_rect(src_size, (self.width, self.height));
        if self.canvas_for != Some(src_size) {
            // New source size: clear to black (opaque) so old content never shows in the borders.
            self.canvas.clear();
            self.canvas
                .extend(std::iter::repeat_n([0u8, 0, 0, 0xFF], (self.width * self.height) as usize).flatten());
            self.canvas_for = Some(src_size);
        }
        let tight;
        let src_bytes = if frame.stride == frame.width as usize * 4 {
            &frame.data[..]
        } else {
            tight = (0..frame.height)
                .flat_map(|r| frame.row(r).iter().copied())
                .collect::<Vec<u8>>();
            &tight[..]
        };
        let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("scaling a frame: {e}"));
        let src = ImageRef::new(frame.width, frame.height, src_bytes, PixelType::U8x4).map_err(|e| fail(&e))?;
        let mut dst =
            Image::from_slice_u8(self.width, self.height, &mut self.canvas, PixelType::U8x4).map_err(|e| fail(&e))?;
        let mut area = CroppedImageMut::new(&mut dst, x, y, w, h).map_err(|e| fail(&e))?;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        self.resizer.resize(&src, &mut area, &options).map_err(|e| fail(&e))
    }

    /// The current I420 picture.
    pub fn picture(&self) -> I420<'_> {
        let y = &self.yuv;
        I420 {
            planes: (y.y_plane.borrow(), y.u_plane.borrow(), y.v_plane.borrow()),
            strides: (y.y_stride as usize, y.u_stride as usize, y.v_stride as usize),
            size: (self.width, self.height),
        }
    }
}

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

/// BGRA (`stride` bytes per row) to I420, BT.709 limited range: what players assume for HD.
pub(crate) fn convert(yuv: &mut YuvPlanarImageMut<'_, u8>, bgra: &[u8], stride: usize) -> Result<()> {
    yuv::bgra_to_yuv420(
        yuv,
        bgra,
        stride as u32,
        YuvRange::Limited,
        YuvStandardMatrix::Bt709,
        YuvConversionMode::Balanced,
    )
    .map_err(|e| Error::Internal(format!("BGRA to I420 conversion: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fit_rect_letterboxes_and_pillarboxes() {
        assert_eq!(fit_rect((1920, 1080), (1280, 720)), (0, 0, 1280, 720));
        assert_eq!(fit_rect((1000, 1000), (1280, 720)), (280, 0, 720, 720));
        assert_eq!(fit_rect((1280, 360), (1280, 720)), (0, 180, 1280, 360));
        assert_eq!(fit_rect((1, 1000), (64, 64)), (31, 0, 1, 64));
    }

    #[test]
    fn odd_frame_is_letterboxed_with_black_borders() {
        let mut maker = PictureMaker::new(64, 64);
        let white = Frame {
            width: 33,
            height: 17,
            stride: 33 * 4,
            data: vec![0xFF; 33 * 17 * 4],
            timestamp: Duration::ZERO,
        };
        maker.make(&white).unwrap();
        let picture = maker.picture();
        let (y, ys) = (picture.planes.0, picture.strides.0);
        assert!(y[0] <= 17, "top border is black, got {}", y[0]);
        assert!(y[32 * ys + 32] >= 234, "centre is white, got {}", y[32 * ys + 32]);
    }
}
