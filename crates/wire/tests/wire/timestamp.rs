//! One text form for every time: what is accepted, what is written, how it orders.

use chrono::{Duration, TimeZone, Utc};
use countersign_wire::Timestamp;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn any_rfc3339_offset_reads_and_is_written_in_utc_with_milliseconds() {
    assert_eq!(
        at("2026-12-03T12:27:31+01:00").to_string(),
        "2026-12-03T11:27:31.000Z"
    );
    assert_eq!(
        at("2026-12-03T11:27:31.123456Z").to_string(),
        "2026-12-03T11:27:31.123Z",
        "truncated to the millisecond the text form holds"
    );
    assert_eq!(at("2026-12-03T11:27:31Z"), at("2026-12-03T11:27:31.000Z"));
}

#[test]
fn text_that_is_not_a_time_is_refused_with_what_was_given() {
    for bad in [
        "",
        "yesterday",
        "2026-12-03",
        "2026-13-01T00:00:00Z",
        "1700000000",
    ] {
        let error = bad.parse::<Timestamp>().unwrap_err();
        assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
    }
    assert!(
        "+10000-01-01T00:00:00Z".parse::<Timestamp>().is_err(),
        "beyond year 9999 the fixed width, and its order, would be lost"
    );
}

#[test]
fn text_order_is_time_order() {
    let mut times = [
        at("2026-12-03T11:27:31.5Z"),
        at("2026-12-03T11:27:31Z"),
        at("2026-12-03T12:00:00+02:00"),
        at("1999-01-01T00:00:00Z"),
    ];
    let mut texts: Vec<String> = times.iter().map(ToString::to_string).collect();
    times.sort();
    texts.sort();
    assert_eq!(
        times.iter().map(ToString::to_string).collect::<Vec<_>>(),
        texts
    );
}

#[test]
fn json_carries_the_text_form_and_refuses_junk() {
    let t = at("2026-12-03T11:27:31.123Z");
    assert_eq!(
        serde_json::to_string(&t).unwrap(),
        "\"2026-12-03T11:27:31.123Z\""
    );
    let back: Timestamp = serde_json::from_str("\"2026-12-03T12:27:31.123+01:00\"").unwrap();
    assert_eq!(back, t);
    assert!(serde_json::from_str::<Timestamp>("\"soon\"").is_err());
    assert!(serde_json::from_str::<Timestamp>("1733225251").is_err());
}

#[test]
fn numeric_dates_arithmetic_and_display() {
    let t = Timestamp::from(Utc.with_ymd_and_hms(2026, 12, 3, 11, 27, 31).unwrap());
    assert_eq!(Timestamp::from_unix_seconds(t.unix_seconds()), t);
    assert_eq!(
        Timestamp::from_unix_seconds(i64::MAX).to_string(),
        "9999-12-31T23:59:59.000Z",
        "a JWT exp past the text form is shown at its end, not as a panic"
    );
    assert_eq!((t + Duration::minutes(90)) - t, Duration::minutes(90));
    assert_eq!(
        (t - Duration::seconds(1)).to_string(),
        "2026-12-03T11:27:30.000Z"
    );
    assert_eq!(t.minute_text(), "2026-12-03 11:27");
}
