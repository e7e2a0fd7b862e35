//! CSV and JSONL exports of review records.

use countersign_review::export::{CSV_COLUMNS, to_csv, to_jsonl};
use countersign_wire::Tier;
use countersign_wire::api::{RequestState, ReviewRecord};

fn record(summary: &str, reason: &str) -> ReviewRecord {
    ReviewRecord {
        request_id: "r1".into(),
        received_at: "2026-11-22T09:00:00.000Z".parse().unwrap(),
        workflow: "demo".into(),
        tier: Tier::High,
        state: RequestState::Rejected,
        principal: "user:p".into(),
        action: "refunds · create on order:1".into(),
        summary: summary.into(),
        verdict: "valid".into(),
        findings: String::new(),
        escalations: "overdue".into(),
        decided_by: "user:rita".into(),
        decision: "reject".into(),
        reason: reason.into(),
        flags_acknowledged: String::new(),
        decided_at: Some("2026-11-22T09:05:00.000Z".parse().unwrap()),
        receipt: "skipped".into(),
        request_digest: "sha256:ab".into(),
        decision_digest: "sha256:cd".into(),
    }
}

#[test]
fn csv_quotes_what_needs_quoting_and_keeps_formulas_inert() {
    let csv = to_csv(&[
        record("Refund 189.90, \"late\"", "line one\nline two"),
        record("=HYPERLINK(\"http://evil\")", "+1 call me"),
    ]);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], CSV_COLUMNS.join(","));
    assert!(
        lines[1].contains(r#""Refund 189.90, ""late""""#),
        "{}",
        lines[1]
    );
    assert!(csv.contains("\"line one\nline two\""));
    // A cell a spreadsheet would evaluate is prefixed with a quote.
    assert!(csv.contains(r#""'=HYPERLINK(""http://evil"")""#), "{csv}");
    assert!(csv.contains(",'+1 call me,"), "{csv}");
    // Header + 2 records, each ending in CRLF (the second record holds a bare LF inside quotes).
    assert_eq!(csv.matches("\r\n").count(), 3);
}

#[test]
fn jsonl_is_one_record_per_line_and_reads_back() {
    let jsonl = to_jsonl(&[record("a", "b"), record("c\nd", "e")]);
    let back: Vec<ReviewRecord> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(back.len(), 2);
    assert_eq!(back[1].summary, "c\nd");
    assert_eq!(back[0].state, RequestState::Rejected);
}

#[test]
fn an_undecided_record_has_an_empty_decision_time_in_both_forms() {
    let undecided = ReviewRecord {
        decided_at: None,
        ..record("a", "")
    };
    let line = to_jsonl(std::slice::from_ref(&undecided));
    let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(value["decided_at"], "");
    let back: ReviewRecord = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(back.decided_at, None);
    let decided: serde_json::Value =
        serde_json::from_str(to_jsonl(&[record("a", "b")]).trim()).unwrap();
    assert_eq!(decided["decided_at"], "2026-11-22T09:05:00.000Z");
    let csv = to_csv(&[undecided]);
    let row = csv.lines().nth(1).unwrap();
    let column = CSV_COLUMNS.iter().position(|c| *c == "decided_at").unwrap();
    assert_eq!(row.split(',').nth(column), Some(""));
}
