//! Notes from the requesting workflow: follow-up messages sent while a request waits for a
//! person. Each note is stored with its `requester_note` event (and so sealed in the audit
//! log) in one transaction; nothing here touches the request, its report or its decisions.

use std::collections::HashMap;

use countersign_wire::api::{EventKind, GatewayEvent, RequestState, RequesterNote};
use sqlx::sqlite::SqliteRow;

use crate::Store;
use crate::error::Result;
use crate::events::{EventRow, append_event};
use crate::rows::Column as _;
use crate::supervision::open_state;

/// Outcome of [`Store::add_requester_note`].
#[derive(Clone, Debug)]
pub enum NoteWrite {
    /// Stored, with its event.
    Added(GatewayEvent),
    /// This message was already stored with the same text: nothing new.
    AlreadyAdded,
    /// This message id was already used for another text.
    Conflict,
    /// The request already has `limit` notes.
    TooMany,
    /// The request is not open (or does not exist: `Refused`).
    NotOpen(RequestState),
}

fn note_from_row(row: &SqliteRow) -> Result<RequesterNote> {
    Ok(RequesterNote {
        message_id: row.col("message_id")?,
        text: row.col("text")?,
        at: row.col("at")?,
    })
}

impl Store {
    /// Adds a note from `workflow` to an open request, unless it already has `limit` notes.
    pub async fn add_requester_note(
        &self,
        request_id: &str,
        workflow: &str,
        note: &RequesterNote,
        limit: u32,
    ) -> Result<NoteWrite> {
        let mut tx = self.write.begin().await?;
        let state = match open_state(&mut tx, request_id).await? {
            Ok(state) => state,
            Err(state) => return Ok(NoteWrite::NotOpen(state)),
        };
        let earlier: Option<String> = sqlx::query_scalar(
            "SELECT text FROM requester_notes WHERE request_id = ? AND message_id = ?",
        )
        .bind(request_id)
        .bind(&note.message_id)
        .fetch_optional(&mut *tx)
        .await?;
        match earlier {
            Some(text) if text == note.text => return Ok(NoteWrite::AlreadyAdded),
            Some(_) => return Ok(NoteWrite::Conflict),
            None => {}
        }
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM requester_notes WHERE request_id = ?")
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?;
        if count >= i64::from(limit) {
            return Ok(NoteWrite::TooMany);
        }
        let detail = serde_json::json!({ "message_id": note.message_id, "text": note.text });
        let event = append_event(
            &mut tx,
            EventRow {
                detail: Some(detail.to_string()),
                ..EventRow::new(
                    EventKind::RequesterNote,
                    request_id,
                    state,
                    note.at,
                    Some(workflow),
                )
            },
        )
        .await?;
        sqlx::query(
            "INSERT INTO requester_notes (request_id, message_id, text, at, event_id) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(request_id)
        .bind(&note.message_id)
        .bind(&note.text)
        .bind(note.at)
        .bind(event.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(NoteWrite::Added(event))
    }

    /// A request's notes, oldest first.
    pub async fn requester_notes(&self, request_id: &str) -> Result<Vec<RequesterNote>> {
        sqlx::query("SELECT * FROM requester_notes WHERE request_id = ? ORDER BY event_id")
            .bind(request_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(note_from_row)
            .collect()
    }

    /// The notes of every open request, by request id, oldest first.
    pub async fn open_requester_notes(&self) -> Result<HashMap<String, Vec<RequesterNote>>> {
        let mut by_request: HashMap<String, Vec<RequesterNote>> = HashMap::new();
        for row in sqlx::query(concat!(
            "SELECT n.* FROM requester_notes n JOIN requests r ON r.request_id = n.request_id
             WHERE r.state IN ",
            open_states!(),
            " ORDER BY n.event_id"
        ))
        .fetch_all(&self.read)
        .await?
        {
            by_request
                .entry(row.col("request_id")?)
                .or_default()
                .push(note_from_row(&row)?);
        }
        Ok(by_request)
    }
}
