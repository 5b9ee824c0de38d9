//! `core:datetime` values: ISO-8601 UTC timestamps (`2023-11-14T22:13:20.123456Z`) to and
//! from µs since the Unix epoch, without a date-time dependency.

const US_PER_S: i64 = 1_000_000;
const S_PER_DAY: i64 = 86_400;

/// Formats µs since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn format_datetime(us: u64) -> String {
    let secs = (us / US_PER_S as u64) as i64;
    let micros = us % US_PER_S as u64;
    let (days, sod) = (secs.div_euclid(S_PER_DAY), secs.rem_euclid(S_PER_DAY));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Parses `YYYY-MM-DD(T| )HH:MM:SS[.fraction](Z|±HH:MM)` to µs since the epoch. `Err` when
/// it is not of that form; `Ok(None)` for a valid time before 1970 (not representable).
pub(crate) fn parse_datetime(text: &str) -> Result<Option<u64>, ()> {
    let b = text.as_bytes();
    let digits = |from: usize, n: usize| -> Result<i64, ()> {
        let part = b.get(from..from + n).ok_or(())?;
        part.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit()
                .then(|| acc * 10 + i64::from(c - b'0'))
                .ok_or(())
        })
    };
    let sep = |at: usize, allowed: &[u8]| match b.get(at) {
        Some(c) if allowed.contains(c) => Ok(()),
        _ => Err(()),
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    sep(10, b"Tt ")?;
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    sep(13, b":")?;
    sep(16, b":")?;
    let month_ok = (1..=12).contains(&month);
    if !month_ok || day < 1 || day > days_in_month(year, month) {
        return Err(());
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(());
    }
    let mut at = 19;
    let mut micros = 0i64;
    if matches!(b.get(at), Some(b'.' | b',')) {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 6 {
                micros = micros * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err(());
        }
        for _ in (at - start)..6 {
            micros *= 10;
        }
    }
    let offset_s = match b.get(at..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
            let (oh, om) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(());
            }
            let offset = oh * 3600 + om * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return Err(()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * S_PER_DAY + hour * 3600 + minute * 60 + second - offset_s;
    let us = secs * US_PER_S + micros;
    Ok(u64::try_from(us).ok())
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00.000000Z");
        let t = 1_700_000_000_123_456;
        assert_eq!(format_datetime(t), "2023-11-14T22:13:20.123456Z");
        assert_eq!(parse_datetime("2023-11-14T22:13:20.123456Z"), Ok(Some(t)));
        assert_eq!(parse_datetime("2023-11-14T22:13:20.1234567Z"), Ok(Some(t)));
        assert_eq!(
            parse_datetime("2023-11-14T22:13:20Z"),
            Ok(Some(t - 123_456))
        );
        assert_eq!(
            parse_datetime("2023-11-14T22:13:20.5Z"),
            Ok(Some(t - 123_456 + 500_000))
        );
        assert_eq!(
            parse_datetime("2023-11-15T00:13:20+02:00"),
            Ok(Some(t - 123_456))
        );
        assert_eq!(
            parse_datetime("2024-02-29T00:00:00Z"),
            Ok(Some(1_709_164_800_000_000))
        );
        assert_eq!(parse_datetime("1969-12-31T23:59:59Z"), Ok(None));
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "2023",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-13-14T22:13:20Z",
            "2023-02-29T22:13:20Z",
            "2023-11-14T24:13:20Z",
            "2023-11-14T22:13:20Zjunk",
            "2023-11-14T22:13:20+2:00",
            "२०२३-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_datetime(bad), Err(()), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(us in 0u64..253_402_300_800_000_000) {
            prop_assert_eq!(parse_datetime(&format_datetime(us)), Ok(Some(us)));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = parse_datetime(&text);
        }

        #[test]
        fn near_miss_text_never_panics(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]{0,9})?(Z|[+-][0-9]{2}:[0-9]{2})?",
        ) {
            let _ = parse_datetime(&text);
        }
    }
}
