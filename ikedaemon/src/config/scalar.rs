//! Scalars with their own syntax that are not addresses: durations (`30s`,
//! `4h`, `1h30m`) and byte sizes (`500M`, `2G`), plus the helper every
//! such type uses to deserialize from a YAML string so that its parse
//! error keeps the position of the value.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Deserializes a scalar as text and parses it with `parse`; a parse
/// failure becomes a custom error (positioned by the YAML layer) whose
/// text is the message `parse` returned.
pub(crate) fn deserialize_with<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, String>,
        marker: PhantomData<T>,
    }
    impl<T> Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.parse)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V {
        expecting,
        parse,
        marker: PhantomData,
    })
}

/// A duration written with units: `30s`, `4h`, `1h30m`, `2d`, `0s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeSpan(pub Duration);

const DURATION_EXPECTED: &str = "a duration like 30s, 10m, 4h or 1h30m (units d, h, m, s)";

impl TimeSpan {
    /// Parses `1h30m`-style text: one or more `NUMBER UNIT` groups, units
    /// `d`, `h`, `m`, `s` in decreasing order, each at most once.
    pub fn parse(text: &str) -> Result<TimeSpan, String> {
        let fail = || format!("expected {DURATION_EXPECTED}, found \"{text}\"");
        let s = text.trim();
        if s.is_empty() {
            return Err(fail());
        }
        let mut total: u64 = 0;
        let mut last_rank = usize::MAX;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail());
            }
            let (num, tail) = rest.split_at(digits);
            let unit = tail.chars().next().ok_or_else(|| {
                format!("expected {DURATION_EXPECTED}, found \"{text}\" (a unit is required)")
            })?;
            let (rank, secs) = match unit {
                'd' => (3, 86_400),
                'h' => (2, 3_600),
                'm' => (1, 60),
                's' => (0, 1),
                _ => return Err(fail()),
            };
            if rank >= last_rank {
                return Err(fail());
            }
            last_rank = rank;
            let n: u64 = num.parse().map_err(|_| fail())?;
            total = n
                .checked_mul(secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("duration \"{text}\" is too long"))?;
            rest = &tail[1..];
        }
        Ok(TimeSpan(Duration::from_secs(total)))
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, DURATION_EXPECTED, TimeSpan::parse)
    }
}

/// Formats a duration the way the configuration writes it (`1h30m`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// A byte count: a plain number or one with a binary suffix `K`, `M`,
/// `G`, `T` (powers of 1024), e.g. `500M`, `2G`, `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

const SIZE_EXPECTED: &str = "a byte count like 0, 65536, 500M or 2G (suffixes K, M, G, T)";

impl ByteSize {
    /// Parses `500M`-style text.
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let fail = || format!("expected {SIZE_EXPECTED}, found \"{text}\"");
        let s = text.trim();
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(fail());
        }
        let (num, suffix) = s.split_at(digits);
        let shift = match suffix {
            "" => 0,
            "K" | "k" => 10,
            "M" | "m" => 20,
            "G" | "g" => 30,
            "T" | "t" => 40,
            _ => return Err(fail()),
        };
        let n: u64 = num.parse().map_err(|_| fail())?;
        n.checked_mul(1u64 << shift)
            .map(ByteSize)
            .ok_or_else(|| format!("byte count \"{text}\" is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, SIZE_EXPECTED, ByteSize::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> u64 {
        TimeSpan::parse(s).expect(s).0.as_secs()
    }

    #[test]
    fn durations() {
        assert_eq!(secs("30s"), 30);
        assert_eq!(secs("4h"), 14_400);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs("4h30m"), 16_200);
        assert_eq!(secs("2d1s"), 172_801);
        assert_eq!(secs("0s"), 0);
        for bad in [
            "", "30", "h", "1x", "30m1h", "1h1h", "1.5h", "-1s", "1h 30m",
        ] {
            assert!(TimeSpan::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TimeSpan::parse("30").unwrap_err(),
            "expected a duration like 30s, 10m, 4h or 1h30m (units d, h, m, s), found \"30\" \
             (a unit is required)"
        );
        assert!(TimeSpan::parse("99999999999999999999d").is_err());
    }

    #[test]
    fn duration_round_trip() {
        for s in ["0s", "30s", "4h30m", "1h10m", "2d3h4m5s"] {
            assert_eq!(TimeSpan::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(ByteSize::parse("0").unwrap().0, 0);
        assert_eq!(ByteSize::parse("500M").unwrap().0, 500 << 20);
        assert_eq!(ByteSize::parse("2G").unwrap().0, 2 << 30);
        assert_eq!(ByteSize::parse("4k").unwrap().0, 4096);
        for bad in ["", "M", "5MB", "1.5G", "-1", "99999999999T"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad}");
        }
    }
}
