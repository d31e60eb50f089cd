//! `honeypot` and `submitted_too_fast`: what the comment form saw. Bots fill
//! every field, including the one a person never sees, and post faster than
//! anyone can read and type.

use crate::domain::FormSignals;

/// Fires when the hidden field holds anything but white space.
pub fn honeypot(form: &FormSignals) -> Option<String> {
    if form.honeypot.trim().is_empty() {
        None
    } else {
        Some("The hidden form field, which people never see, was filled in.".to_string())
    }
}

/// Fires when the form was open fewer than `min_seconds` seconds. Sites
/// that do not measure it send nothing, and nothing fires.
pub fn submitted_too_fast(form: &FormSignals, min_seconds: f64) -> Option<String> {
    let seconds = form.seconds_on_page?;
    (seconds < min_seconds).then(|| {
        format!(
            "The comment was submitted {:.1} s after the page opened (under {min_seconds} s).",
            tenths_rounded_down(seconds)
        )
    })
}

/// `seconds` rounded down to tenths, so that the time a reason shows is
/// never more than the time measured, and so always under the threshold:
/// rounded to the nearest, 2.96 s would read "3.0 s ... (under 3 s)".
fn tenths_rounded_down(seconds: f64) -> f64 {
    let tenths = (seconds * 10.0).floor();
    // The product is rounded to a float, and a time a hair below a whole
    // number of tenths can round up to it: then the tenth below is shown.
    if tenths / 10.0 > seconds {
        (tenths - 1.0) / 10.0
    } else {
        tenths / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(honeypot: &str, seconds: Option<f64>) -> FormSignals {
        FormSignals {
            honeypot: honeypot.to_string(),
            seconds_on_page: seconds,
        }
    }

    #[test]
    fn honeypot_fires_only_on_content() {
        let cases = [
            ("", false),
            ("  ", false),
            ("http://x.example", true),
            ("a", true),
        ];
        for (value, fires) in cases {
            assert_eq!(honeypot(&form(value, None)).is_some(), fires, "{value:?}");
        }
    }

    #[test]
    fn submitted_too_fast_needs_a_measured_time_below_the_threshold() {
        let cases = [
            (None, false),
            (Some(1.0), true),
            (Some(0.0), true),
            (Some(2.99), true),
            (Some(3.0), false),
            (Some(120.0), false),
        ];
        for (seconds, fires) in cases {
            assert_eq!(
                submitted_too_fast(&form("", seconds), 3.0).is_some(),
                fires,
                "{seconds:?}"
            );
        }
    }

    #[test]
    fn the_time_shown_is_rounded_down_and_so_under_the_threshold() {
        let cases = [
            (2.96, "2.9 s"),
            (2.99, "2.9 s"),
            (2.9999999999999996, "2.9 s"),
            (2.3, "2.3 s"),
            (1.25, "1.2 s"),
            (0.04, "0.0 s"),
        ];
        for (seconds, shown) in cases {
            let message = submitted_too_fast(&form("", Some(seconds)), 3.0).unwrap();
            assert_eq!(
                message,
                format!("The comment was submitted {shown} after the page opened (under 3 s)."),
                "{seconds}"
            );
        }
    }
}
