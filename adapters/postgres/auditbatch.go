package postgres

// How a batch of audit records reaches the table: its first attempt by
// COPY, any later one by an INSERT that skips what an earlier attempt wrote.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm/clause"
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
	return append(row[:0], (*[16]byte)(&r.RecordID), &r.At, &r.Event, &r.Code, r.WechatErrcode, &r.UserDomain, &r.AppID,
		&r.AppKind, &r.UID, &r.OpenidHash, &r.ClientIP, &r.UserAgent, &r.RequestID, &r.Detail, r.DeviceGiven)
}

// auditArrays is a batch as one typed array per column: insertAuditBatch's
// parameters, which pgx encodes in any of its query modes.
type auditArrays struct {
	recordID                                                                   [][16]byte
	at                                                                         []time.Time
	code                                                                       []int64
	wechatErrcode                                                              []*int64
	event, userDomain, appID, appKind, uid, openidHash, clientIP, ua, reqID, d []string
	deviceGiven                                                                []*bool
}

// insertAuditBatch writes a batch again, skipping the records already there.
var insertAuditBatch = mustStatement("insert_audit_batch.sql", map[string]func(*auditArrays) any{
	"record_id":      func(a *auditArrays) any { return a.recordID },
	"at":             func(a *auditArrays) any { return a.at },
	"event":          func(a *auditArrays) any { return a.event },
	"code":           func(a *auditArrays) any { return a.code },
	"wechat_errcode": func(a *auditArrays) any { return a.wechatErrcode },
	"user_domain":    func(a *auditArrays) any { return a.userDomain },
	"app_id":         func(a *auditArrays) any { return a.appID },
	"app_kind":       func(a *auditArrays) any { return a.appKind },
	"uid":            func(a *auditArrays) any { return a.uid },
	"openid_hash":    func(a *auditArrays) any { return a.openidHash },
	"client_ip":      func(a *auditArrays) any { return a.clientIP },
	"user_agent":     func(a *auditArrays) any { return a.ua },
	"request_id":     func(a *auditArrays) any { return a.reqID },
	"detail":         func(a *auditArrays) any { return a.d },
	"device_given":   func(a *auditArrays) any { return a.deviceGiven },
})

// auditBatchArgs are insertAuditBatch's arguments for buf.
func auditBatchArgs(buf []auditRow) []any {
	var a auditArrays
	for i := range buf {
		r := &buf[i]
		a.recordID = append(a.recordID, r.RecordID)
		a.at = append(a.at, r.At)
		a.code = append(a.code, int64(r.Code))
		var errcode *int64
		if r.WechatErrcode != nil {
			c := int64(*r.WechatErrcode)
			errcode = &c
		}
		a.wechatErrcode = append(a.wechatErrcode, errcode)
		a.event = append(a.event, r.Event)
		a.userDomain = append(a.userDomain, r.UserDomain)
		a.appID = append(a.appID, r.AppID)
		a.appKind = append(a.appKind, r.AppKind)
		a.uid = append(a.uid, r.UID)
		a.openidHash = append(a.openidHash, r.OpenidHash)
		a.clientIP = append(a.clientIP, r.ClientIP)
		a.ua = append(a.ua, r.UserAgent)
		a.reqID = append(a.reqID, r.RequestID)
		a.d = append(a.d, r.Detail)
		a.deviceGiven = append(a.deviceGiven, r.DeviceGiven)
	}
	return insertAuditBatch.args(&a)
}

// errNotPgx: the pool's connections are not pgx's (a host's *gorm.DB on
// another driver, or wrapped by one): no COPY.
var errNotPgx = errors.New("the pool's driver is not pgx")

// writeBatch writes buf in one transaction. A batch never attempted is
// copied (COPY: no statement to parse or plan, no parameter per value; its
// record ids are new, drawn by Record); a batch attempted before, whose
// COMMIT may have been done, is inserted with ON CONFLICT DO NOTHING on its
// record ids, so nothing is written twice. On a pool that is not pgx's, every
// attempt is GORM's INSERT with that clause.
func (w *AuditWriter) writeBatch(ctx context.Context, buf []auditRow) error {
	again := false
	for i := range buf {
		again = again || buf[i].tried
		buf[i].tried = true
	}
	err := w.writePgx(ctx, buf, again)
	switch {
	case errors.Is(err, errNotPgx):
		return w.db.WithContext(ctx).Clauses(onRecordID).Create(&buf).Error
	case !again && hasCode(err, "23505"):
		// A record id already stored: never expected of new ids, but a
		// batch is never lost for it: written again, skipping it.
		return w.writePgx(ctx, buf, true)
	}
	return err
}

// onRecordID skips the records a previous attempt of their batch wrote (the
// conflict target names the partial unique index's predicate).
var onRecordID = clause.OnConflict{Columns: []clause.Column{{Name: "record_id"}},
	TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "record_id IS NOT NULL"}}}, DoNothing: true}

// writePgx writes buf in one transaction on one of the pool's pgx
// connections: by COPY, or, again, by insertAuditBatch.
func (w *AuditWriter) writePgx(ctx context.Context, buf []auditRow, again bool) error {
	sqlDB, err := w.db.DB()
	if err != nil {
		return fmt.Errorf("%w: %w", errNotPgx, err)
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
