//! Review records as JSONL and CSV. CSV follows RFC 4180, and a cell that a spreadsheet would
//! run as a formula (it starts with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed
//! with `'`: exported text comes from agents and must stay inert there too.

use countersign_wire::api::ReviewRecord;

/// Column order of the CSV export (the JSONL keys are the same).
pub const CSV_COLUMNS: [&str; 19] = [
    "request_id",
    "received_at",
    "workflow",
    "tier",
    "state",
    "principal",
    "action",
    "summary",
    "verdict",
    "findings",
    "escalations",
    "decided_by",
    "decision",
    "reason",
    "flags_acknowledged",
    "decided_at",
    "receipt",
    "request_digest",
    "decision_digest",
];

fn cell(text: &str) -> String {
    let inert = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if inert.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", inert.replace('"', "\"\""))
    } else {
        inert
    }
}

/// One CSV line (with CRLF, as RFC 4180 says).
fn csv_line(record: &ReviewRecord) -> String {
    let received_at = record.received_at.to_string();
    let decided_at = record
        .decided_at
        .map(|at| at.to_string())
        .unwrap_or_default();
    let cells = [
        record.request_id.as_str(),
        &received_at,
        &record.workflow,
        record.tier.as_str(),
        record.state.as_str(),
        &record.principal,
        &record.action,
        &record.summary,
        &record.verdict,
        &record.findings,
        &record.escalations,
        &record.decided_by,
        &record.decision,
        &record.reason,
        &record.flags_acknowledged,
        &decided_at,
        &record.receipt,
        &record.request_digest,
        &record.decision_digest,
    ];
    let mut line = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// The records as CSV with a header row.
pub fn to_csv(records: &[ReviewRecord]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for record in records {
        out.push_str(&csv_line(record));
    }
    out
}

/// The records as JSON Lines.
pub fn to_jsonl(records: &[ReviewRecord]) -> String {
    let mut out = String::new();
    for record in records {
        // A record is strings and enums only: serializing cannot fail.
        if let Ok(line) = serde_json::to_string(record) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
