package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// queuedRows records n events through w and takes them off its queue, as
// Run would, their openids hashed.
func queuedRows(t testing.TB, w *AuditWriter, events []application.AuditEvent) []auditRow {
	t.Helper()
	buf := make([]auditRow, 0, len(events))
	for _, e := range events {
		w.Record(context.Background(), e)
		buf = append(buf, <-w.q)
	}
	return buf
}

// TestAuditBatchWritesEveryColumnEitherWay: a batch's first attempt (COPY)
// and a later one (INSERT ... ON CONFLICT) store the same values, NULLs
// included, and a batch written again adds nothing.
func TestAuditBatchWritesEveryColumnEitherWay(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	w := NewAuditWriter(env.store.db, AuditConfig{OpenIDKey: []byte("key")}, nil)
	at := time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.UTC)
	events := func(uid string) []application.AuditEvent {
		return []application.AuditEvent{
			{Time: at, Event: application.AuditLogin, UserDomain: "C.DM.1.1", AppID: "wxapp", AppKind: domain.AppKindMiniProgram,
				UID: uid, OpenID: "openid-" + uid, RequestMeta: application.RequestMeta{ClientIP: "192.0.2.1", UserAgent: "ua", RequestID: "r-" + uid}},
			{Time: at.Add(time.Second), Event: application.AuditLogout, Outcome: domain.KindWeChatRejected, WeChatErrcode: 40029,
				UserDomain: "C.DM.1.1", UID: uid, DeviceGiven: true, Detail: `{"n":1}`},
		}
	}
	first := queuedRows(t, w, events("u1"))
	if err := w.insert(context.Background(), first); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	again := queuedRows(t, w, events("u2"))
	for i := range again {
		again[i].tried = true
	}
	for range 2 { // the second time every record is there already
		if err := w.insert(context.Background(), again); err != nil {
			t.Fatalf("later attempt: %v", err)
		}
	}
	if err := w.insert(context.Background(), first); err != nil { // tried now: skipped, not refused
		t.Fatalf("first batch again: %v", err)
	}
	for _, uid := range []string{"u1", "u2"} {
		got, err := env.store.UserAuditRecords(context.Background(), "C.DM.1.1", uid, 10)
		if err != nil {
			t.Fatal(err)
		}
		errcode := 40029
		given := true
		want := []application.AuditRecord{
			{Time: at, Event: application.AuditLogin, UserDomain: "C.DM.1.1", AppID: "wxapp", AppKind: "miniprogram", UID: uid,
				OpenIDHash: hashOpenID([]byte("key"), "openid-"+uid), ClientIP: "192.0.2.1", UserAgent: "ua", RequestID: "r-" + uid},
			{Time: at.Add(time.Second), Event: application.AuditLogout, Code: -1, WeChatErrcode: &errcode, UserDomain: "C.DM.1.1",
				UID: uid, DeviceGiven: &given, Detail: `{"n":1}`},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s's records:\n got %+v\nwant %+v", uid, got, want)
		}
	}
	if n := env.count(t, `SELECT count(*) FROM enduser_audit_events WHERE record_id IS NOT NULL`); n != 4 {
		t.Errorf("%d rows, want 4", n)
	}
}

// pgTicks is the CPU time (clock ticks) of every process named postgres.
func pgTicks(b *testing.B) int64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var t int64
	for _, e := range ents {
		s, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i, j := strings.IndexByte(string(s), '('), strings.LastIndexByte(string(s), ')')
		if i < 0 || j < i || string(s[i+1:j]) != "postgres" {
			continue
		}
		f := strings.Fields(string(s[j+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		t += u + k
	}
	return t
}

// BenchmarkAuditBatch writes batches of 500 login records: by COPY (a
// batch's first attempt) and by the INSERT of a batch written again (its
// baseline, in the same run). It reports PostgreSQL's CPU per record, from
// /proc (clock ticks of every postgres process: run it on a quiet machine,
// with enough batches for the ticks to count).
func BenchmarkAuditBatch(b *testing.B) {
	const n = 500
	for _, mode := range []string{"copy", "insert"} {
		b.Run(mode, func(b *testing.B) {
			env := newTestEnv(b)
			w := NewAuditWriter(env.store.db, AuditConfig{OpenIDKey: []byte("key")}, nil)
			events := make([]application.AuditEvent, n)
			var pg int64
			written := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for i := range events {
					uid := fmt.Sprintf("%032x", written+i)
					events[i] = application.AuditEvent{Time: time.Now(), Event: application.AuditLogin, UserDomain: "C.DM.10000.1",
						AppID: "wx0123456789demo", AppKind: domain.AppKindOfficialAccount, UID: uid, OpenID: "openid-" + uid,
						RequestMeta: application.RequestMeta{ClientIP: "127.0.0.1", UserAgent: "Go-http-client/1.1", RequestID: uid}}
				}
				buf := queuedRows(b, w, events)
				for i := range buf {
					buf[i].tried = mode == "insert"
				}
				t0 := pgTicks(b)
				b.StartTimer()
				if err := w.insert(context.Background(), buf); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				pg += pgTicks(b) - t0
				written += n
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(written), "ns/record")
			b.ReportMetric(float64(pg)*1e6/100/float64(written), "pg-µs/record")
			if got := env.count(b, `SELECT count(*) FROM enduser_audit_events`); got != written {
				b.Fatalf("%d rows, want %d", got, written)
			}
		})
	}
}

// TestAuditBatchNeverLosesAMixedOrRepeatedBatch: a batch that mixes
// records written before with new ones, and a batch whose record ids are
// stored already but which was never marked tried (its COPY refused with
// 23505), are written, each record once.
func TestAuditBatchNeverLosesAMixedOrRepeatedBatch(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	w := NewAuditWriter(env.store.db, AuditConfig{OpenIDKey: []byte("key")}, nil)
	ctx := context.Background()
	events := func(n int) []application.AuditEvent {
		out := make([]application.AuditEvent, n)
		for i := range out {
			out[i] = auditEvent(i)
		}
		return out
	}
	first := queuedRows(t, w, events(3))
	if err := w.insert(ctx, first); err != nil {
		t.Fatal(err)
	}
	mixed := append(first[:2:2], queuedRows(t, w, events(2))...) // two written and tried, two new
	if err := w.insert(ctx, mixed); err != nil {
		t.Fatalf("mixed batch: %v", err)
	}
	for i := range first {
		first[i].tried = false // as if the flag had been lost: the COPY meets the stored ids
	}
	if err := w.insert(ctx, first); err != nil {
		t.Fatalf("a batch of stored ids, not marked tried: %v", err)
	}
	if n := env.count(t, `SELECT count(*) FROM enduser_audit_events`); n != 5 {
		t.Errorf("%d rows, want 5", n)
	}
	if w.Failed() != 0 {
		t.Errorf("failed %d", w.Failed())
	}
}

// wrappedConnector hands out pgx's connections wrapped in another type, as
// a host's instrumented driver would: the writer cannot reach pgx.
type wrappedConnector struct{ driver.Connector }

type wrappedConn struct{ *stdlib.Conn }

func (c wrappedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return wrappedConn{dc.(*stdlib.Conn)}, nil
}

// TestAuditBatchOnAPoolThatIsNotPgx: on a host's *gorm.DB whose connections
// are not pgx's, batches are written by GORM's INSERT, a retry skipping what
// was written.
func TestAuditBatchOnAPoolThatIsNotPgx(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cfg, err := pgx.ParseConfig(env.dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := sql.OpenDB(wrappedConnector{stdlib.GetConnector(*cfg)})
	t.Cleanup(func() { _ = sqlDB.Close() })
	db, err := gorm.Open(gormpg.New(gormpg.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	w := NewAuditWriter(db, AuditConfig{OpenIDKey: []byte("key")}, nil)
	buf := queuedRows(t, w, []application.AuditEvent{auditEvent(1), auditEvent(2)})
	for range 2 {
		if err := w.insert(context.Background(), buf); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.count(t, `SELECT count(DISTINCT record_id) FROM enduser_audit_events`); n != 2 || w.Failed() != 0 {
		t.Errorf("%d records (failed %d), want 2", n, w.Failed())
	}
}
