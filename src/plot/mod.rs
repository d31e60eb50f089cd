//! Pictures the project draws for people to read: the threshold plot of a
//! model card (precision, recall and ham blocked against the threshold).
//! Pure: the plot is returned as PNG bytes; the command writes the file.

mod canvas;
mod font;
mod png;

use canvas::{Canvas, Colour};

use crate::classifier::ThresholdPoint;

const WIDTH: usize = 800;
const HEIGHT: usize = 500;
/// The plot area inside the margins that hold the legend and the labels.
const LEFT: f64 = 70.0;
const RIGHT: f64 = 770.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 440.0;

const BACKGROUND: Colour = Colour::rgb(255, 255, 255);
const GRID: Colour = Colour::rgb(228, 228, 228);
const INK: Colour = Colour::rgb(40, 40, 40);
const MARK: Colour = Colour::rgb(120, 120, 120);
const PRECISION: Colour = Colour::rgb(31, 119, 180);
const RECALL: Colour = Colour::rgb(255, 127, 14);
const HAM_BLOCKED: Colour = Colour::rgb(214, 39, 40);

/// A threshold in force, drawn as a dashed line with its name.
#[derive(Debug, Clone, Copy)]
pub struct ThresholdMark<'a> {
    pub threshold: f64,
    pub name: &'a str,
}

fn x_of(threshold: f64) -> f64 {
    LEFT + threshold.clamp(0.0, 1.0) * (RIGHT - LEFT)
}

fn y_of(share: f64) -> f64 {
    BOTTOM - share.clamp(0.0, 1.0) * (BOTTOM - TOP)
}

/// Draws the curve (thresholds from 0 to 1) with the marks, as a PNG file's
/// bytes: precision in blue, recall (spam caught) in orange, ham blocked in
/// red, each from 0 to 100%. Deterministic: the same curve gives the same
/// bytes, so a model card's plot can be checked by drawing it again.
pub fn threshold_plot_png(curve: &[ThresholdPoint], marks: &[ThresholdMark<'_>]) -> Vec<u8> {
    let mut canvas = Canvas::new(WIDTH, HEIGHT, BACKGROUND);
    draw_grid(&mut canvas);
    for mark in marks {
        let x = x_of(mark.threshold).round() as i64;
        canvas.dashed_vertical(x, TOP as i64, BOTTOM as i64, MARK);
        let width = Canvas::text_width(mark.name, 2);
        // Half-way up, where the curves of a useful model seldom are.
        canvas.text(x - width - 6, y_of(0.5) as i64 - 18, mark.name, 2, MARK);
    }
    draw_series(&mut canvas, curve, |point| point.precision, PRECISION);
    draw_series(&mut canvas, curve, |point| Some(point.recall), RECALL);
    draw_series(
        &mut canvas,
        curve,
        |point| Some(point.ham_blocked),
        HAM_BLOCKED,
    );
    draw_legend(&mut canvas);
    png::encode_rgb(WIDTH as u32, HEIGHT as u32, canvas.pixels())
}

fn draw_grid(canvas: &mut Canvas) {
    for tenth in 0..=10 {
        let value = f64::from(tenth) / 10.0;
        let x = x_of(value).round() as i64;
        canvas.line((x as f64, TOP), (x as f64, BOTTOM), 1, GRID);
        let label = format!("{value:.1}");
        let width = Canvas::text_width(&label, 2);
        canvas.text(x - width / 2, BOTTOM as i64 + 10, &label, 2, INK);
    }
    for fifth in 0..=5 {
        let share = f64::from(fifth) / 5.0;
        let y = y_of(share).round() as i64;
        canvas.line((LEFT, y as f64), (RIGHT, y as f64), 1, GRID);
        let label = format!("{}%", fifth * 20);
        let width = Canvas::text_width(&label, 2);
        canvas.text(LEFT as i64 - width - 8, y - 7, &label, 2, INK);
    }
    canvas.line((LEFT, TOP), (LEFT, BOTTOM), 2, INK);
    canvas.line((LEFT, BOTTOM), (RIGHT, BOTTOM), 2, INK);
    let title = "threshold";
    let width = Canvas::text_width(title, 2);
    canvas.text(
        ((LEFT + RIGHT) / 2.0) as i64 - width / 2,
        BOTTOM as i64 + 36,
        title,
        2,
        INK,
    );
}

/// Joins the points where `value` is defined (precision is not where no
/// comment reaches the threshold).
fn draw_series(
    canvas: &mut Canvas,
    curve: &[ThresholdPoint],
    value: impl Fn(&ThresholdPoint) -> Option<f64>,
    colour: Colour,
) {
    for pair in curve.windows(2) {
        if let (Some(from), Some(to)) = (value(&pair[0]), value(&pair[1])) {
            canvas.line(
                (x_of(pair[0].threshold), y_of(from)),
                (x_of(pair[1].threshold), y_of(to)),
                3,
                colour,
            );
        }
    }
}

fn draw_legend(canvas: &mut Canvas) {
    let mut left = LEFT as i64;
    for (name, colour) in [
        ("precision", PRECISION),
        ("recall", RECALL),
        ("ham blocked", HAM_BLOCKED),
    ] {
        canvas.fill(left, 22, 24, 6, colour);
        canvas.text(left + 32, 18, name, 2, INK);
        left += 32 + Canvas::text_width(name, 2) + 36;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::threshold_curve;

    #[test]
    fn the_plot_is_a_png_of_the_set_size_and_drawing_it_twice_gives_the_same_bytes() {
        let scores = [0.05, 0.2, 0.4, 0.55, 0.7, 0.95, 0.99, 0.3];
        let is_spam = [false, false, true, false, true, true, true, false];
        let curve = threshold_curve(&scores, &is_spam);
        let marks = [ThresholdMark {
            threshold: 0.5,
            name: "review",
        }];
        let png = threshold_plot_png(&curve, &marks);
        assert_eq!(&png[1..4], b"PNG");
        // IHDR: width and height follow the signature, length and type.
        assert_eq!(&png[16..20], &(WIDTH as u32).to_be_bytes());
        assert_eq!(&png[20..24], &(HEIGHT as u32).to_be_bytes());
        assert_eq!(threshold_plot_png(&curve, &marks), png);
        let other = threshold_curve(&scores, &[true; 8]);
        assert_ne!(threshold_plot_png(&other, &marks), png);
    }

    #[test]
    fn each_series_is_drawn_in_its_colour_where_its_values_lie() {
        let curve = threshold_curve(&[0.2, 0.8], &[false, true]);
        let mut canvas = Canvas::new(WIDTH, HEIGHT, BACKGROUND);
        draw_series(&mut canvas, &curve, |point| Some(point.recall), RECALL);
        // Recall is 100% up to 0.8, so the top edge at threshold 0.5 is
        // orange, and the bottom edge at 0.9 too (0%).
        let at = |threshold: f64, share: f64| {
            canvas.pixel(
                x_of(threshold).round() as usize,
                y_of(share).round() as usize,
            )
        };
        assert_eq!(at(0.5, 1.0), Some(RECALL));
        assert_eq!(at(0.9, 0.0), Some(RECALL));
        assert_eq!(at(0.5, 0.0), Some(BACKGROUND));
    }
}
