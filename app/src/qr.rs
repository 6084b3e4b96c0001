//! QR code of a short text as one SVG path (built here, rendered as an element; no HTML
//! strings).

use qrcode::{Color, EcLevel, QrCode};

/// A QR code as an SVG path: `(size in modules including a 4-module quiet zone, path data)`.
/// `None` if the text does not fit a QR code.
pub(crate) fn svg_path(text: &str) -> Option<(usize, String)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut d = String::with_capacity(width * width * 4);
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (i % width + 4, i / width + 4);
            d.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some((width + 8, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_account_id_fits_and_draws() {
        let id = "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a";
        let (size, d) = svg_path(id).expect("fits");
        assert!(size > 29);
        assert!(
            d.starts_with("M4 4h1v1h-1z"),
            "finder pattern corner is dark"
        );
        assert_eq!(svg_path(&"x".repeat(5000)), None);
    }
}
