-- Enrolments become audit events (kind `reviewer_enrolled`, with the keys), so a bundle can
-- prove each decider's key was enrolled. Reviewers enrolled before this get one event now,
-- with the keys they hold, sealed by the next seal like any other event.
INSERT INTO events (kind, request_id, state, at, actor, detail)
SELECT 'reviewer_enrolled',
       'enrolment:' || r.identity,
       'none',
       r.enrolled_at,
       NULL,
       json_object(
           'identity', r.identity,
           'display_name', r.display_name,
           'roles', json(r.roles),
           'tiers', json(r.tiers),
           'keys', (SELECT json_group_array(json_object('kid', k.kid, 'jwk', json(k.jwk)))
                    FROM reviewer_keys k WHERE k.identity = r.identity)
       )
FROM reviewers r
ORDER BY r.enrolled_at, r.identity;
