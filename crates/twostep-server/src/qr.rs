//! QR codes of `otpauth://` URIs, as inline SVG and as PNG.

use base64::Engine;
use qrcode::QrCode;
use qrcode::render::svg;

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the QR code: {0}")]
pub struct QrError(String);

/// SVG markup of the QR code: dark modules on white, with a quiet zone, sized for a
/// phone camera to read from a screen.
pub fn svg(data: &str) -> Result<String, QrError> {
    let code = QrCode::new(data.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The same code as a base64 PNG.
pub fn png_base64(data: &str) -> Result<String, QrError> {
    let code = QrCode::new(data.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    let image = code.render::<image::Luma<u8>>().min_dimensions(220, 220).build();
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(png))
}
