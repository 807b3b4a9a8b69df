//! Durations as plan files, flags and environment variables write them (`"500ms"`, `"1m 30s"`),
//! and as JSON output shows them.

use std::time::Duration;

/// The units a duration accepts, with their length in nanoseconds.
const DURATION_UNITS: &[(&[&str], u128)] = &[
    (&["ns"], 1),
    (&["us", "µs"], 1_000),
    (&["ms"], 1_000_000),
    (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
    (&["m", "min", "mins", "minute", "minutes"], 60_000_000_000),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600_000_000_000),
    (&["d", "day", "days"], 86_400_000_000_000),
];

/// The grammar of [`parse_duration`] as a regular expression, for the JSON Schema. A test checks
/// that the two accept the same strings.
pub fn duration_pattern() -> String {
    let units: Vec<&str> = DURATION_UNITS
        .iter()
        .flat_map(|(names, _)| names.iter().copied())
        .collect();
    format!(r"^\s*([0-9]+(\.[0-9]+)?\s*({})\s*)+$", units.join("|"))
}

/// Parses `"250ms"`, `"2s"`, `"1.5s"`, `"1m 30s"`: one or more numbers, each with a unit (`ns`,
/// `us`, `ms`, `s`, `m`, `h`, `d` or their long forms). A bare number is refused: the unit must
/// be said.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("it is empty".to_string());
    }
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        rest = rest[number_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if !digits(whole) || (number.contains('.') && !digits(fraction)) {
            return Err(if number.is_empty() {
                format!("expected a number before `{unit}{rest}`")
            } else {
                format!("`{number}` is not a number")
            });
        }
        if unit.is_empty() {
            return Err(format!(
                "`{number}` needs a unit, like `{number}ms` or `{number}s`"
            ));
        }
        let Some((_, scale)) = DURATION_UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit))
        else {
            return Err(format!("unknown unit `{unit}`; use ms, s, m, h or d"));
        };
        let too_long = || "it is too long".to_string();
        let whole: u128 = whole.parse().map_err(|_| too_long())?;
        // At most 18 fraction digits fit in u128 arithmetic with any scale; more add nothing.
        let fraction = &fraction[..fraction.len().min(18)];
        let fraction_value: u128 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| too_long())?
        };
        let fraction_nanos = fraction_value * scale / 10u128.pow(fraction.len() as u32);
        nanos = whole
            .checked_mul(*scale)
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(nanos))
            .filter(|n| *n <= u128::from(u64::MAX))
            .ok_or_else(too_long)?;
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Serde helper: durations as humantime strings (`"500ms"`).
pub mod opt_duration {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit_and_add_up() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("2s"), Ok(ms(2_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration(" 1m 30s "), Ok(ms(90_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("100µs"), Ok(Duration::from_micros(100)));
        for bad in [
            "",
            "500",
            "ms",
            "1.s",
            ".5s",
            "-1s",
            "5 parsecs",
            "1s 2",
            "1,5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        let too_long = format!("{}d", u64::MAX);
        assert_eq!(parse_duration(&too_long), Err("it is too long".to_string()));
    }

    #[test]
    fn the_message_says_what_is_wrong() {
        assert_eq!(
            parse_duration("500").unwrap_err(),
            "`500` needs a unit, like `500ms` or `500s`"
        );
        assert_eq!(
            parse_duration("5 parsecs").unwrap_err(),
            "unknown unit `parsecs`; use ms, s, m, h or d"
        );
    }
}
