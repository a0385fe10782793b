//! Throughput against connections as a PNG, drawn with plotters' bitmap backend. Labels
//! use a built-in 5×7 pixel font, so no system font (and no font crate) is needed.
//! Usage: `plot sweep.csv out.png "title"`; the CSV is `connections,<series>,…` with one
//! row per connection count and requests per second in the cells (empty: not measured).

use anyhow::Context;
use plotters::prelude::*;

const W: u32 = 960;
const H: u32 = 600;
const SCALE: i32 = 2;
const COLORS: [RGBColor; 5] = [
    RGBColor(120, 120, 120),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// The classic 5×7 font, ASCII 0x20–0x7A: five columns per glyph, bit 0 at the top.
const FONT: &[[u8; 5]] = &[
    [0x00, 0x00, 0x00, 0x00, 0x00],
    [0x00, 0x00, 0x5F, 0x00, 0x00],
    [0x00, 0x07, 0x00, 0x07, 0x00],
    [0x14, 0x7F, 0x14, 0x7F, 0x14],
    [0x24, 0x2A, 0x7F, 0x2A, 0x12],
    [0x23, 0x13, 0x08, 0x64, 0x62],
    [0x36, 0x49, 0x55, 0x22, 0x50],
    [0x00, 0x05, 0x03, 0x00, 0x00],
    [0x00, 0x1C, 0x22, 0x41, 0x00],
    [0x00, 0x41, 0x22, 0x1C, 0x00],
    [0x14, 0x08, 0x3E, 0x08, 0x14],
    [0x08, 0x08, 0x3E, 0x08, 0x08],
    [0x00, 0x50, 0x30, 0x00, 0x00],
    [0x08, 0x08, 0x08, 0x08, 0x08],
    [0x00, 0x60, 0x60, 0x00, 0x00],
    [0x20, 0x10, 0x08, 0x04, 0x02],
    [0x3E, 0x51, 0x49, 0x45, 0x3E],
    [0x00, 0x42, 0x7F, 0x40, 0x00],
    [0x42, 0x61, 0x51, 0x49, 0x46],
    [0x21, 0x41, 0x45, 0x4B, 0x31],
    [0x18, 0x14, 0x12, 0x7F, 0x10],
    [0x27, 0x45, 0x45, 0x45, 0x39],
    [0x3C, 0x4A, 0x49, 0x49, 0x30],
    [0x01, 0x71, 0x09, 0x05, 0x03],
    [0x36, 0x49, 0x49, 0x49, 0x36],
    [0x06, 0x49, 0x49, 0x29, 0x1E],
    [0x00, 0x36, 0x36, 0x00, 0x00],
    [0x00, 0x56, 0x36, 0x00, 0x00],
    [0x08, 0x14, 0x22, 0x41, 0x00],
    [0x14, 0x14, 0x14, 0x14, 0x14],
    [0x00, 0x41, 0x22, 0x14, 0x08],
    [0x02, 0x01, 0x51, 0x09, 0x06],
    [0x32, 0x49, 0x79, 0x41, 0x3E],
    [0x7E, 0x11, 0x11, 0x11, 0x7E],
    [0x7F, 0x49, 0x49, 0x49, 0x36],
    [0x3E, 0x41, 0x41, 0x41, 0x22],
    [0x7F, 0x41, 0x41, 0x22, 0x1C],
    [0x7F, 0x49, 0x49, 0x49, 0x41],
    [0x7F, 0x09, 0x09, 0x09, 0x01],
    [0x3E, 0x41, 0x49, 0x49, 0x7A],
    [0x7F, 0x08, 0x08, 0x08, 0x7F],
    [0x00, 0x41, 0x7F, 0x41, 0x00],
    [0x20, 0x40, 0x41, 0x3F, 0x01],
    [0x7F, 0x08, 0x14, 0x22, 0x41],
    [0x7F, 0x40, 0x40, 0x40, 0x40],
    [0x7F, 0x02, 0x0C, 0x02, 0x7F],
    [0x7F, 0x04, 0x08, 0x10, 0x7F],
    [0x3E, 0x41, 0x41, 0x41, 0x3E],
    [0x7F, 0x09, 0x09, 0x09, 0x06],
    [0x3E, 0x41, 0x51, 0x21, 0x5E],
    [0x7F, 0x09, 0x19, 0x29, 0x46],
    [0x46, 0x49, 0x49, 0x49, 0x31],
    [0x01, 0x01, 0x7F, 0x01, 0x01],
    [0x3F, 0x40, 0x40, 0x40, 0x3F],
    [0x1F, 0x20, 0x40, 0x20, 0x1F],
    [0x3F, 0x40, 0x38, 0x40, 0x3F],
    [0x63, 0x14, 0x08, 0x14, 0x63],
    [0x07, 0x08, 0x70, 0x08, 0x07],
    [0x61, 0x51, 0x49, 0x45, 0x43],
    [0x00, 0x7F, 0x41, 0x41, 0x00],
    [0x02, 0x04, 0x08, 0x10, 0x20],
    [0x00, 0x41, 0x41, 0x7F, 0x00],
    [0x04, 0x02, 0x01, 0x02, 0x04],
    [0x40, 0x40, 0x40, 0x40, 0x40],
    [0x00, 0x01, 0x02, 0x04, 0x00],
    [0x20, 0x54, 0x54, 0x54, 0x78],
    [0x7F, 0x48, 0x44, 0x44, 0x38],
    [0x38, 0x44, 0x44, 0x44, 0x20],
    [0x38, 0x44, 0x44, 0x48, 0x7F],
    [0x38, 0x54, 0x54, 0x54, 0x18],
    [0x08, 0x7E, 0x09, 0x01, 0x02],
    [0x0C, 0x52, 0x52, 0x52, 0x3E],
    [0x7F, 0x08, 0x04, 0x04, 0x78],
    [0x00, 0x44, 0x7D, 0x40, 0x00],
    [0x20, 0x40, 0x44, 0x3D, 0x00],
    [0x7F, 0x10, 0x28, 0x44, 0x00],
    [0x00, 0x41, 0x7F, 0x40, 0x00],
    [0x7C, 0x04, 0x18, 0x04, 0x78],
    [0x7C, 0x08, 0x04, 0x04, 0x78],
    [0x38, 0x44, 0x44, 0x44, 0x38],
    [0x7C, 0x14, 0x14, 0x14, 0x08],
    [0x08, 0x14, 0x14, 0x18, 0x7C],
    [0x7C, 0x08, 0x04, 0x04, 0x08],
    [0x48, 0x54, 0x54, 0x54, 0x20],
    [0x04, 0x3F, 0x44, 0x40, 0x20],
    [0x3C, 0x40, 0x40, 0x20, 0x7C],
    [0x1C, 0x20, 0x40, 0x20, 0x1C],
    [0x3C, 0x40, 0x30, 0x40, 0x3C],
    [0x44, 0x28, 0x10, 0x28, 0x44],
    [0x0C, 0x50, 0x50, 0x50, 0x3C],
    [0x44, 0x64, 0x54, 0x4C, 0x44],
];

/// Width in pixels of `text` at `scale`.
fn text_width(text: &str, scale: i32) -> i32 {
    text.chars().count() as i32 * 6 * scale
}

/// Draws `text` with its top-left corner at `(x, y)`.
fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    scale: i32,
    color: &RGBColor,
    text: &str,
) -> anyhow::Result<()> {
    for (n, ch) in text.chars().enumerate() {
        let glyph = FONT.get((ch as usize).wrapping_sub(0x20)).unwrap_or(&FONT[b'?' as usize - 0x20]);
        for (col, bits) in glyph.iter().enumerate() {
            for row in 0..7 {
                if bits >> row & 1 == 1 {
                    let px = x + (n as i32 * 6 + col as i32) * scale;
                    let py = y + row * scale;
                    area.draw(&Rectangle::new([(px, py), (px + scale - 1, py + scale - 1)], color.filled()))
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                }
            }
        }
    }
    Ok(())
}

/// 12 500 → "12.5k".
fn short(v: f64) -> String {
    if v >= 1000.0 { format!("{}k", (v / 100.0).round() / 10.0) } else { format!("{v:.0}") }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: plot IN.csv OUT.png [TITLE]");
    let title = args.get(3).map(String::as_str).unwrap_or("Throughput against connections");
    let csv = std::fs::read_to_string(&args[1]).with_context(|| format!("cannot read {}", args[1]))?;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().context("empty CSV")?.split(',').collect();
    let names = &header[1..];
    let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); names.len()];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let conns: f64 = cells[0].trim().parse().with_context(|| format!("bad row {line:?}"))?;
        for (k, cell) in cells.iter().skip(1).enumerate().take(names.len()) {
            if let Ok(v) = cell.trim().parse::<f64>() {
                series[k].push((conns.log2(), v));
            }
        }
    }
    let max_x = series.iter().flatten().map(|p| p.0).fold(1.0_f64, f64::max).ceil();
    let max_y = series.iter().flatten().map(|p| p.1).fold(1.0_f64, f64::max);
    let step = nice_step(max_y / 5.0);
    let top = (max_y / step).ceil() * step;

    let mut buffer = vec![0u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let (left, right, top_px, bottom) = (100, 30, 110, 70);
        let plot = root.margin(top_px, bottom, left, right);
        let mut chart =
            ChartBuilder::on(&plot).build_cartesian_2d(0.0..max_x, 0.0..top).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let grey = RGBColor(225, 225, 225);
        let ink = RGBColor(40, 40, 40);
        let mut y = 0.0;
        while y <= top + 1e-9 {
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(0.0, y), (max_x, y)], grey)))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let (px, py) = chart.backend_coord(&(0.0, y));
            let label = short(y);
            text(&root, px - 8 - text_width(&label, SCALE), py - 7, SCALE, &ink, &label)?;
            y += step;
        }
        for i in 0..=(max_x as i32) {
            let x = f64::from(i);
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, top)], grey)))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let (px, py) = chart.backend_coord(&(x, 0.0));
            let label = (1u64 << i).to_string();
            text(&root, px - text_width(&label, SCALE) / 2, py + 8, SCALE, &ink, &label)?;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, top), (0.0, 0.0), (max_x, 0.0)],
                ink.stroke_width(2),
            )))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for (k, points) in series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        text(&root, (W as i32 - text_width(title, 3)) / 2, 15, 3, &ink, title)?;
        let xlabel = "connections (wrk, log scale)";
        text(&root, (W as i32 - text_width(xlabel, SCALE)) / 2, H as i32 - 30, SCALE, &ink, xlabel)?;
        text(&root, 10, top_px - 28, SCALE, &ink, "requests/s")?;
        // The legend, one row under the title.
        let widths: Vec<i32> = names.iter().map(|n| text_width(n, SCALE) + 56).collect();
        let mut lx = (W as i32 - widths.iter().sum::<i32>()) / 2;
        for (k, name) in names.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            root.draw(&Rectangle::new([(lx, 56), (lx + 24, 61)], color.filled()))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            text(&root, lx + 32, 52, SCALE, &ink, name)?;
            lx += widths[k];
        }
        root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    image::save_buffer(&args[2], &buffer, W, H, image::ExtendedColorType::Rgb8)?;
    Ok(())
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}
