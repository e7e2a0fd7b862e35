//! Notes from the requesting workflow, sent while its request waits for a person: over REST
//! (`POST /v1/requests/{id}/notes`) or as an A2A follow-up message naming the task. A note is
//! the requester's unverified word: consoles show it as untrusted text, the audit log seals
//! it, and nothing a decision signs is touched.

use axum::extract::State;
use axum::http::StatusCode;
use countersign_store::{NoteWrite, StoreError};
use countersign_wire::api::{ErrorCode, NoteSubmission, RequestState, RequesterNote};

use crate::AppState;
use crate::auth::Workflow;
use crate::decisions::owned;
use crate::error::{Failure, Result};
use crate::extract::{JsonBody, PathParams};

/// Most notes one request takes, and the longest note: each is shown to a person, who should
/// not have to page through a requester's word to find what they are asked to approve.
pub(crate) const MAX_NOTES: u32 = 20;
pub(crate) const MAX_NOTE_CHARS: usize = 4000;

/// Why a note was not taken.
#[derive(Debug)]
pub(crate) enum NoteRefused {
    /// Its message id is empty.
    NoMessageId,
    /// Its text is empty or blank.
    Empty,
    /// Its text is longer than [`MAX_NOTE_CHARS`].
    TooLong,
    /// Its message id was already used for another text.
    MessageIdReused(String),
    /// The request already holds [`MAX_NOTES`] notes.
    TooMany,
    /// The request has ended.
    Ended(RequestState),
}

impl NoteRefused {
    pub(crate) fn message(&self) -> String {
        match self {
            NoteRefused::NoMessageId => "a note needs a message id".into(),
            NoteRefused::Empty => "a note needs text for the reviewer".into(),
            NoteRefused::TooLong => {
                format!("a note for the reviewer holds at most {MAX_NOTE_CHARS} characters")
            }
            NoteRefused::MessageIdReused(id) => {
                format!("message id {id} was already sent with another text")
            }
            NoteRefused::TooMany => {
                format!("this request already holds {MAX_NOTES} notes for the reviewer")
            }
            NoteRefused::Ended(state) => {
                format!("request is {}; it takes no further notes", state.as_str())
            }
        }
    }
}

/// Checks and stores a note from `workflow` (which owns the request) and publishes its
/// event. `Ok(true)` when it is new, `Ok(false)` when this message was already taken.
pub(crate) async fn add_note(
    state: &AppState,
    workflow: &str,
    request_id: &str,
    message_id: &str,
    text: String,
) -> std::result::Result<std::result::Result<bool, NoteRefused>, StoreError> {
    if message_id.is_empty() {
        return Ok(Err(NoteRefused::NoMessageId));
    }
    if text.trim().is_empty() {
        return Ok(Err(NoteRefused::Empty));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Ok(Err(NoteRefused::TooLong));
    }
    let note = RequesterNote {
        message_id: message_id.to_owned(),
        text,
        at: state.clock.timestamp(),
    };
    Ok(
        match state
            .store
            .add_requester_note(request_id, workflow, &note, MAX_NOTES)
            .await?
        {
            NoteWrite::Added(event) => {
                state.publish([event]);
                Ok(true)
            }
            // The same message sent again (a retry) is the same note.
            NoteWrite::AlreadyAdded => Ok(false),
            NoteWrite::Conflict => Err(NoteRefused::MessageIdReused(note.message_id)),
            NoteWrite::TooMany => Err(NoteRefused::TooMany),
            NoteWrite::NotOpen(state) => Err(NoteRefused::Ended(state)),
        },
    )
}

/// `POST /v1/requests/{id}/notes`: 201 when the note is new, 200 when it was already taken.
pub(crate) async fn post_note(
    State(state): State<AppState>,
    Workflow(workflow): Workflow,
    PathParams(id): PathParams<String>,
    JsonBody(note): JsonBody<NoteSubmission>,
) -> Result<StatusCode> {
    owned(&state, &id, &workflow).await?;
    match add_note(&state, &workflow, &id, &note.message_id, note.text).await? {
        Ok(true) => Ok(StatusCode::CREATED),
        Ok(false) => Ok(StatusCode::OK),
        Err(NoteRefused::Ended(current)) => Err(Failure::new(
            ErrorCode::NotPending,
            NoteRefused::Ended(current).message(),
        )
        .with_state(current)),
        Err(refused) => Err(Failure::new(ErrorCode::InvalidBody, refused.message())),
    }
}
