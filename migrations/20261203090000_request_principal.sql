-- The principal is stored as such, so that nothing re-parses a request's body to find it.
ALTER TABLE requests ADD COLUMN principal TEXT NOT NULL DEFAULT '';
UPDATE requests SET principal = json_extract(body, '$.principal')
 WHERE json_valid(body) AND json_type(body, '$.principal') = 'text';
-- The intake answer follows from the state (refused: 422, otherwise 201); the stored status
-- was written on every request and never read back.
ALTER TABLE requests DROP COLUMN intake_status;
