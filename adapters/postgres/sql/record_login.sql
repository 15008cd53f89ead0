-- RecordLogin (adapters/postgres/users.go): a login and its session in one
-- call, one round trip, whatever the step: the function enduser_record_login
-- (migrations/00019_record_login_function.sql, whose header says which domain
-- step each part carries out). It decides what domain.DecideLogin decides
-- (domain/identity.go), from the same facts; the shared table
-- domain.IdentityCases, replayed by the repository contract, holds the two
-- equal. A lost race raises SQLSTATE EU409 and writes nothing.
SELECT * FROM enduser_record_login(
	p_user_domain => @user_domain, p_app_id => @app_id, p_open_id => @open_id, p_union_id => @union_id,
	p_candidate_uid => @candidate_uid, p_candidate_status => @candidate_status,
	p_registered_at => @registered_at, p_registered_via => @registered_via, p_login_at => @login_at,
	p_session_id => @session_id, p_session_user_domain => @session_user_domain, p_session_app_id => @session_app_id,
	p_refresh_key_enc => @refresh_key_enc, p_refresh_counter => @refresh_counter,
	p_session_created_at => @session_created_at, p_session_expires_at => @session_expires_at,
	p_refresh_expires_at => @refresh_expires_at)
