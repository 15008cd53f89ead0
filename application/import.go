package application

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// AuditUsersImported is an import of users (ImportUsers), with its counts.
const AuditUsersImported = "users_imported"

// ImportRow is one valid line of an import, its user domain resolved.
type ImportRow struct {
	Line         int
	UserDomainID int64
	User         domain.ImportUser
}

// ImportResult is what importing one row did.
type ImportResult struct {
	Outcome domain.ImportOutcome
	Reason  string // why it was refused
}

// UserImporter stores imported users in bulk.
type UserImporter interface {
	// ImportUsers imports a batch atomically: it decides every row in order
	// with a domain.ImportPlanner on what is stored (the batch's earlier rows
	// included) and writes the decisions; concurrent logins of the same
	// people yield one user each (the imported uid, or the row is refused).
	// The results are in rows' order.
	ImportUsers(ctx context.Context, rows []ImportRow) ([]ImportResult, error)
}

// ImportCounts are the totals of an import.
type ImportCounts struct {
	Imported, Present, Refused int
}

// DefaultImportBatch is how many lines go to the store at once: memory stays
// bounded (a batch is a few tens of MB) and a batch is one transaction.
const DefaultImportBatch = 50_000

// maxImportLine bounds one line of an import file.
const maxImportLine = 64 << 10

// importLine is one line of an import file, as JSON. Unknown fields are
// refused: a misspelt optional field ("unionid") would otherwise be dropped
// silently and split a person in two later.
type importLine struct {
	UID           *string `json:"uid"`
	UserDomain    *string `json:"userDomain"`
	AppID         *string `json:"appId"`
	OpenID        *string `json:"openId"`
	UnionID       *string `json:"unionId"`
	RegisterTime  *int64  `json:"registerTime"`
	LastLoginTime *int64  `json:"lastLoginTime"`
	Status        *int    `json:"status"`
	NikeName      *string `json:"nikeName"`
	HeadImage     *string `json:"headImage"`
	Sex           *int    `json:"sex"`
	Address       *string `json:"address"`
	Province      *string `json:"province"`
	City          *string `json:"city"`
	Signature     *string `json:"signature"`
	Remark        *string `json:"remark"`
	Lang          *int    `json:"lang"`
	Nationality   *int    `json:"nationality"`
	Timezone      *int    `json:"timezone"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ParseImportLine parses and validates one line; now is the registration
// time of a line without registerTime. It returns the reason a bad line is
// refused.
func ParseImportLine(b []byte, now time.Time) (domain.ImportUser, string) {
	var l importLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return domain.ImportUser{}, "not a JSON object of the import format: " + jsonReason(err)
	}
	if dec.More() {
		return domain.ImportUser{}, "more than one JSON value on the line"
	}
	u := domain.ImportUser{UID: deref(l.UID), UserDomain: strings.TrimSpace(deref(l.UserDomain)),
		AppID: strings.TrimSpace(deref(l.AppID)), OpenID: deref(l.OpenID), UnionID: deref(l.UnionID),
		Status: domain.UserNormal, RegisteredAt: now,
		Profile: domain.ImportProfile{NikeName: l.NikeName, HeadImage: l.HeadImage, Sex: l.Sex, Address: l.Address,
			Province: l.Province, City: l.City, Signature: l.Signature, Remark: l.Remark, Lang: l.Lang,
			Nationality: l.Nationality, Timezone: l.Timezone}}
	const maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
	if l.RegisterTime != nil {
		if *l.RegisterTime < 0 || *l.RegisterTime > maxMillis {
			return domain.ImportUser{}, "registerTime must be milliseconds since 1970 (0 to year 9999)"
		}
		u.RegisteredAt = time.UnixMilli(*l.RegisterTime).UTC()
	}
	u.LastLoginAt = u.RegisteredAt
	if l.LastLoginTime != nil {
		if *l.LastLoginTime < 0 || *l.LastLoginTime > maxMillis {
			return domain.ImportUser{}, "lastLoginTime must be milliseconds since 1970 (0 to year 9999)"
		}
		u.LastLoginAt = time.UnixMilli(*l.LastLoginTime).UTC()
	}
	if l.Status != nil {
		u.Status = domain.UserStatus(*l.Status)
	}
	if reason := u.Validate(); reason != "" {
		return u, reason // the caller counts the refusal under u's user domain
	}
	return u, ""
}

// jsonReason is a decode error without Go's type names.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s has the wrong type (%s)", te.Field, te.Value)
	}
	return err.Error()
}

// importTenant is a user domain's resolution, cached for one import.
type importTenant struct {
	id     int64
	reason string // why lines of it are refused
}

// ImportUsers imports the JSON lines of src into into, in batches of batch
// lines (<= 0: DefaultImportBatch). Every refused line is reported to
// refused, in line order (line numbers start at 1; blank lines are skipped
// and counted); the rest is imported. A line's user domain must exist and its
// appId must be an official account of that domain (a login can only come
// through one). The import is recorded in the audit trail, one record per
// user domain with its counts in the detail, and a total one.
func (s *core) ImportUsers(ctx context.Context, into UserImporter, src io.Reader, batch int,
	refused func(line int, reason string)) (ImportCounts, error) {
	if batch <= 0 {
		batch = DefaultImportBatch
	}
	run := &importRun{s: s, into: into, refused: refused, rows: make([]ImportRow, 0, batch), byUD: map[string]*ImportCounts{},
		tenants: map[string]importTenant{}, apps: map[[2]string]string{}, now: s.clock.Now()}
	defer run.audit(ctx) // what was imported before a failure is recorded too
	r := bufio.NewReaderSize(src, 1<<20)
	for n := 1; ; n++ {
		b, tooLong, err := readImportLine(r)
		if errors.Is(err, io.EOF) && len(b) == 0 && !tooLong {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			werr := run.wait() // the batch in flight ends (and is counted) first
			return run.counts, errors.Join(fmt.Errorf("read line %d: %w", n, err), werr)
		}
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as some editors write
		}
		run.add(ctx, n, b, tooLong)
		if len(run.rows) == batch {
			if err := run.send(ctx); err != nil {
				return run.counts, err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := run.send(ctx); err != nil {
		return run.counts, err
	}
	return run.counts, run.wait()
}

// importRun is one ImportUsers: the batch being filled and its refusals, the
// batch being imported meanwhile (the next one is parsed while the store
// works: at most two batches are in memory), the counts and the tenants
// resolved so far.
type importRun struct {
	s        *core
	into     UserImporter
	refused  func(line int, reason string)
	now      time.Time
	rows     []ImportRow
	bad      []lineReason
	inFlight *importBatch
	spare    []ImportRow // the rows buffer of the last batch imported, for reuse
	counts   ImportCounts
	byUD     map[string]*ImportCounts
	tenants  map[string]importTenant
	apps     map[[2]string]string
}

// add parses line n into the batch, or into the refusals.
func (r *importRun) add(ctx context.Context, n int, b []byte, tooLong bool) {
	switch b = bytes.TrimSpace(b); {
	case tooLong:
		r.bad = append(r.bad, lineReason{line: n, reason: fmt.Sprintf("longer than %d bytes", maxImportLine)})
	case len(b) == 0:
	default:
		if row, ud, reason := r.s.importRow(ctx, b, n, r.now, r.tenants, r.apps); reason != "" {
			r.bad = append(r.bad, lineReason{n, reason, ud})
		} else {
			r.rows = append(r.rows, row)
		}
	}
}

func (r *importRun) of(ud string) *ImportCounts {
	c := r.byUD[ud]
	if c == nil {
		c = &ImportCounts{}
		r.byUD[ud] = c
	}
	return c
}

// importBatch is a batch handed to the store and the refusals of its lines
// (parse errors and the store's, reported together in line order).
type importBatch struct {
	rows    []ImportRow
	bad     []lineReason
	results []ImportResult
	err     error
	done    chan struct{}
}

// send waits for the batch in flight (reporting it), then hands the batch
// just filled to the store in the background.
func (r *importRun) send(ctx context.Context) error {
	if err := r.wait(); err != nil {
		return err
	}
	b := &importBatch{rows: r.rows, bad: r.bad, done: make(chan struct{})}
	r.rows, r.bad, r.spare = r.spare[:0], nil, nil
	if r.rows == nil {
		r.rows = make([]ImportRow, 0, cap(b.rows))
	}
	r.inFlight = b
	go func() {
		defer close(b.done)
		if len(b.rows) > 0 {
			b.results, b.err = r.into.ImportUsers(ctx, b.rows)
		}
	}()
	return nil
}

// wait waits for the batch in flight, if any, counts it and reports its
// refusals in line order.
func (r *importRun) wait() error {
	b := r.inFlight
	if b == nil {
		return nil
	}
	<-b.done
	r.inFlight = nil
	if b.err != nil {
		return b.err
	}
	for i, res := range b.results {
		row := b.rows[i]
		switch {
		case res.Outcome.Imported():
			r.counts.Imported++
			r.of(row.User.UserDomain).Imported++
		case res.Outcome == domain.ImportPresent:
			r.counts.Present++
			r.of(row.User.UserDomain).Present++
		default:
			b.bad = append(b.bad, lineReason{row.Line, res.Reason, row.User.UserDomain})
		}
	}
	sort.Slice(b.bad, func(i, j int) bool { return b.bad[i].line < b.bad[j].line })
	for _, l := range b.bad {
		r.counts.Refused++
		r.of(l.userDomain).Refused++
		r.refused(l.line, l.reason)
	}
	r.spare = b.rows
	return nil
}

// audit logs the totals and records one audit event per user domain the
// file names (the trail is read by user domain), with that domain's counts;
// lines whose user domain could not be read count under "".
func (r *importRun) audit(ctx context.Context) {
	r.s.log.LogAttrs(ctx, slog.LevelInfo, "users imported", slog.Int("imported", r.counts.Imported),
		slog.Int("present", r.counts.Present), slog.Int("refused", r.counts.Refused))
	for ud, c := range r.byUD {
		r.s.record(ctx, AuditEvent{Event: AuditUsersImported, UserDomain: safeLog(ud),
			Detail: fmt.Sprintf(`{"imported":%d,"present":%d,"refused":%d}`, c.Imported, c.Present, c.Refused)})
	}
}

type lineReason struct {
	line       int
	reason     string
	userDomain string // as the line names it ("" when unreadable)
}

// importRow parses line n and resolves its user domain and official
// account (cached in tenants and apps).
func (s *core) importRow(ctx context.Context, b []byte, n int, now time.Time, tenants map[string]importTenant,
	apps map[[2]string]string) (ImportRow, string, string) {
	u, reason := ParseImportLine(b, now)
	if reason != "" {
		return ImportRow{}, u.UserDomain, reason
	}
	t, ok := tenants[u.UserDomain]
	if !ok {
		d, err := s.domains.UserDomainByName(ctx, u.UserDomain)
		switch {
		case domain.IsKind(err, domain.KindUserDomainNotFound):
			t = importTenant{reason: "user domain " + safeLog(u.UserDomain) + " does not exist"}
		case err != nil:
			t = importTenant{reason: "user domain " + safeLog(u.UserDomain) + " could not be read: " + err.Error()}
		default:
			t = importTenant{id: d.ID()}
		}
		tenants[u.UserDomain] = t
	}
	if t.reason != "" {
		return ImportRow{}, u.UserDomain, t.reason
	}
	key := [2]string{u.UserDomain, u.AppID}
	r, ok := apps[key]
	if !ok {
		_, err := s.accounts.WeChatApp(ctx, t.id, u.AppID)
		switch {
		case domain.IsKind(err, domain.KindNotFound):
			r = "appId " + safeLog(u.AppID) + " is not an official account or mini program of user domain " + safeLog(u.UserDomain)
		case err != nil:
			r = "appId " + safeLog(u.AppID) + " could not be read: " + err.Error()
		}
		apps[key] = r
	}
	if r != "" {
		return ImportRow{}, u.UserDomain, r
	}
	return ImportRow{Line: n, UserDomainID: t.id, User: u}, u.UserDomain, ""
}

// readImportLine reads one line without its newline; a line longer than
// maxImportLine is skipped to its end and reported tooLong.
func readImportLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxImportLine+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, tooLong, err
	}
}
