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
            "The comment was submitted {seconds:.1} s after the page opened (under {min_seconds} s)."
        )
    })
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
}
