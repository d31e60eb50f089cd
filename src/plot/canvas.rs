//! An RGB raster to draw plots on: filled rectangles, thick lines, dashed
//! vertical lines and text in the bitmap font. Coordinates are pixels from
//! the top left; whatever falls outside the canvas is clipped.

use super::font::{glyph, GLYPH_HEIGHT, GLYPH_WIDTH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    pub red: u8,
    pub green: u8,
    pub blue: u8,
}

impl Colour {
    pub const fn rgb(red: u8, green: u8, blue: u8) -> Colour {
        Colour { red, green, blue }
    }
}

pub struct Canvas {
    width: usize,
    height: usize,
    /// Red, green, blue bytes, row by row.
    pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `background`.
    pub fn new(width: usize, height: usize, background: Colour) -> Canvas {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&[background.red, background.green, background.blue]);
        }
        Canvas {
            width,
            height,
            pixels,
        }
    }

    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    #[cfg(test)]
    pub fn pixel(&self, x: usize, y: usize) -> Option<Colour> {
        (x < self.width && y < self.height).then(|| {
            let at = (y * self.width + x) * 3;
            Colour::rgb(self.pixels[at], self.pixels[at + 1], self.pixels[at + 2])
        })
    }

    pub fn set(&mut self, x: i64, y: i64, colour: Colour) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let at = (y as usize * self.width + x as usize) * 3;
        self.pixels[at..at + 3].copy_from_slice(&[colour.red, colour.green, colour.blue]);
    }

    /// Fills the rectangle from (`left`, `top`), `width` by `height` pixels.
    pub fn fill(&mut self, left: i64, top: i64, width: i64, height: i64, colour: Colour) {
        for y in top..top + height {
            for x in left..left + width {
                self.set(x, y, colour);
            }
        }
    }

    /// A line `thickness` pixels wide from one point to the other: a square
    /// brush stepped along the longer axis.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), thickness: i64, colour: Colour) {
        let steps = (to.0 - from.0)
            .abs()
            .max((to.1 - from.1).abs())
            .ceil()
            .max(1.0) as i64;
        let offset = thickness / 2;
        for step in 0..=steps {
            let along = step as f64 / steps as f64;
            let x = (from.0 + (to.0 - from.0) * along).round() as i64;
            let y = (from.1 + (to.1 - from.1) * along).round() as i64;
            self.fill(x - offset, y - offset, thickness, thickness, colour);
        }
    }

    /// A vertical dashed line at `x` from `top` to `bottom`.
    pub fn dashed_vertical(&mut self, x: i64, top: i64, bottom: i64, colour: Colour) {
        for y in top..=bottom {
            if (y - top) % 8 < 5 {
                self.set(x, y, colour);
            }
        }
    }

    /// The width in pixels of `text` at `scale`.
    pub fn text_width(text: &str, scale: i64) -> i64 {
        let characters = text.chars().count() as i64;
        (characters * (GLYPH_WIDTH as i64 + 1) - 1).max(0) * scale
    }

    /// Writes `text` with its top left corner at (`left`, `top`), each font
    /// cell `scale` pixels square. Characters the font lacks are left
    /// blank; the plots only print text they know the font has.
    pub fn text(&mut self, left: i64, top: i64, text: &str, scale: i64, colour: Colour) {
        for (index, character) in text.chars().enumerate() {
            let Some(rows) = glyph(character) else {
                continue;
            };
            let glyph_left = left + index as i64 * (GLYPH_WIDTH as i64 + 1) * scale;
            for (row, cells) in rows.iter().enumerate().take(GLYPH_HEIGHT) {
                for (column, cell) in cells.chars().enumerate() {
                    if cell == '#' {
                        self.fill(
                            glyph_left + column as i64 * scale,
                            top + row as i64 * scale,
                            scale,
                            scale,
                            colour,
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: Colour = Colour::rgb(255, 255, 255);
    const BLACK: Colour = Colour::rgb(0, 0, 0);

    #[test]
    fn lines_reach_both_ends_and_drawing_outside_is_clipped() {
        let mut canvas = Canvas::new(10, 10, WHITE);
        canvas.line((1.0, 1.0), (8.0, 5.0), 1, BLACK);
        assert_eq!(canvas.pixel(1, 1), Some(BLACK));
        assert_eq!(canvas.pixel(8, 5), Some(BLACK));
        assert_eq!(canvas.pixel(8, 1), Some(WHITE));
        canvas.line((-5.0, -5.0), (20.0, 20.0), 3, BLACK);
        assert_eq!(canvas.pixel(9, 9), Some(BLACK));
        assert_eq!(canvas.pixels().len(), 300);
    }

    #[test]
    fn text_is_drawn_from_the_font_at_scale() {
        let mut canvas = Canvas::new(20, 20, WHITE);
        canvas.text(0, 0, "1", 2, BLACK);
        // The glyph of 1 has ink in its middle column on the top row.
        assert_eq!(canvas.pixel(4, 0), Some(BLACK));
        assert_eq!(canvas.pixel(5, 1), Some(BLACK));
        assert_eq!(canvas.pixel(0, 0), Some(WHITE));
        assert_eq!(Canvas::text_width("10", 2), 22);
    }
}
