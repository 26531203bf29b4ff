//! Letter-boxing: a frame whose size differs from the recording's is scaled to fit, centred, and
//! converted straight into that area of the picture's planes, with black borders around it.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{I420Buffer, BLACK};
use crate::capture::Frame;
use crate::error::{Error, Result};

/// The largest rectangle of a `src` aspect ratio that fits in `dst`, centred: (x, y, w, h).
fn fit_rect(src: (u32, u32), dst: (u32, u32)) -> (u32, u32, u32, u32) {
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

/// [`fit_rect`] on the 2x2 grid I420's chroma needs: even position and size, at least 2x2.
fn fit_area(src: (u32, u32), dst: (u32, u32)) -> (u32, u32, u32, u32) {
    let (_, _, w, h) = fit_rect(src, dst);
    let (w, h) = ((w & !1).max(2), (h & !1).max(2));
    (((dst.0 - w) / 2) & !1, ((dst.1 - h) / 2) & !1, w, h)
}

/// The scaler and its output, kept between frames.
#[derive(Default)]
pub(super) struct Letterbox {
    resizer: Resizer,
    /// The scaled frame, BGRA, tight rows.
    scaled: Vec<u8>,
    /// A copy of a frame with padded rows (the scaler takes tight rows only).
    tight: Vec<u8>,
}

impl std::fmt::Debug for Letterbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letterbox").finish_non_exhaustive()
    }
}

impl Letterbox {
    /// Draws `frame` into `target`: scaled to fit, centred, black around it.
    pub(super) fn draw(&mut self, frame: &Frame<'_>, target: &mut I420Buffer) -> Result<()> {
        let area = fit_area((frame.width, frame.height), (target.width, target.height));
        let (_, _, w, h) = area;
        let row = frame.width as usize * 4;
        let source = if frame.stride == row {
            &frame.data[..row * frame.height as usize]
        } else {
            self.tight.clear();
            (0..frame.height).for_each(|y| self.tight.extend_from_slice(frame.row(y)));
            &self.tight[..]
        };
        self.scaled.resize(w as usize * h as usize * 4, 0);
        let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("scaling a frame: {e}"));
        let src = ImageRef::new(frame.width, frame.height, source, PixelType::U8x4).map_err(|e| fail(&e))?;
        let mut dst = Image::from_slice_u8(w, h, &mut self.scaled, PixelType::U8x4).map_err(|e| fail(&e))?;
        // Captured alpha means nothing (X11 leaves it 0): never let it darken the colours.
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
            .use_alpha(false);
        self.resizer.resize(&src, &mut dst, &options).map_err(|e| fail(&e))?;
        fill_black_around(target, area);
        target.convert_into(area, &self.scaled, w as usize * 4)
    }
}

/// Paints everything outside `area` black (the planes may hold an older picture).
fn fill_black_around(target: &mut I420Buffer, (x, y, w, h): (u32, u32, u32, u32)) {
    let planes = [
        (&mut target.y, target.width as usize, 1, BLACK.0),
        (&mut target.u, target.width as usize / 2, 2, BLACK.1),
        (&mut target.v, target.width as usize / 2, 2, BLACK.2),
    ];
    for (plane, stride, scale, black) in planes {
        let (x, y, w, h) = (
            x as usize / scale,
            y as usize / scale,
            w as usize / scale,
            h as usize / scale,
        );
        for (r, row) in plane.chunks_exact_mut(stride).enumerate() {
            if r < y || r >= y + h {
                row.fill(black);
            } else {
                row[..x].fill(black);
                row[x + w..].fill(black);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_rect_letterboxes_and_pillarboxes() {
        assert_eq!(fit_rect((1920, 1080), (1280, 720)), (0, 0, 1280, 720));
        assert_eq!(fit_rect((1000, 1000), (1280, 720)), (280, 0, 720, 720));
        assert_eq!(fit_rect((1280, 360), (1280, 720)), (0, 180, 1280, 360));
        assert_eq!(fit_rect((1, 1000), (64, 64)), (31, 0, 1, 64));
    }

    #[test]
    fn areas_sit_on_the_chroma_grid() {
        assert_eq!(fit_area((1, 1000), (64, 64)), (30, 0, 2, 64));
        assert_eq!(fit_area((33, 17), (64, 64)), (0, 16, 64, 32));
        assert_eq!(fit_area((1600, 900), (1920, 1080)), (0, 0, 1920, 1080));
    }
}
