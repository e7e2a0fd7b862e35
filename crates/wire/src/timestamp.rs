//! One type for an instant, with one text form.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `0000-01-01T00:00:00Z` and `9999-12-31T23:59:59Z` in Unix seconds: the range of the text form.
const FIRST_SECOND: i64 = -62_167_219_200;
const LAST_SECOND: i64 = 253_402_300_799;

/// An instant in UTC at millisecond precision.
///
/// Its one text form is RFC 3339 in UTC with three fractional digits
/// (`2026-12-03T11:27:31.123Z`): fixed width, so text order is time order and the store can
/// compare stored times in SQL. Any RFC 3339 offset is accepted on input and converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// Text that is not an RFC 3339 time within years 0000–9999.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampError(String);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an RFC 3339 time: {:?}", self.0)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The instant `at`, truncated to the millisecond (the precision of the text form).
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        let millis = at.timestamp_millis();
        Timestamp(Utc.timestamp_millis_opt(millis).single().unwrap_or(at))
    }

    /// The instant `seconds` after the Unix epoch (a JWT NumericDate), clamped to the years
    /// 0000–9999 that the text form holds.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        let clamped = seconds.clamp(FIRST_SECOND, LAST_SECOND);
        Timestamp(DateTime::from_timestamp(clamped, 0).unwrap_or_default())
    }

    /// Parses any RFC 3339 time; see [`Timestamp`] for the accepted range.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| Timestamp::from_datetime(at.with_timezone(&Utc)))
            // Beyond year 9999 the text form loses its fixed width, and with it its order.
            .filter(|at| (FIRST_SECOND..=LAST_SECOND).contains(&at.unix_seconds()))
            .ok_or_else(|| TimestampError(text.to_owned()))
    }

    /// The instant as a chrono time, for arithmetic and formatting.
    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// Whole seconds since the Unix epoch (a JWT NumericDate).
    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The minute in UTC as a person reads it: `2026-12-03 11:27`.
    pub fn minute_text(self) -> String {
        self.0.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// Moved later by a duration (kept in place past the end of chrono's range).
impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, by: Duration) -> Timestamp {
        Timestamp(self.0.checked_add_signed(by).unwrap_or(self.0))
    }
}

/// Moved earlier by a duration (kept in place past the start of chrono's range).
impl Sub<Duration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, by: Duration) -> Timestamp {
        Timestamp(self.0.checked_sub_signed(by).unwrap_or(self.0))
    }
}

/// How long after the other instant this one is (negative if before).
impl Sub for Timestamp {
    type Output = Duration;

    fn sub(self, earlier: Timestamp) -> Duration {
        self.0 - earlier.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp::from_datetime(at)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(text)
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339; the gateway writes UTC with milliseconds (2026-12-03T11:27:31.123Z).",
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An optional time written as an empty string when absent: the form review records had
/// before times were typed, kept so exports read as they did.
pub(crate) mod empty_when_none {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    pub(crate) fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.collect_str(at),
            None => serializer.serialize_str(""),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(None);
        }
        Timestamp::parse(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// Stored as its text form, so SQL compares times as text and a row reads as it is meant.
#[cfg(feature = "sqlx")]
mod sql {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::sqlite::{Sqlite, SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Decode, Encode, Type};

    use super::Timestamp;

    impl Type<Sqlite> for Timestamp {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <String as Type<Sqlite>>::compatible(ty)
        }
    }

    impl<'q> Encode<'q, Sqlite> for Timestamp {
        fn encode_by_ref(
            &self,
            args: &mut Vec<SqliteArgumentValue<'q>>,
        ) -> Result<IsNull, BoxDynError> {
            <String as Encode<'q, Sqlite>>::encode(self.to_string(), args)
        }
    }

    impl<'r> Decode<'r, Sqlite> for Timestamp {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <&str as Decode<'r, Sqlite>>::decode(value)?;
            Ok(Timestamp::parse(text)?)
        }
    }
}
