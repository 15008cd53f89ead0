-- insertAuditBatch (adapters/postgres/auditbatch.go): a batch of audit
-- records written again after an attempt whose outcome is unknown (its
-- connection lost, its COMMIT's answer lost). One array per column, one row
-- per index: the statement's text and its plan are the same whatever the
-- batch's size (a VALUES list of 500 rows is 7,500 parameters to parse,
-- plan and bind). A record an earlier attempt did write is skipped by its id
-- (the partial unique index of migration 00016); the first attempt of a
-- batch is a COPY (auditbatch.go), which has no such clause.
INSERT INTO enduser_audit_events (record_id, at, event, code, wechat_errcode, user_domain, app_id, app_kind, uid,
	openid_hash, client_ip, user_agent, request_id, detail, device_given)
SELECT * FROM unnest(@record_id::uuid[], @at::timestamptz[], @event::text[], @code::int[], @wechat_errcode::int[],
	@user_domain::text[], @app_id::text[], @app_kind::text[], @uid::text[], @openid_hash::text[], @client_ip::text[],
	@user_agent::text[], @request_id::text[], @detail::text[], @device_given::bool[])
ON CONFLICT (record_id) WHERE record_id IS NOT NULL DO NOTHING
