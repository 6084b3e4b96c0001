//! Re-encoding pictures before they leave the device, so that EXIF data (GPS position,
//! camera, time) never does: the browser decodes the file (`createImageBitmap`, which also
//! applies its orientation) and draws it on an `OffscreenCanvas`, whose encoder writes pixels
//! only. GIFs are kept as they are, so their animation survives (GIF has no EXIF block).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, ImageBitmap, ImageEncodeOptions, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d, WorkerGlobalScope,
};

/// A picture ready to send.
pub struct Picture {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// Their MIME type.
    pub content_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The image types re-encoded before sending (and the encoder used for each).
fn output_type(content_type: &str) -> Option<&'static str> {
    match content_type {
        "image/jpeg" | "image/jpg" => Some("image/jpeg"),
        "image/png" => Some("image/png"),
        "image/webp" => Some("image/webp"),
        _ => None,
    }
}

/// Whether `content_type` is a picture Umbra re-encodes (or, for GIF, sends unchanged).
pub fn is_picture(content_type: &str) -> bool {
    output_type(content_type).is_some() || content_type == "image/gif"
}

async fn bitmap(bytes: &[u8], content_type: &str) -> Result<ImageBitmap, JsValue> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let opts = BlobPropertyBag::new();
    opts.set_type(content_type);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &opts)?;
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let bmp = JsFuture::from(scope.create_image_bitmap_with_blob(&blob)?).await?;
    bmp.dyn_into()
}

/// Decodes and re-encodes a JPEG, PNG or WebP picture (pixels only, metadata gone); a GIF
/// is measured and kept. `Err` if the bytes are not a picture the browser decodes.
pub async fn prepare_picture(bytes: &[u8], content_type: &str) -> Result<Picture, JsValue> {
    let bmp = bitmap(bytes, content_type).await?;
    let (width, height) = (bmp.width(), bmp.height());
    let Some(out) = output_type(content_type) else {
        bmp.close();
        return Ok(Picture {
            bytes: bytes.to_vec(),
            content_type: content_type.to_owned(),
            width,
            height,
        });
    };
    let canvas = OffscreenCanvas::new(width, height)?;
    let ctx: OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()?;
    ctx.draw_image_with_image_bitmap(&bmp, 0.0, 0.0)?;
    bmp.close();
    let opts = ImageEncodeOptions::new();
    opts.set_type(out);
    opts.set_quality(0.9);
    let blob: Blob = JsFuture::from(canvas.convert_to_blob_with_options(&opts)?)
        .await?
        .dyn_into()?;
    let buf = JsFuture::from(blob.array_buffer()).await?;
    Ok(Picture {
        bytes: Uint8Array::new(&buf).to_vec(),
        content_type: blob.type_(),
        width,
        height,
    })
}

/// The MIME type the app uses for a recorded voice message before encoding: raw 16-bit
/// little-endian mono PCM (RFC 2586 `audio/L16`, with its sample rate).
pub const PCM_TYPE_PREFIX: &str = "audio/l16";

/// Bit rate of voice messages (mono speech; MPEG-1 Layer III at 32–48 kHz).
const VOICE_KBPS: u32 = 64;

/// The sample rate named in a `audio/L16;rate=N` type, if it is one MP3 supports.
pub fn pcm_rate(content_type: &str) -> Option<u32> {
    let mut parts = content_type.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(PCM_TYPE_PREFIX) {
        return None;
    }
    let rate = parts
        .find_map(|p| p.strip_prefix("rate="))
        .and_then(|r| r.parse::<u32>().ok())?;
    [
        8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
    ]
    .contains(&rate)
    .then_some(rate)
}

/// Encodes a recorded voice message (mono s16le PCM at `rate`) as MP3, the format Session
/// desktop sends voice messages in and every Session client plays (session-2026.md §C).
/// Chromium's MediaRecorder only makes Opus/WebM, which Session's iOS app does not play, so
/// the app decodes its recording to PCM and the worker encodes it here with `rusty_mp3`
/// (pure Rust, no C; chosen over LAME bindings because it builds for wasm32 as is).
pub fn encode_voice_mp3(pcm: &[u8], rate: u32) -> Option<Vec<u8>> {
    let mut enc = rusty_mp3::Mp3Encoder::new(rusty_mp3::Mp3EncoderConfig {
        bitrate_kbps: VOICE_KBPS,
        vbr_quality: None,
    });
    enc.push_pcm_s16le(pcm, 1, rate).ok()?;
    enc.finish();
    // Drained after `finish`, so the first packet is the completed Info tag (gapless,
    // seekable: players show the right duration).
    let mut out = Vec::with_capacity(pcm.len() / 8);
    while let Ok(p) = enc.next_packet() {
        out.extend_from_slice(&p);
    }
    (!out.is_empty()).then_some(out)
}

/// Side of a profile picture as sent (Session's clients show avatars small; 640 px keeps a
/// sharp full view at a few tens of KB).
pub const AVATAR_PX: u32 = 640;

/// Crops a picture to its centre square, scales it to at most [`AVATAR_PX`] and re-encodes it
/// as JPEG (pixels only: no metadata leaves). `Err` if the browser cannot decode it.
pub async fn prepare_avatar(bytes: &[u8], content_type: &str) -> Result<Picture, JsValue> {
    let bmp = bitmap(bytes, content_type).await?;
    let (w, h) = (bmp.width(), bmp.height());
    let side = w.min(h);
    if side == 0 {
        bmp.close();
        return Err(JsValue::from_str("empty picture"));
    }
    let out = side.min(AVATAR_PX);
    let canvas = OffscreenCanvas::new(out, out)?;
    let ctx: OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()?;
    let (sx, sy) = (f64::from((w - side) / 2), f64::from((h - side) / 2));
    ctx.draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        &bmp,
        sx,
        sy,
        f64::from(side),
        f64::from(side),
        0.0,
        0.0,
        f64::from(out),
        f64::from(out),
    )?;
    bmp.close();
    let opts = ImageEncodeOptions::new();
    opts.set_type("image/jpeg");
    opts.set_quality(0.85);
    let blob: Blob = JsFuture::from(canvas.convert_to_blob_with_options(&opts)?)
        .await?
        .dyn_into()?;
    let buf = JsFuture::from(blob.array_buffer()).await?;
    Ok(Picture {
        bytes: Uint8Array::new(&buf).to_vec(),
        content_type: blob.type_(),
        width: out,
        height: out,
    })
}

/// Whether `bytes` start like a picture the app shows (JPEG, PNG, GIF, WebP); a downloaded
/// avatar that does not is refused.
pub fn looks_like_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xd8, 0xff])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
}
