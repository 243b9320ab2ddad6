//! What an upload becomes: its type checked by its bytes, its size checked
//! before any pixel is decoded, its metadata (EXIF with GPS, XMP, IPTC,
//! comments) removed, and narrower WebP copies made for `srcset`.
//!
//! The original is kept without re-compressing where that is possible
//! (JPEG, PNG and WebP lose only their metadata chunks; a GIF is rewritten
//! frame by frame with its own palettes, animation kept). A JPEG that
//! relies on EXIF to stand upright is the exception: its pixels are turned
//! and it is encoded again, since the tag that turned it is gone.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, imageops::FilterType, metadata::Orientation};
use img_parts::{Bytes, ImageEXIF};

use crate::domain::media::{ImageKind, VARIANT_WIDTHS};

/// What an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Width × height; beyond it an image is refused before decoding (a
    /// small file can claim a huge canvas: a decompression bomb).
    pub max_pixels: u64,
}

/// Why an upload was refused: the uploader's to fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("That file is not a JPEG, PNG, WebP or GIF image (its contents say so, whatever its name).")]
    NotAnImage,
    #[error("That image is {width}×{height} pixels; the most this site takes is {max} pixels in all.")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("That image could not be read: {0}")]
    Unreadable(String),
}

/// An upload made ready to store.
pub struct Processed {
    pub kind: ImageKind,
    /// The file to keep as the original, without its metadata.
    pub original: Vec<u8>,
    /// As it shows (after any EXIF turn).
    pub width: u32,
    pub height: u32,
    /// Narrower WebP copies, narrowest first; none for a GIF (a still copy
    /// would stop its animation) or an image already narrow.
    pub variants: Vec<Resized>,
}

pub struct Resized {
    pub width: u32,
    pub height: u32,
    pub webp: Vec<u8>,
}

/// Checks, cleans and resizes `upload`. CPU-bound: run it off the server's
/// threads.
pub fn process(upload: &[u8], limits: UploadLimits) -> Result<Processed, Refused> {
    let kind = ImageKind::sniff(upload).ok_or(Refused::NotAnImage)?;
    let (width, height) = reader(upload, kind, limits)
        .into_dimensions()
        .map_err(unreadable)?;
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Refused::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    let mut decoder = reader(upload, kind, limits).into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut pixels = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    pixels.apply_orientation(orientation);
    let original = match (kind, orientation) {
        (ImageKind::Jpeg, Orientation::NoTransforms) => strip_jpeg(upload)?,
        (ImageKind::Jpeg, _) => encode_jpeg(&pixels)?,
        (ImageKind::Png, _) => strip_png(upload)?,
        (ImageKind::Webp, _) => strip_webp(upload)?,
        (ImageKind::Gif, _) => rewrite_gif(upload)?,
    };
    let variants = match kind {
        ImageKind::Gif => Vec::new(),
        _ => copies(&pixels),
    };
    Ok(Processed {
        kind,
        original,
        width: pixels.width(),
        height: pixels.height(),
        variants,
    })
}

/// A decoder for `kind` that refuses, while decoding, anything past the
/// limits (a header that lies about its size cannot make it allocate more).
fn reader(upload: &[u8], kind: ImageKind, limits: UploadLimits) -> ImageReader<Cursor<&[u8]>> {
    let format = match kind {
        ImageKind::Jpeg => image::ImageFormat::Jpeg,
        ImageKind::Png => image::ImageFormat::Png,
        ImageKind::Webp => image::ImageFormat::WebP,
        ImageKind::Gif => image::ImageFormat::Gif,
    };
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    let mut decoding = Limits::default();
    // Four bytes a pixel for the canvas, twice over for conversions.
    decoding.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(decoding);
    reader
}

fn unreadable(e: image::ImageError) -> Refused {
    match e {
        image::ImageError::Limits(_) => Refused::Unreadable("it is larger than this site takes".into()),
        other => Refused::Unreadable(other.to_string()),
    }
}

fn unreadable_parts(e: img_parts::Error) -> Refused {
    Refused::Unreadable(e.to_string())
}

/// JPEG segments kept: JFIF (APP0), the colour profile (APP2) and Adobe's
/// colour transform (APP14); every other application segment (EXIF and XMP
/// in APP1, IPTC in APP13…) and comments go.
fn strip_jpeg(upload: &[u8]) -> Result<Vec<u8>, Refused> {
    const APP0: u8 = 0xE0;
    const APP2: u8 = 0xE2;
    const APP14: u8 = 0xEE;
    const COMMENT: u8 = 0xFE;
    let mut jpeg =
        img_parts::jpeg::Jpeg::from_bytes(Bytes::copy_from_slice(upload)).map_err(unreadable_parts)?;
    jpeg.segments_mut().retain(|segment| {
        let marker = segment.marker();
        let kept_application = [APP0, APP2, APP14].contains(&marker);
        let application = (0xE0..=0xEF).contains(&marker);
        (kept_application || !application) && marker != COMMENT
    });
    Ok(jpeg.encoder().bytes().to_vec())
}

/// PNG chunks with text, time or EXIF go; pixels, palette and colour chunks
/// stay.
fn strip_png(upload: &[u8]) -> Result<Vec<u8>, Refused> {
    let mut png =
        img_parts::png::Png::from_bytes(Bytes::copy_from_slice(upload)).map_err(unreadable_parts)?;
    png.chunks_mut()
        .retain(|chunk| !matches!(&chunk.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"));
    Ok(png.encoder().bytes().to_vec())
}

/// WebP's EXIF and XMP chunks go (the header's flags follow).
fn strip_webp(upload: &[u8]) -> Result<Vec<u8>, Refused> {
    let mut webp =
        img_parts::webp::WebP::from_bytes(Bytes::copy_from_slice(upload)).map_err(unreadable_parts)?;
    webp.remove_chunks_by_id(*b"XMP ");
    webp.set_exif(None);
    Ok(webp.encoder().bytes().to_vec())
}

/// A GIF written again from its frames and palettes, as they were: what
/// extensions carried (comments, XMP in application blocks) is left out;
/// the loop count stays.
fn rewrite_gif(upload: &[u8]) -> Result<Vec<u8>, Refused> {
    let gif_error = |e: &dyn std::fmt::Display| Refused::Unreadable(e.to_string());
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(upload).map_err(|e| gif_error(&e))?;
    let (width, height) = (decoder.width(), decoder.height());
    let palette = decoder.global_palette().unwrap_or_default().to_vec();
    let repeat = decoder.repeat();
    let mut out = Vec::with_capacity(upload.len());
    {
        let mut encoder = gif::Encoder::new(&mut out, width, height, &palette).map_err(|e| gif_error(&e))?;
        encoder.set_repeat(repeat).map_err(|e| gif_error(&e))?;
        while let Some(frame) = decoder.read_next_frame().map_err(|e| gif_error(&e))? {
            encoder.write_frame(frame).map_err(|e| gif_error(&e))?;
        }
    }
    Ok(out)
}

fn encode_jpeg(pixels: &DynamicImage) -> Result<Vec<u8>, Refused> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    pixels
        .to_rgb8()
        .write_with_encoder(encoder)
        .map_err(|e| Refused::Unreadable(e.to_string()))?;
    Ok(out)
}

/// A WebP copy at each width narrower than the image. A copy WebP cannot
/// hold (taller than 16,383 px: a very long strip) is not made; the
/// original still shows.
fn copies(pixels: &DynamicImage) -> Vec<Resized> {
    const WEBP_MAX_SIDE: u64 = 16_383;
    let has_alpha = pixels.color().has_alpha();
    VARIANT_WIDTHS
        .into_iter()
        .filter(|&width| width < pixels.width())
        .filter_map(|width| {
            let height = ((u64::from(pixels.height()) * u64::from(width)) / u64::from(pixels.width())).max(1);
            if height > WEBP_MAX_SIDE {
                return None;
            }
            let height = height as u32;
            let resized = pixels.resize_exact(width, height, FilterType::CatmullRom);
            let encoded = if has_alpha {
                let rgba = resized.to_rgba8();
                webp::Encoder::from_rgba(&rgba, width, height).encode_simple(false, 80.0)
            } else {
                let rgb = resized.to_rgb8();
                webp::Encoder::from_rgb(&rgb, width, height).encode_simple(false, 80.0)
            };
            // `encode` would panic on an encoder error; without the copy the
            // original still shows.
            let webp = encoded.ok()?.to_vec();
            Some(Resized { width, height, webp })
        })
        .collect()
}
