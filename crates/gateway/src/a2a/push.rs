//! Push-notification configs: where a workflow wants a task's end POSTed. Registered inline
//! with `SendMessage` or by the config methods; stored, and delivered from the durable outbox
//! with the same retries as webhooks (A2A §4.3.3): `POST {url}`, `application/json`, a
//! `StreamResponse` holding the task, `Authorization: {scheme} {credentials}` and
//! `X-A2A-Notification-Token` when configured.

use a2a::{A2AError, StreamResponse, TaskPushNotificationConfig};
use axum::http::HeaderValue;
use countersign_review::webhook::check_receiver_url;
use countersign_store::{MAX_PUSH_CONFIGS, PushConfig, PushWrite};

use super::{owned_task, storage_failed, task_of};
use crate::AppState;
use crate::outbox::Outbound;

/// Longest config id, token or credentials accepted.
const MAX_FIELD_CHARS: usize = 4096;
/// The header carrying the config's token back to the receiver.
const TOKEN_HEADER: &str = "x-a2a-notification-token";

/// A config as a client sent it, checked: nothing unusable is stored.
pub(super) struct PendingConfig {
    id: Option<String>,
    url: String,
    token: Option<String>,
    auth: Option<(String, Option<String>)>,
}

fn header_safe(field: &str, text: &str) -> Result<(), A2AError> {
    if text.len() > MAX_FIELD_CHARS || HeaderValue::from_str(text).is_err() {
        return Err(A2AError::invalid_params(format!(
            "{field} must be printable text of at most {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(())
}

impl PendingConfig {
    pub(super) fn check(mut config: TaskPushNotificationConfig) -> Result<Self, A2AError> {
        // Proto-generated clients send absent strings as "".
        config.id = config.id.filter(|id| !id.is_empty());
        config.token = config.token.filter(|t| !t.is_empty());
        if let Some(auth) = &mut config.authentication {
            auth.credentials = auth.credentials.take().filter(|c| !c.is_empty());
        }
        check_receiver_url(&config.url)
            .map_err(|e| A2AError::invalid_params(format!("url: {e}")))?;
        if let Some(id) = &config.id {
            let plain = id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
            if id.len() > 128 || !plain {
                return Err(A2AError::invalid_params(
                    "id must be 1 to 128 letters, digits, '-', '_', '.' or ':'",
                ));
            }
        }
        if let Some(token) = &config.token {
            header_safe("token", token)?;
        }
        if let Some(auth) = &config.authentication {
            // An HTTP auth scheme is a token (RFC 9110 §11.1): no spaces, no separators.
            let scheme_ok = !auth.scheme.is_empty()
                && auth.scheme.len() <= 64
                && auth
                    .scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
            if !scheme_ok {
                return Err(A2AError::invalid_params(
                    "authentication.scheme must be an HTTP auth scheme such as Bearer",
                ));
            }
            if let Some(credentials) = &auth.credentials {
                header_safe("authentication.credentials", credentials)?;
            }
        }
        Ok(Self {
            id: config.id,
            url: config.url,
            token: config.token,
            auth: config.authentication.map(|a| (a.scheme, a.credentials)),
        })
    }

    /// Stores it for `task_id` (replacing a config of the same id).
    pub(super) async fn store(
        self,
        state: &AppState,
        task_id: &str,
    ) -> Result<TaskPushNotificationConfig, A2AError> {
        let (auth_scheme, auth_credentials) = self.auth.unzip();
        let config = PushConfig {
            task_id: task_id.to_owned(),
            config_id: self.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            url: self.url,
            token: self.token,
            auth_scheme,
            auth_credentials: auth_credentials.flatten(),
        };
        let now = state.clock.now();
        let write = state
            .store
            .put_push_config(&config, now.into())
            .await
            .map_err(storage_failed)?;
        match write {
            PushWrite::Stored => {
                // A task that had already ended is pushed now.
                state.wake_workers.notify_waiters();
                Ok(view(&config))
            }
            PushWrite::TooMany => Err(A2AError::invalid_params(format!(
                "a task takes at most {MAX_PUSH_CONFIGS} push configs; delete one first"
            ))),
        }
    }
}

/// The config as clients see it: credentials are write-only.
fn view(config: &PushConfig) -> TaskPushNotificationConfig {
    TaskPushNotificationConfig {
        url: config.url.clone(),
        id: Some(config.config_id.clone()),
        task_id: config.task_id.clone(),
        token: config.token.clone(),
        authentication: config
            .auth_scheme
            .as_ref()
            .map(|scheme| a2a::AuthenticationInfo {
                scheme: scheme.clone(),
                credentials: None,
            }),
        tenant: None,
    }
}

fn config_not_found(task_id: &str, id: &str) -> A2AError {
    A2AError::new(
        a2a::error_code::TASK_NOT_FOUND,
        format!("task {task_id} has no push config {id}"),
    )
}

/// `CreateTaskPushNotificationConfig`.
pub(super) async fn create(
    state: &AppState,
    workflow: &str,
    config: TaskPushNotificationConfig,
) -> Result<TaskPushNotificationConfig, A2AError> {
    // A missing task id is a malformed call, not a task that cannot be found.
    if config.task_id.trim().is_empty() {
        return Err(A2AError::invalid_params("taskId is required"));
    }
    let (task, _) = owned_task(state, workflow, &config.task_id).await?;
    PendingConfig::check(config)?
        .store(state, &task.task_id)
        .await
}

/// `GetTaskPushNotificationConfig`.
pub(super) async fn get(
    state: &AppState,
    workflow: &str,
    task_id: &str,
    id: &str,
) -> Result<TaskPushNotificationConfig, A2AError> {
    owned_task(state, workflow, task_id).await?;
    state
        .store
        .push_config(task_id, id)
        .await
        .map_err(storage_failed)?
        .map(|c| view(&c))
        .ok_or_else(|| config_not_found(task_id, id))
}

/// `ListTaskPushNotificationConfigs`: all of a task's configs (there are few).
pub(super) async fn list(
    state: &AppState,
    workflow: &str,
    task_id: &str,
) -> Result<a2a::ListTaskPushNotificationConfigsResponse, A2AError> {
    owned_task(state, workflow, task_id).await?;
    let configs = state
        .store
        .push_configs(task_id)
        .await
        .map_err(storage_failed)?;
    Ok(a2a::ListTaskPushNotificationConfigsResponse {
        configs: configs.iter().map(view).collect(),
        next_page_token: None,
    })
}

/// `DeleteTaskPushNotificationConfig`: idempotent; a push still queued for it is dropped.
pub(super) async fn delete(
    state: &AppState,
    workflow: &str,
    task_id: &str,
    id: &str,
) -> Result<(), A2AError> {
    owned_task(state, workflow, task_id).await?;
    state
        .store
        .delete_push_config(task_id, id)
        .await
        .map_err(storage_failed)?;
    Ok(())
}

/// What to POST for a queued push; `None` when its config or task is gone.
pub(crate) async fn push_notification(
    state: &AppState,
    task_id: &str,
    config_id: &str,
) -> Result<Option<Outbound>, A2AError> {
    let Some(config) = state
        .store
        .push_config(task_id, config_id)
        .await
        .map_err(storage_failed)?
    else {
        return Ok(None);
    };
    let Some(task) = state
        .store
        .a2a_task(task_id)
        .await
        .map_err(storage_failed)?
    else {
        return Ok(None);
    };
    let Some(stored) = state
        .store
        .request(&task.request_id)
        .await
        .map_err(storage_failed)?
    else {
        return Ok(None);
    };
    let now = task_of(state, &task, &stored).await?;
    let body = serde_json::to_string(&StreamResponse::Task(now))
        .map_err(|e| A2AError::internal(e.to_string()))?;
    let mut headers = vec![("content-type", "application/json".to_owned())];
    if let Some(scheme) = &config.auth_scheme {
        let value = match &config.auth_credentials {
            Some(credentials) => format!("{scheme} {credentials}"),
            None => scheme.clone(),
        };
        headers.push(("authorization", value));
    }
    if let Some(token) = &config.token {
        headers.push((TOKEN_HEADER, token.clone()));
    }
    Ok(Some(Outbound {
        url: config.url,
        body,
        headers,
    }))
}
