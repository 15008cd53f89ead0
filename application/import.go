package application

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
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

// ImportSource is an import file, read one line at a time: its format is
// the adapter's (adapters/jsonformat.ImportLines).
type ImportSource interface {
	// Next returns the next line that is not blank, the user it gives (now
	// is the registration time of a line that names none), or the reason it
	// is refused, with User.UserDomain as far as the line could be read;
	// io.EOF after the last line; any other error fails reading line N.
	Next(now time.Time) (ImportLine, error)
}

// ImportLine is one line of an import file, read.
type ImportLine struct {
	N      int // the line's number, from 1
	User   domain.ImportUser
	Reason string // why the line is refused ("" when it is not)
}

// importTenant is a user domain's resolution, cached for one import.
type importTenant struct {
	id     int64
	reason string // why lines of it are refused
}

// ImportUsers imports the lines of src into into, in batches of batch
// lines (<= 0: DefaultImportBatch). Every refused line is reported to
// refused, in line order; the rest is imported. A line's user domain must exist and its
// appId must be an official account of that domain (a login can only come
// through one). The import is recorded in the audit trail, one record per
// user domain with its counts in the detail, and a total one.
func (s *core) ImportUsers(ctx context.Context, into UserImporter, src ImportSource, batch int,
	refused func(line int, reason string)) (ImportCounts, error) {
	if batch <= 0 {
		batch = DefaultImportBatch
	}
	run := &importRun{s: s, into: into, refused: refused, rows: make([]ImportRow, 0, batch), byUD: map[string]*ImportCounts{},
		tenants: map[string]importTenant{}, apps: map[[2]string]string{}, now: s.clock.Now()}
	defer run.audit(ctx) // what was imported before a failure is recorded too
	for {
		l, err := src.Next(run.now)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			werr := run.wait() // the batch in flight ends (and is counted) first
			return run.counts, errors.Join(fmt.Errorf("read line %d: %w", l.N, err), werr)
		}
		run.add(ctx, l)
		if len(run.rows) == batch {
			if err := run.send(ctx); err != nil {
				return run.counts, err
			}
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

// add puts line l into the batch, or into the refusals.
func (r *importRun) add(ctx context.Context, l ImportLine) {
	if l.Reason == "" {
		var row ImportRow
		row, l.Reason = r.s.importRow(ctx, l, r.tenants, r.apps)
		if l.Reason == "" {
			r.rows = append(r.rows, row)
			return
		}
	}
	r.bad = append(r.bad, lineReason{l.N, l.Reason, l.User.UserDomain})
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

// importRow resolves line l's user domain and official account (cached in
// tenants and apps); it returns the reason it refuses the line.
func (s *core) importRow(ctx context.Context, l ImportLine, tenants map[string]importTenant,
	apps map[[2]string]string) (ImportRow, string) {
	u := l.User
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
		return ImportRow{}, t.reason
	}
	key := [2]string{u.UserDomain, u.AppID}
	r, ok := apps[key]
	if !ok {
		_, err := s.accounts.WeChatApp(ctx, t.id, u.AppID)
		switch {
		case domain.IsKind(err, domain.KindNotFound):
			r = "appId " + safeLog(u.AppID) + " is not an official account, mini program, mobile app or website app of user domain " + safeLog(u.UserDomain)
		case err != nil:
			r = "appId " + safeLog(u.AppID) + " could not be read: " + err.Error()
		}
		apps[key] = r
	}
	if r != "" {
		return ImportRow{}, r
	}
	return ImportRow{Line: l.N, UserDomainID: t.id, User: u}, ""
}
