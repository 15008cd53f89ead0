package wechat

// WeChat's server-to-server side of the phone number: the app-wide
// access_token (cgi-bin/stable_token) and the phone lookup
// (wxa/business/getuserphonenumber). The access token travels in a request
// body or query only: it is never logged, never in an error's text, never a
// span attribute.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// The paths of the phone number's calls.
const (
	stableTokenPath = "/cgi-bin/stable_token" //nolint:gosec // G101: a URL path, not a credential
	phoneNumberPath = "/wxa/business/getuserphonenumber"
)

var _ application.WeChatPhoneAPI = (*Client)(nil)

// The errcodes of a phone lookup that a client may retry with a new code:
// WeChat busy (-1) and over its minute quota (45011).
const (
	errcodeBusy        = -1
	errcodeRateLimited = 45011
)

type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh,omitempty"`
}

type stableTokenResponse struct {
	ErrCode     *int64 `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// StableToken implements application.WeChatPhoneAPI: one POST of
// {base}/cgi-bin/stable_token. Network errors, timeouts, non-2xx statuses
// and errcodes are KindAppTokenFailed (errcodes with their WeChatErrcode and
// Detail); an answer that is not a token is KindAppTokenMalformed.
func (c *Client) StableToken(ctx context.Context, appID, appSecret string, force bool) (application.AppAccessToken, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, span := c.startPostSpan(ctx, stableTokenPath, appID)
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(attribute.Bool("wechat.force_refresh", force))
	}
	reqBody, err := json.Marshal(stableTokenRequest{ //nolint:gosec // G117: the AppSecret goes to WeChat in this body, as stable_token requires
		GrantType: "client_credential", AppID: appID, Secret: appSecret, ForceRefresh: force})
	if err != nil {
		return application.AppAccessToken{}, err
	}
	body, err := c.post(ctx, c.base+stableTokenPath, stableTokenPath, reqBody)
	if err != nil {
		err = retag(err, domain.KindAppTokenFailed)
		endSpanWithError(span, err)
		return application.AppAccessToken{}, err
	}
	var r stableTokenResponse
	if !jsonObject(body) || json.Unmarshal(body, &r) != nil {
		err := &domain.Error{Kind: domain.KindAppTokenMalformed, Err: errors.New("wechat: the stable_token answer is not a JSON object")}
		endSpanWithError(span, err)
		return application.AppAccessToken{}, err
	}
	if r.ErrCode != nil && *r.ErrCode != 0 {
		err := rejectionOf(domain.KindAppTokenFailed, *r.ErrCode, r.ErrMsg)
		endSpanWithError(span, err)
		return application.AppAccessToken{}, err
	}
	if r.AccessToken == "" || r.ExpiresIn <= 0 {
		err := &domain.Error{Kind: domain.KindAppTokenMalformed, Err: errors.New("wechat: the stable_token answer has no access_token or expires_in")}
		endSpanWithError(span, err)
		return application.AppAccessToken{}, err
	}
	return application.AppAccessToken{Value: r.AccessToken, ExpiresIn: time.Duration(r.ExpiresIn) * time.Second}, nil
}

type phoneRequest struct {
	Code string `json:"code"`
}

type phoneResponse struct {
	ErrCode   *int64 `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	PhoneInfo *struct {
		PhoneNumber     string          `json:"phoneNumber"`
		PurePhoneNumber string          `json:"purePhoneNumber"`
		CountryCode     json.RawMessage `json:"countryCode"`
		Watermark       struct {
			AppID     string `json:"appid"`
			Timestamp int64  `json:"timestamp"`
		} `json:"watermark"`
	} `json:"phone_info"`
}

// PhoneNumber implements application.WeChatPhoneAPI: one POST of
// {base}/wxa/business/getuserphonenumber?access_token=…, never retried.
func (c *Client) PhoneNumber(ctx context.Context, accessToken, phoneCode string) (application.WeChatPhone, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, span := c.startPostSpan(ctx, phoneNumberPath, "")
	defer span.End()
	got, err := c.phoneNumber(ctx, accessToken, phoneCode)
	if err != nil {
		endSpanWithError(span, err)
	}
	return got, err
}

func (c *Client) phoneNumber(ctx context.Context, accessToken, phoneCode string) (application.WeChatPhone, error) {
	reqBody, err := json.Marshal(phoneRequest{Code: phoneCode})
	if err != nil {
		return application.WeChatPhone{}, err
	}
	body, err := c.post(ctx, c.base+phoneNumberPath+"?"+url.Values{"access_token": {accessToken}}.Encode(), phoneNumberPath, reqBody)
	if err != nil {
		return application.WeChatPhone{}, retag(err, domain.KindPhoneLookupFailed)
	}
	var r phoneResponse
	if !jsonObject(body) || json.Unmarshal(body, &r) != nil {
		return application.WeChatPhone{}, &domain.Error{Kind: domain.KindPhoneLookupFailed,
			Err: errors.New("wechat: the getuserphonenumber answer is not a JSON object")}
	}
	if r.ErrCode != nil && *r.ErrCode != 0 {
		kind := domain.KindPhoneRejected
		if *r.ErrCode == errcodeBusy || *r.ErrCode == errcodeRateLimited {
			kind = domain.KindPhoneLookupFailed
		}
		return application.WeChatPhone{}, rejectionOf(kind, *r.ErrCode, r.ErrMsg)
	}
	if r.PhoneInfo == nil {
		return application.WeChatPhone{}, domain.Errorf(domain.KindPhoneRejected, "WeChat answered without a phone")
	}
	pi := r.PhoneInfo
	number := pi.PurePhoneNumber
	if number == "" {
		number = pi.PhoneNumber
	}
	phone, err := domain.NewPhoneNumber(countryCodeText(pi.CountryCode), number)
	if err != nil {
		return application.WeChatPhone{}, err
	}
	return application.WeChatPhone{Phone: phone, WatermarkAppID: pi.Watermark.AppID}, nil
}

// countryCodeText reads countryCode as WeChat sends it, a string or a
// number ("" otherwise).
func countryCodeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// jsonObject reports whether body looks like a JSON object (WeChat serves
// JSON as text/plain: the Content-Type says nothing).
func jsonObject(body []byte) bool {
	return strings.HasPrefix(strings.TrimLeft(string(body), " \t\r\n"), "{")
}

// rejectionOf is WeChat's errcode answer as an error of kind: WeChatErrcode
// set, Detail {"errcode":..,"errmsg":..} (as the logins' extMsg).
func rejectionOf(kind domain.Kind, errcode int64, errmsg string) error {
	detail, _ := json.Marshal(rejection{ErrCode: errcode, ErrMsg: truncateUTF8(errmsg, maxErrMsgBytes)})
	return &domain.Error{Kind: kind, Detail: string(detail), WeChatErrcode: errcode}
}

// retag gives an error of post (KindWeChatUnavailable, KindWeChatMalformed)
// the kind of the call that failed.
func retag(err error, kind domain.Kind) error {
	var e *domain.Error
	if errors.As(err, &e) {
		return &domain.Error{Kind: kind, Err: e.Err}
	}
	return &domain.Error{Kind: kind, Err: err}
}

// startPostSpan starts the client span of a POST to path, named and
// described by hand: the URL's query may carry the access token.
func (c *Client) startPostSpan(ctx context.Context, path, appID string) (context.Context, trace.Span) {
	ctx, span := c.tracing.Tracer(tracerName).Start(ctx, "wechat "+path, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", http.MethodPost),
			attribute.String("server.address", c.host),
			attribute.String("url.path", path),
		)
		if appID != "" {
			span.SetAttributes(attribute.String("wechat.app_id", appID))
		}
	}
	return ctx, span
}

// post sends one JSON POST (never replayed by the transport) and returns the
// bounded body of a 2xx answer. Errors: KindWeChatUnavailable,
// KindWeChatMalformed (too long), their text without the URL's query.
func (c *Client) post(ctx context.Context, rawURL, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("wechat: cannot build the request for base URL %q", redact(c.base))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	c.tracing.Propagation().Inject(ctx, propagation.HeaderCarrier(req.Header))
	// No GetBody: the transport never sends it twice (a lookup spends the code).
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, unavailable(sanitize(err))
	}
	defer resp.Body.Close()
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
		return nil, unavailable(fmt.Errorf("wechat: %s %s: HTTP status %d", http.MethodPost, redact(c.base+path), resp.StatusCode))
	}
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, unavailable(fmt.Errorf("wechat: reading the answer: %w", sanitize(err)))
	}
	if len(out) > maxBodyBytes {
		return nil, malformed(fmt.Errorf("wechat: answer longer than %d bytes", maxBodyBytes))
	}
	return out, nil
}
