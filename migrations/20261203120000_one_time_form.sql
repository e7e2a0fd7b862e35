-- Every stored time takes one text form, RFC 3339 in UTC with milliseconds
-- (`2026-12-03T11:27:31.123Z`, the store's Timestamp): fixed width, so SQL compares times as
-- text. Three times were also kept as integer seconds for the sweeps; those copies go.

-- A request's expiry: the sender's text becomes the one form (it stays as sent in `body`).
DROP INDEX requests_open_by_expiry;
ALTER TABLE requests DROP COLUMN expires_at;
ALTER TABLE requests RENAME COLUMN expires_at_text TO expires_at;
UPDATE requests SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', expires_at)
 WHERE strftime('%Y-%m-%dT%H:%M:%fZ', expires_at) IS NOT NULL;
CREATE INDEX requests_open_by_expiry ON requests(state, expires_at);

-- Single-use console tokens, remembered until they expire.
ALTER TABLE console_token_jtis RENAME COLUMN expires_at TO expires_at_seconds;
ALTER TABLE console_token_jtis ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
UPDATE console_token_jtis
   SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', expires_at_seconds, 'unixepoch');
ALTER TABLE console_token_jtis DROP COLUMN expires_at_seconds;

-- When a webhook or push delivery is next tried.
DROP INDEX outbox_due;
ALTER TABLE outbox RENAME COLUMN next_attempt_at TO next_attempt_seconds;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT NOT NULL DEFAULT '';
UPDATE outbox SET next_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ', next_attempt_seconds, 'unixepoch');
ALTER TABLE outbox DROP COLUMN next_attempt_seconds;
CREATE INDEX outbox_due ON outbox(delivered_at, next_attempt_at);

-- Times the gateway wrote in other forms (seconds, or RFC 3339 without milliseconds) become
-- the one form, so comparisons between columns hold.
UPDATE requests SET received_at = strftime('%Y-%m-%dT%H:%M:%fZ', received_at)
 WHERE strftime('%Y-%m-%dT%H:%M:%fZ', received_at) IS NOT NULL;
