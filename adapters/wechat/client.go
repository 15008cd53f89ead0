// Package wechat is the WeChat OAuth adapter: it exchanges the code of an
// official account's web authorization for the user's openid (and unionid),
// implementing application.WeChatOAuth.
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// Defaults of Config.
const (
	DefaultBaseURL = "https://api.weixin.qq.com"
	DefaultTimeout = 5 * time.Second
)

// accessTokenPath is WeChat's web-authorization code exchange.
const accessTokenPath = "/sns/oauth2/access_token" //nolint:gosec // G101: a URL path, not a credential

// jsCode2SessionPath is WeChat's mini program login code exchange.
const jsCode2SessionPath = "/sns/jscode2session"

// exchange is one of WeChat's code exchanges: its path and the name of its
// code parameter.
type exchange struct {
	path, codeParam string
}

var (
	oauthExchange  = exchange{path: accessTokenPath, codeParam: "code"}
	jsCodeExchange = exchange{path: jsCode2SessionPath, codeParam: "js_code"}
)

// maxBodyBytes bounds how much of WeChat's answer is read. A real answer is
// a few hundred bytes.
const maxBodyBytes = 64 << 10

// maxErrMsgBytes bounds WeChat's errmsg as it is passed on to clients.
const maxErrMsgBytes = 256

// Config configures the client.
type Config struct {
	// BaseURL is WeChat's API base (default https://api.weixin.qq.com).
	// Tests and `enduser dev` point it at a fake.
	BaseURL string
	// Timeout bounds one exchange, from dialing to the last byte of the
	// body (default 5s).
	Timeout time.Duration
}

func (c Config) withDefaults() Config {
	if strings.TrimSpace(c.BaseURL) == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// NewHTTPClient returns the HTTP client to share between every exchange. Its
// transport keeps many idle connections per host: Go's default of 2 would make
// every login under load open a new TLS connection to WeChat. It does not
// follow redirects, so the AppSecret in the query never travels to another
// location. A non-positive timeout takes DefaultTimeout.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Client exchanges OAuth codes with WeChat. It is safe for concurrent use.
type Client struct {
	base    string
	host    string // for traces: the base URL's host, nothing else
	timeout time.Duration
	hc      *http.Client
	tracing tracing.Options
}

var _ application.WeChatOAuth = (*Client)(nil)

// NewClient returns a client for cfg (zero fields take their defaults). A nil
// hc gets NewHTTPClient(cfg.Timeout).
func NewClient(cfg Config, hc *http.Client, tr tracing.Options) *Client {
	cfg = cfg.withDefaults()
	if hc == nil {
		hc = NewHTTPClient(cfg.Timeout)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	host := ""
	if u, err := url.Parse(base); err == nil {
		host = u.Hostname()
	}
	return &Client{base: base, host: host, timeout: cfg.Timeout, hc: hc, tracing: tr}
}

// tokenResponse is the part of WeChat's answer the module uses. The
// access_token and refresh_token are deliberately not decoded: the module
// never needs them and so can never leak them.
type tokenResponse struct {
	ErrCode        *int64 `json:"errcode"`
	ErrMsg         string `json:"errmsg"`
	OpenID         string `json:"openid"`
	UnionID        string `json:"unionid"`
	IsSnapshotUser int64  `json:"is_snapshotuser"`
}

// rejection is the caller-safe detail of a WeChat error answer.
type rejection struct {
	ErrCode int64  `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// ExchangeCode calls WeChat exactly once (never retried: WeChat consumes the
// code even when it answers -1) and maps its answer:
//
//   - network error, timeout, non-2xx status: KindWeChatUnavailable;
//   - a body that is not the JSON object WeChat documents: KindWeChatMalformed;
//   - a non-zero errcode: KindWeChatRejected, Detail {"errcode":..,"errmsg":..};
//   - no openid, or a snapshot-page virtual user: KindWeChatRejected.
//
// The request URL carries the AppSecret and the code: no error it returns
// contains the query string.
func (c *Client) ExchangeCode(ctx context.Context, appID, appSecret, code string) (domain.WeChatIdentity, error) {
	return c.exchange(ctx, oauthExchange, appID, appSecret, code)
}

// ExchangeJSCode implements application.WeChatOAuth: one GET of
// {base}/sns/jscode2session?appid&secret&js_code&grant_type=authorization_code,
// never retried, answered and mapped as ExchangeCode's (errcode 40029 invalid
// code, 40163 code been used, 45011 rate limit, -1 busy, 40226 high-risk
// user: KindWeChatRejected). WeChat's session_key is never decoded: the body
// is dropped once openid and unionid are read, so the key is neither
// returned, stored, logged nor put in an error or a span.
func (c *Client) ExchangeJSCode(ctx context.Context, appID, appSecret, jsCode string) (domain.WeChatIdentity, error) {
	return c.exchange(ctx, jsCodeExchange, appID, appSecret, jsCode)
}

func (c *Client) exchange(ctx context.Context, ex exchange, appID, appSecret, code string) (domain.WeChatIdentity, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, span := c.startSpan(ctx, ex, appID)
	defer span.End()

	body, err := c.get(ctx, ex, appID, appSecret, code)
	if err == nil {
		var id domain.WeChatIdentity
		id, err = decode(appID, body)
		if err == nil {
			return id, nil
		}
	}
	endSpanWithError(span, err)
	return domain.WeChatIdentity{}, err
}

// tracerName names the WeChat adapter's tracer.
const tracerName = "github.com/iotplatform/enduser-auth/adapters/wechat"

// startSpan starts the exchange's client span. It is named and described by
// hand, with the host and path only: the URL's query carries the AppSecret
// and the code, which a stock HTTP client instrumentation would record.
func (c *Client) startSpan(ctx context.Context, ex exchange, appID string) (context.Context, trace.Span) {
	ctx, span := c.tracing.Tracer(tracerName).Start(ctx, "wechat "+ex.path, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", http.MethodGet),
			attribute.String("server.address", c.host),
			attribute.String("url.path", ex.path),
			attribute.String("wechat.app_id", appID),
		)
	}
	return ctx, span
}

// endSpanWithError records the outcome on the span: WeChat's errcode when it
// answered one, the error kind otherwise (never the error text, which could
// hold a URL).
func endSpanWithError(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("enduser.error_kind", string(domain.KindOf(err))))
	if code := domain.WeChatErrcodeOf(err); code != 0 {
		span.SetAttributes(attribute.Int64("wechat.errcode", code))
	}
	span.SetStatus(codes.Error, string(domain.KindOf(err)))
}

// exchangeURL builds the request URL; url.Values escapes every parameter.
func (c *Client) exchangeURL(ex exchange, appID, appSecret, code string) string {
	q := url.Values{}
	q.Set("appid", appID)
	q.Set("secret", appSecret)
	q.Set(ex.codeParam, code)
	q.Set("grant_type", "authorization_code")
	return c.base + ex.path + "?" + q.Encode()
}

// get performs the one HTTP exchange and returns the (bounded) body of a 2xx
// answer.
func (c *Client) get(ctx context.Context, ex exchange, appID, appSecret, code string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.exchangeURL(ex, appID, appSecret, code), nil)
	if err != nil {
		// Only a malformed BaseURL gets here: a configuration error. The
		// parse error quotes the URL, so it is dropped.
		return nil, fmt.Errorf("wechat: cannot build the request for base URL %q", redact(c.base))
	}
	req.Header.Set("Accept", "application/json")
	// The trace goes on to WeChat (W3C trace context), like any downstream call.
	c.tracing.Propagation().Inject(ctx, propagation.HeaderCarrier(req.Header))
	// A GET with no body is "replayable": http.Transport silently sends it
	// again when a reused keep-alive connection dies before the answer. The
	// first send may have reached WeChat and spent the code, so the request
	// is made non-replayable with an empty body that has no GetBody; being
	// empty, no body goes on the wire.
	req.Body = io.NopCloser(strings.NewReader(""))

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, unavailable(sanitize(err))
	}
	defer resp.Body.Close()
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a bounded amount so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
		return nil, unavailable(fmt.Errorf("wechat: %s %s: HTTP status %d", http.MethodGet, redact(c.base+ex.path), resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, unavailable(fmt.Errorf("wechat: reading the answer: %w", sanitize(err)))
	}
	if len(body) > maxBodyBytes {
		return nil, &domain.Error{Kind: domain.KindWeChatMalformed, Err: fmt.Errorf("wechat: answer longer than %d bytes", maxBodyBytes)}
	}
	return body, nil
}

// decode maps a 2xx body to an identity or a rejection. The Content-Type is
// ignored: WeChat serves JSON as text/plain.
func decode(appID string, body []byte) (domain.WeChatIdentity, error) {
	trimmed := strings.TrimLeft(string(body), " \t\r\n")
	if !strings.HasPrefix(trimmed, "{") {
		return domain.WeChatIdentity{}, malformed(errors.New("wechat: answer is not a JSON object"))
	}
	var r tokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return domain.WeChatIdentity{}, malformed(fmt.Errorf("wechat: decoding the answer: %w", err))
	}
	if r.ErrCode != nil && *r.ErrCode != 0 {
		detail, err := json.Marshal(rejection{ErrCode: *r.ErrCode, ErrMsg: truncateUTF8(r.ErrMsg, maxErrMsgBytes)})
		if err != nil { // cannot happen for an int64 and a string
			return domain.WeChatIdentity{}, malformed(err)
		}
		return domain.WeChatIdentity{}, domain.WeChatRejected(*r.ErrCode, string(detail))
	}
	return domain.NewWeChatIdentity(appID, r.OpenID, r.UnionID, r.IsSnapshotUser != 0)
}

func unavailable(cause error) error {
	return &domain.Error{Kind: domain.KindWeChatUnavailable, Err: cause}
}

func malformed(cause error) error {
	return &domain.Error{Kind: domain.KindWeChatMalformed, Err: cause}
}

// urlError replaces a *url.Error, whose message quotes the full URL (with the
// AppSecret and the code), by the same error with the query removed. The
// cause stays reachable through errors.Is and errors.As.
type urlError struct {
	op  string
	url string
	err error
}

func (e *urlError) Error() string { return fmt.Sprintf("wechat: %s %s: %v", e.op, e.url, e.err) }
func (e *urlError) Unwrap() error { return e.err }

// Timeout reports whether the cause is a timeout, like (*url.Error).Timeout.
func (e *urlError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// sanitize strips the query string from the URL a *url.Error quotes.
func sanitize(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &urlError{op: ue.Op, url: redact(ue.URL), err: ue.Err}
}

// redact keeps the scheme, host and path of a URL: never its query, fragment
// or user info.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		return raw
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// truncateUTF8 cuts s to at most n bytes without splitting a character and
// replaces invalid UTF-8.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
