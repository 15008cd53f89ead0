-- SpendRefreshToken (adapters/postgres/sessions.go): a refresh's one
-- statement, one round trip. Of concurrent callers presenting the same
-- refresh token (the session @session_id at counter @from), exactly one
-- spends it.
--
--   cover       the session's user domain and the scope revocations that may
--               cover it (the same joins as SessionByID's coverJoins and
--               coverColumns, in the same snapshot): the user's (whether the
--               user is disabled, revoked before) and the user domain's
--   spent       domain.Session's refresh rule: the token is spent (counter
--               + 1, rotated at @now, refresh expiry @refresh_expires_at, never
--               past the session's expiry) only if the counter is still
--               @from, the session is neither revoked nor expired, its user
--               is not disabled and no scope revocation covers it
--               (domain.RevokedBy, at the millisecond)
--   1st branch  the session as spent, with what cover read
--   2nd branch  runs only when spent changed nothing: the session as of the
--               statement's snapshot, i.e. before a concurrent spend that the
--               UPDATE waited for and then found had moved the counter (READ
--               COMMITTED re-checks only the updated row): a counter still at
--               @from is how a lost race shows. With what cover read, so that
--               the caller can say why (scopeCover.apply: KindUserDisabled, or
--               revoked), without joining the user domain again
WITH cover AS (
	SELECT d.name AS user_domain,
	ur.revoked_before AS user_before, COALESCE(ur.disabled, false) AS disabled, dr.revoked_before AS domain_before
	FROM enduser_sessions s JOIN enduser_user_domains d ON d.id = s.user_domain_id
	LEFT JOIN enduser_revocations ur ON ur.kind = 'user' AND ur.subject = s.user_id
	LEFT JOIN enduser_revocations dr ON dr.kind = 'user_domain' AND dr.subject = d.name
	WHERE s.id = @session_id
),
spent AS (
	UPDATE enduser_sessions
	SET refresh_counter = refresh_counter + 1, rotated_at = @now, refresh_expires_at = LEAST(@refresh_expires_at, expires_at)
	WHERE id = @session_id AND refresh_counter = @from AND revoked_at IS NULL AND expires_at > @now AND refresh_expires_at > @now
	  AND NOT EXISTS (SELECT 1 FROM cover c WHERE c.disabled
	      OR c.user_before >= date_trunc('milliseconds', enduser_sessions.created_at)
	      OR c.domain_before >= date_trunc('milliseconds', enduser_sessions.created_at))
	RETURNING id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter, created_at, expires_at, refresh_expires_at,
	          rotated_at, revoked_at
)
SELECT true AS spent, s.id, s.user_id, s.user_domain_id, c.user_domain, s.app_id, s.refresh_key_enc, s.refresh_counter,
       s.created_at, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at, c.user_before, c.disabled, c.domain_before
FROM spent s CROSS JOIN cover c
UNION ALL
SELECT false, s.id, s.user_id, s.user_domain_id, c.user_domain, s.app_id, s.refresh_key_enc, s.refresh_counter,
       s.created_at, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at, c.user_before, c.disabled, c.domain_before
FROM enduser_sessions s CROSS JOIN cover c
WHERE s.id = @session_id AND NOT EXISTS (SELECT 1 FROM spent)
