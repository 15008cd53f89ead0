package postgres

// How a batch of audit records reaches the table: its first attempt by
// COPY, any later one by an INSERT that skips what an earlier attempt wrote.

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// auditColumns are the columns a batch writes, in the order of auditValues
// (the id is the table's identity).
var auditColumns = []string{"record_id", "at", "event", "code", "wechat_errcode", "user_domain", "app_id", "app_kind",
	"uid", "openid_hash", "client_ip", "user_agent", "request_id", "detail", "device_given"}

// auditValues are r's values for auditColumns, in row (reused: COPY encodes
// a row before it asks for the next): pointers to r's fields, which need no
// allocation to become an any (the record id as its 16 bytes: pgx encodes a
// uuid.UUID through its text, by driver.Valuer).
func auditValues(row []any, r *auditRow) []any {
	return append(row[:0], (*[16]byte)(&r.RecordID), &r.At, &r.Event, &r.Code, r.WechatErrcode, &r.UserDomain, &r.AppID, &r.AppKind,
		&r.UID, &r.OpenidHash, &r.ClientIP, &r.UserAgent, &r.RequestID, &r.Detail, r.DeviceGiven)
}

// auditArrays is a batch as one array per column: the parameters of
// insertAuditBatch.
type auditArrays [][]any

// insertAuditBatch writes a batch again, skipping the records already there.
var insertAuditBatch = mustStatement("insert_audit_batch.sql", func() map[string]func(*auditArrays) any {
	binds := make(map[string]func(*auditArrays) any, len(auditColumns))
	for i, c := range auditColumns {
		binds[c] = func(a *auditArrays) any { return (*a)[i] }
	}
	return binds
}())

// errNotPgx is a pool whose driver is not pgx's (a host's own *gorm.DB on
// another driver): the batch cannot be written, whatever a retry does.
var errNotPgx = errors.New("the pool's driver is not pgx")

// writeBatch writes buf in one transaction on one of the pool's connections.
// A batch never attempted is copied (COPY: no statement to parse or plan,
// no parameter per value; its record ids are new, drawn by Record); a batch
// attempted before, whose COMMIT may have been done, is inserted with ON
// CONFLICT DO NOTHING on its record ids, so nothing is written twice.
func (w *AuditWriter) writeBatch(ctx context.Context, buf []auditRow) error {
	again := false
	for i := range buf {
		again = again || buf[i].tried
		buf[i].tried = true
	}
	sqlDB, err := w.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("%w: %T", errNotPgx, dc)
		}
		return pgx.BeginFunc(ctx, c.Conn(), func(tx pgx.Tx) error {
			var err error
			if again {
				_, err = tx.Exec(ctx, insertAuditBatch.sql, auditBatchArgs(buf)...)
			} else {
				_, err = tx.CopyFrom(ctx, pgx.Identifier{"enduser_audit_events"}, auditColumns, auditRowSource(buf))
			}
			if err == nil && w.beforeCommit != nil {
				err = w.beforeCommit(ctx, tx)
			}
			return err
		})
	})
}

// auditBatchArgs are insertAuditBatch's arguments for buf.
func auditBatchArgs(buf []auditRow) []any {
	a := make(auditArrays, len(auditColumns))
	for j := range a {
		a[j] = make([]any, len(buf))
	}
	for i := range buf {
		for j, v := range auditValues(nil, &buf[i]) {
			a[j][i] = v
		}
	}
	return insertAuditBatch.args(&a)
}

// auditRowSource feeds buf to COPY, one row at a time.
func auditRowSource(buf []auditRow) pgx.CopyFromSource {
	i, row := -1, make([]any, 0, len(auditColumns))
	return pgx.CopyFromFunc(func() ([]any, error) {
		if i++; i == len(buf) {
			return nil, nil
		}
		row = auditValues(row, &buf[i])
		return row, nil
	})
}
