package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/iotplatform/enduser-auth/application"
)

// sealedColumn is one column that holds values sealed under the master key:
// its table, the columns that name a row (the primary key or a unique key,
// with their SQL types) and the function that makes a row's AAD from their
// text values, exactly as the code that writes the column seals it.
type sealedColumn struct {
	table  string
	keys   []keyColumn
	column string
	aad    func(key []string) string
}

type keyColumn struct{ name, sqlType string }

// sealedColumns lists every sealed column: a new table with a secret is one
// more line here (and nothing else) for `keys rotate-master` to re-encrypt it
// and count what is left.
var sealedColumns = []sealedColumn{
	{"enduser_user_domains", []keyColumn{{"name", "text"}}, "secret_enc", func(k []string) string { return userDomainAAD(k[0]) }},
	{"enduser_user_domains", []keyColumn{{"name", "text"}}, "previous_secret_enc", func(k []string) string { return previousSecretAAD(k[0]) }},
	{"enduser_official_accounts", []keyColumn{{"user_domain_id", "bigint"}, {"app_id", "text"}}, "app_secret_enc",
		func(k []string) string { id, _ := strconv.ParseInt(k[0], 10, 64); return officialAccountAAD(id, k[1]) }},
	{"enduser_signing_keys", []keyColumn{{"kid", "text"}}, "private_key_enc", func(k []string) string { return signingKeyAAD(k[0]) }},
	{"enduser_refresh_keys", []keyColumn{{"id", "integer"}}, "secret_enc", func(k []string) string { id, _ := strconv.ParseInt(k[0], 10, 32); return refreshKeyAAD(int32(id)) }},
	{"enduser_sessions", []keyColumn{{"id", "uuid"}}, "refresh_key_enc", func(k []string) string { return sessionAAD(k[0]) }},
	{"enduser_audit_keys", []keyColumn{{"id", "smallint"}}, "key_enc", func([]string) string { return auditKeyAAD }},
	{"enduser_users", []keyColumn{{"id", "text"}}, "phone_enc", func(k []string) string { return phoneAAD(k[0]) }},
	{"enduser_phone_hash_keys", []keyColumn{{"id", "smallint"}}, "key_enc", func([]string) string { return phoneHashKeyAAD }},
}

// SealedColumnNames are "table.column" of every column ReencryptSecrets
// covers, in its order.
func SealedColumnNames() []string {
	out := make([]string, len(sealedColumns))
	for n, c := range sealedColumns {
		out[n] = c.table + "." + c.column
	}
	return out
}

// DefaultReencryptBatch is ReencryptSecrets' batch size when given none.
const DefaultReencryptBatch = 500

// ReencryptSecrets seals every stored secret that is not under the primary
// master key (the Box's first) under it again, column by column, in batches
// of batch rows (keyset order over the row's key): one SELECT and one
// UPDATE per batch, each its own short transaction, so that logins and
// refreshes go on meanwhile. The UPDATE is a compare-and-swap: a row whose
// value changed since it was read (a rotation, a new session key) keeps the
// new value. AADs are those the writers use. progress, if not nil, is called
// after each batch with the column's totals so far. A value that does not
// open with any configured key stops it with an error naming the row.
func (s *Store) ReencryptSecrets(ctx context.Context, batch int, progress func(application.ReencryptProgress)) ([]application.ReencryptProgress, error) {
	if batch <= 0 {
		batch = DefaultReencryptBatch
	}
	out := make([]application.ReencryptProgress, 0, len(sealedColumns))
	for _, c := range sealedColumns {
		p, err := s.reencryptColumn(ctx, c, batch, progress)
		out = append(out, p)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *Store) reencryptColumn(ctx context.Context, c sealedColumn, batch int, progress func(application.ReencryptProgress)) (application.ReencryptProgress, error) {
	p := application.ReencryptProgress{Column: c.table + "." + c.column}
	sel, upd := c.statements()
	var after []string
	for {
		rows, err := s.readBatch(ctx, c, sel, after, batch)
		if err != nil {
			return p, fmt.Errorf("re-encrypt %s: %w", p.Column, err)
		}
		if len(rows) == 0 {
			return p, nil
		}
		after = rows[len(rows)-1].key
		args := make([]any, 0, len(c.keys)+2)
		keyArrays := make([][]string, len(c.keys))
		var olds, news [][]byte
		for _, r := range rows {
			if s.box.SealedUnderPrimary(r.enc) {
				continue
			}
			aad := c.aad(r.key)
			fresh, err := s.box.Reseal(r.enc, []byte(aad))
			if err != nil {
				return p, fmt.Errorf("re-encrypt %s: open secret of %s: %w", p.Column, aad, err)
			}
			for n := range c.keys {
				keyArrays[n] = append(keyArrays[n], r.key[n])
			}
			olds, news = append(olds, r.enc), append(news, fresh)
		}
		if s.beforeReencryptWrite != nil {
			s.beforeReencryptWrite(p.Column)
		}
		if len(olds) > 0 {
			for _, a := range keyArrays {
				args = append(args, a)
			}
			args = append(args, olds, news)
			var res sql.Result
			err := s.retry(ctx, func() (err error) {
				res, err = s.pool.ExecContext(ctx, upd, args...)
				return err
			})
			if err != nil {
				return p, fmt.Errorf("re-encrypt %s: %w", p.Column, err)
			}
			n, _ := res.RowsAffected()
			p.Rewritten += n
			p.Skipped += int64(len(olds)) - n
		}
		if progress != nil {
			progress(p)
		}
		if len(rows) < batch {
			return p, nil
		}
	}
}

type sealedRow struct {
	key []string
	enc []byte
}

func (s *Store) readBatch(ctx context.Context, c sealedColumn, sel [2]string, after []string, batch int) ([]sealedRow, error) {
	q, args := sel[0], []any{batch}
	if after != nil {
		q = sel[1]
		for _, k := range after {
			args = append(args, k)
		}
	}
	var out []sealedRow
	err := s.retry(ctx, func() error {
		out = out[:0]
		rows, err := s.pool.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := sealedRow{key: make([]string, len(c.keys))}
			dest := make([]any, 0, len(c.keys)+1)
			for n := range r.key {
				dest = append(dest, &r.key[n])
			}
			dest = append(dest, &r.enc)
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// statements are the column's batch SELECTs (the first batch, and the next
// after a key) and its compare-and-swap UPDATE. Only names from
// sealedColumns go into them, never input.
func (c sealedColumn) statements() (sel [2]string, upd string) {
	var names, casts, params, unnest, match []string
	for n, k := range c.keys {
		names = append(names, k.name)
		casts = append(casts, k.name+"::text")
		params = append(params, fmt.Sprintf("$%d::%s", n+2, k.sqlType))
		unnest = append(unnest, fmt.Sprintf("unnest($%d::text[])::%s AS k%d", n+1, k.sqlType, n))
		match = append(match, fmt.Sprintf("t.%s = v.k%d", k.name, n))
	}
	base := "SELECT " + strings.Join(casts, ", ") + ", " + c.column + " FROM " + c.table + " WHERE " + c.column + " IS NOT NULL"
	order := " ORDER BY " + strings.Join(names, ", ") + " LIMIT $1"
	sel[0] = base + order
	sel[1] = base + " AND (" + strings.Join(names, ", ") + ") > (" + strings.Join(params, ", ") + ")" + order
	nk := len(c.keys)
	upd = fmt.Sprintf("UPDATE %s AS t SET %s = v.new FROM (SELECT %s, unnest($%d::bytea[]) AS old, unnest($%d::bytea[]) AS new) AS v WHERE %s AND t.%s = v.old",
		c.table, c.column, strings.Join(unnest, ", "), nk+1, nk+2, strings.Join(match, " AND "), c.column)
	return sel, upd
}

// SecretsNotUnderPrimary counts, per "table.column", the stored values that
// are not sealed under the primary master key (the old format, or another
// key's id): zero everywhere means the other keys can be removed.
func (s *Store) SecretsNotUnderPrimary(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(sealedColumns))
	id := s.box.PrimaryKeyID()
	for _, c := range sealedColumns {
		// Version 2 (the byte 0x02) followed by the primary's id is under the primary.
		q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s IS NOT NULL AND NOT (substring(%s from 1 for %d) = $1)`,
			c.table, c.column, c.column, 1+len(id))
		var n int64
		if err := s.retry(ctx, func() error {
			return s.pool.QueryRowContext(ctx, q, append([]byte{2}, id...)).Scan(&n)
		}); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			return nil, fmt.Errorf("count the secrets of %s.%s: %w", c.table, c.column, err)
		}
		out[c.table+"."+c.column] = n
	}
	return out, nil
}
