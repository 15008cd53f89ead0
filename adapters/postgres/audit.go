package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// AuditConfig configures the audit writer. Zero values take the defaults.
type AuditConfig struct {
	// Retention is how long records are kept (default 90 days).
	Retention time.Duration
	// QueueSize bounds the records waiting to be written (default 10,000);
	// when the queue is full a record is dropped, never waited for.
	QueueSize int
	// BatchSize is the most records one batch (one COPY, or INSERT) writes
	// (default 500).
	BatchSize int
	// FlushInterval is the longest a queued record waits (default 1s).
	FlushInterval time.Duration
	// PurgeInterval is how often expired records are purged (default 1h).
	PurgeInterval time.Duration
	// PurgeBatch is the most rows one purge statement deletes (default 5,000).
	PurgeBatch int
	// OpenIDKey keys the openid hash (HMAC-SHA-256); derive it from the
	// master key (DeriveAuditKey).
	OpenIDKey []byte
	// LoadOpenIDKey, when OpenIDKey is nil, reads the key (Store.
	// AuditOpenIDKey): once, at Open or before the first write, never at
	// construction. Records are hashed when written, so those queued before
	// it get the loaded key too.
	LoadOpenIDKey func(ctx context.Context) ([]byte, error)
	// Code maps an outcome to the business code stored (nil: 0 for success,
	// -1 otherwise).
	Code func(domain.Kind) int
}

// DefaultAuditRetention is the audit trail's default retention.
const DefaultAuditRetention = 90 * 24 * time.Hour

// maxUserAgent bounds the stored user agent.
const maxUserAgent = 256

// DeriveAuditKey derives the openid hashing key from the master key, so that
// the hash is stable across instances and useless without the master key.
func DeriveAuditKey(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("enduser-auth audit openid hash v1"))
	return m.Sum(nil)
}

// AuditWriter is the audit log on PostgreSQL: Record queues (never blocks),
// Run writes the queue in batches and purges expired records. It implements
// application.AuditLog. A nil *AuditWriter records nothing.
type AuditWriter struct {
	db  *gorm.DB
	cfg AuditConfig
	log *slog.Logger
	q   chan auditRow

	dropped     atomic.Uint64
	failed      atomic.Uint64
	abandoned   atomic.Uint64
	keyMu       sync.Mutex
	key         []byte       // the openid hashing key once known
	lastDropLog atomic.Int64 // unix nanos of the last "dropped" log line
	lastFailLog atomic.Int64 // unix nanos of the last "write failed, retrying" log line
	runMu       sync.Mutex
	// stopped is set when Run has ended: a record handed over later (a
	// request that outlived the shutdown's grace) would wait in the queue
	// for nobody, so it is counted and logged as dropped instead.
	stopped atomic.Bool
	// quit, closed by Stop, ends Run's loop without writing: Stop writes
	// what Run held (leftover) and the queue within its caller's deadline.
	quit     chan struct{}
	stopOnce sync.Once
	leftover []auditRow

	// beforeCommit, when set (tests), runs in a batch's transaction after
	// its COPY or INSERT, before its COMMIT; an error it returns fails the
	// write.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
	// afterCommit, when set (tests), runs after a batch's COMMIT; an error it
	// returns is taken for the write's (a COMMIT done whose answer was lost).
	afterCommit func() error
}

var _ application.AuditLog = (*AuditWriter)(nil)

var _ application.SecretResealer = (*Store)(nil)

// NewAuditWriter returns a writer on db; it writes nothing until Run.
func NewAuditWriter(db *gorm.DB, cfg AuditConfig, log *slog.Logger) *AuditWriter {
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultAuditRetention
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.PurgeInterval <= 0 {
		cfg.PurgeInterval = time.Hour
	}
	if cfg.PurgeBatch <= 0 {
		cfg.PurgeBatch = 5000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AuditWriter{db: db, cfg: cfg, log: log, q: make(chan auditRow, cfg.QueueSize), key: cfg.OpenIDKey, quit: make(chan struct{})}
}

type auditRow struct {
	ID            int64     `gorm:"primaryKey;->"`
	RecordID      uuid.UUID // drawn by Record: a retried batch inserts nothing twice
	At            time.Time
	Event         string
	Code          int
	WechatErrcode *int
	UserDomain    string
	AppID         string
	AppKind       string
	UID           string `gorm:"column:uid"`
	OpenidHash    string
	ClientIP      string `gorm:"column:client_ip"`
	UserAgent     string
	RequestID     string `gorm:"column:request_id"`
	Detail        string
	DeviceGiven   *bool `gorm:"column:device_given"`
	// openID waits, in memory only, for the key that hashes it at the write.
	openID string
	// tried: a write of the record was attempted (writeBatch).
	tried bool
}

func (auditRow) TableName() string { return "enduser_audit_events" }

// Record queues e; when the queue is full e is dropped and counted. The openid
// leaves here only as its keyed hash.
func (w *AuditWriter) Record(_ context.Context, e application.AuditEvent) {
	if w == nil {
		return
	}
	r := auditRow{At: e.Time, Event: e.Event, Code: w.code(e.Outcome), UserDomain: clip(e.UserDomain, 64),
		AppID: clip(e.AppID, 64), AppKind: string(e.AppKind), UID: clip(e.UID, 64), ClientIP: clip(e.ClientIP, 64),
		UserAgent: clip(e.UserAgent, maxUserAgent), RequestID: clip(e.RequestID, 128),
		Detail: clip(e.Detail, 1024)}
	if r.At.IsZero() {
		r.At = time.Now()
	}
	if e.WeChatErrcode != 0 {
		c := e.WeChatErrcode
		r.WechatErrcode = &c
	}
	if e.Event == application.AuditLogout {
		given := e.DeviceGiven
		r.DeviceGiven = &given
	}
	r.openID = e.OpenID // hashed when written: the key may not be loaded yet
	r.RecordID = newRecordID()
	if w.stopped.Load() {
		w.logDrop(w.dropped.Add(1))
		return
	}
	select {
	case w.q <- r:
	default:
		n := w.dropped.Add(1)
		w.logDrop(n)
	}
}

// newRecordID draws a record's id: a UUID version 7 (RFC 9562: milliseconds
// since the epoch, then random bits), so that ids grow with time and each
// batch's entries land at the right edge of the partial unique index on
// record_id (migration 00016), not on random pages of it: fewer pages dirtied,
// fewer full-page images in the WAL after a checkpoint. The ids written
// before were version 4; either kind is unique and only compared for
// equality. uuid.NewV7 fails only when crypto/rand does, which it never does.
func newRecordID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// HashOpenID is the keyed hash the trail stores instead of an openid (with
// the key known so far: AuditConfig.OpenIDKey, or the loaded one).
func (w *AuditWriter) HashOpenID(openID string) string {
	w.keyMu.Lock()
	key := w.key
	w.keyMu.Unlock()
	return hashOpenID(key, openID)
}

func hashOpenID(key []byte, openID string) string {
	return newOpenIDHasher(key).hash(openID)
}

// openIDHasher hashes the openids of a batch with one HMAC state.
type openIDHasher struct {
	m   hash.Hash
	sum [sha256.Size]byte
}

func newOpenIDHasher(key []byte) *openIDHasher {
	return &openIDHasher{m: hmac.New(sha256.New, key)}
}

// hash is the first 16 bytes of openID's HMAC-SHA-256, in hex.
func (h *openIDHasher) hash(openID string) string {
	h.m.Reset()
	_, _ = io.WriteString(h.m, openID)
	return hex.EncodeToString(h.m.Sum(h.sum[:0])[:16])
}

// Open loads the openid hashing key (AuditConfig.LoadOpenIDKey) unless it is
// known: a host calls it when it starts, so that a key that cannot be read
// fails the start rather than the first write. It needs the audit tables
// (the module's migrations).
func (w *AuditWriter) Open(ctx context.Context) error {
	if w == nil {
		return nil
	}
	_, err := w.openIDKey(ctx)
	return err
}

// openIDKey is the key, loaded the first time it is needed.
func (w *AuditWriter) openIDKey(ctx context.Context) ([]byte, error) {
	w.keyMu.Lock()
	defer w.keyMu.Unlock()
	if w.key != nil || w.cfg.LoadOpenIDKey == nil {
		return w.key, nil
	}
	key, err := w.cfg.LoadOpenIDKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit openid key: %w", err)
	}
	w.key = key
	return key, nil
}

// dropLogEvery bounds the "records dropped" log line to one per interval.
const dropLogEvery = 10 * time.Second

func (w *AuditWriter) logDrop(total uint64) {
	if !w.logEvery(&w.lastDropLog) {
		return
	}
	w.log.Warn("audit queue full: records dropped", slog.Uint64("droppedTotal", total), slog.Int("queueSize", w.cfg.QueueSize))
}

// logEvery reports whether a line rate-limited by last (unix nanos) may be
// logged now, at most one per dropLogEvery.
func (w *AuditWriter) logEvery(last *atomic.Int64) bool {
	now := time.Now().UnixNano()
	l := last.Load()
	return now-l >= int64(dropLogEvery) && last.CompareAndSwap(l, now)
}

func (w *AuditWriter) code(k domain.Kind) int {
	if w.cfg.Code != nil {
		return w.cfg.Code(k)
	}
	if k == "" {
		return 0
	}
	return -1
}

// Dropped counts the records dropped because the queue was full.
func (w *AuditWriter) Dropped() uint64 {
	if w == nil {
		return 0
	}
	return w.dropped.Load()
}

// Abandoned counts the records lost at a shutdown: still queued when the
// deadline of Stop passed.
func (w *AuditWriter) Abandoned() uint64 {
	if w == nil {
		return 0
	}
	return w.abandoned.Load()
}

// Failed counts the records lost because the database refused a batch for
// a reason a retry would not change (the data: SQLSTATE classes 22, 23, 42);
// a batch that failed otherwise (a connection lost, a failover, a timeout) is
// retried with backoff.
func (w *AuditWriter) Failed() uint64 {
	if w == nil {
		return 0
	}
	return w.failed.Load()
}

// clip bounds a string to n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
