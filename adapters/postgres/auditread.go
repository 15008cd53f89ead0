package postgres

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
)

// The audit trail's two readers: a user's records for an export, and an
// operator's listing. Both read the rows the AuditWriter wrote.
var (
	_ application.AuditReader = (*Store)(nil)
	_ application.AuditLister = (*Store)(nil)
)

// UserAuditRecords implements application.AuditReader: the records of uid in
// userDomain, oldest first, through the (user_domain, at) index (the trail
// holds the retention's records only: the purge deletes older ones).
func (s *Store) UserAuditRecords(ctx context.Context, userDomain, uid string, limit int) ([]application.AuditRecord, error) {
	var rows []auditRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Where("user_domain = ? AND uid = ?", userDomain, uid).Order("at, id").Limit(limit).Find(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list the audit records of user %s: %w", uid, err)
	}
	return auditRecords(rows), nil
}

// AuditEvents implements application.AuditLister: the records of q, newest
// first.
func (s *Store) AuditEvents(ctx context.Context, q application.AuditQuery) ([]application.AuditRecord, error) {
	tx := s.db.WithContext(ctx).Where("user_domain = ? AND at >= ?", q.UserDomain, q.Since)
	if q.UID != "" {
		tx = tx.Where("uid = ?", q.UID)
	}
	if q.Limit > 0 {
		tx = tx.Limit(q.Limit)
	}
	var rows []auditRow
	if err := tx.Order("at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return auditRecords(rows), nil
}

// auditRecords maps stored rows to records, times in UTC.
func auditRecords(rows []auditRow) []application.AuditRecord {
	out := make([]application.AuditRecord, len(rows))
	for i, r := range rows {
		out[i] = application.AuditRecord{Time: r.At.UTC(), Event: r.Event, Code: r.Code, WeChatErrcode: r.WechatErrcode,
			UserDomain: r.UserDomain, AppID: r.AppID, AppKind: r.AppKind, UID: r.UID, OpenIDHash: r.OpenidHash,
			ClientIP: r.ClientIP, UserAgent: r.UserAgent, RequestID: r.RequestID, Detail: r.Detail, DeviceGiven: r.DeviceGiven}
	}
	return out
}
