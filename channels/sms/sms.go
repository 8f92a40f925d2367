// Package sms sends text messages through the Vonage SMS API, spoken
// directly: the Vonage Go SDK cannot be downloaded on the build machines and
// is no longer actively developed (docs/domain.md §2.3), and the SMS API is one
// form POST. The package also parses and verifies Vonage's webhooks
// (delivery receipts, inbound messages), for the API's handlers.
//
// # Throughput
//
// Vonage accepts a limited number of requests per second per account (30 by
// default for the SMS API) and answers status 1 ("throttled") above it. A
// Client never lets more than Config.RatePerSecond requests reach Vonage in
// any one-second window: it counts each request from its start to one
// second after its answer, or after its own timeout cut it off (see
// Limiter), so a hung request holds one slot, not the whole rate. By default that holds for one process only; across workers it
// needs Config.Limiter set to a SQLLimiter on the shared database. The
// SMS task queue's TaskQueueActivitiesPerSecond (set by the workers) keeps
// the average rate server-side but is a token bucket per task-queue
// partition and lets bursts through (see SQLLimiter). A throttled answer
// that gets through anyway is retryable.
package sms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/sms/gsm"
)

// Defaults for Config.
const (
	DefaultBaseURL       = "https://rest.nexmo.com"
	DefaultRatePerSecond = channels.DefaultSMSPerSecond
	DefaultTimeout       = 10 * time.Second
)

// Vonage SMS API status codes (the "status" of each message in the answer).
const (
	StatusSuccess              = 0
	StatusThrottled            = 1
	StatusMissingParams        = 2
	StatusInvalidParams        = 3
	StatusInvalidCredentials   = 4
	StatusInternalError        = 5
	StatusInvalidMessage       = 6
	StatusNumberBarred         = 7
	StatusPartnerAccountBarred = 8
	StatusPartnerQuotaExceeded = 9
	StatusTooManyBinds         = 10
	StatusAccountNotEnabled    = 11
	StatusMessageTooLong       = 12
	StatusInvalidSignature     = 14
	StatusInvalidSenderAddress = 15
	StatusInvalidNetworkCode   = 22
	StatusInvalidCallbackURL   = 23
	StatusNonWhitelisted       = 29
	StatusSignatureAndSecret   = 32
	StatusNumberDeactivated    = 33
)

// retryableStatus are the statuses a later attempt can succeed after:
// throttling, Vonage's internal error, and too many concurrent binds. Every
// other non-zero status is about the request, the number or the account and
// is permanent.
func retryableStatus(status int) bool {
	return status == StatusThrottled || status == StatusInternalError || status == StatusTooManyBinds
}

// maxClientRef is Vonage's limit on client-ref.
const maxClientRef = 100

// Config is a Vonage account to send through.
type Config struct {
	// BaseURL defaults to DefaultBaseURL; the dev sink and tests point it
	// at a loopback stand-in.
	BaseURL string
	// APIKey and APISecret authenticate every request.
	APIKey, APISecret string
	// From is the default sender ID (alphanumeric, up to 11 characters, or
	// a number), used when SMS.From is empty.
	From string
	// RatePerSecond caps the requests this client starts in any second;
	// zero means DefaultRatePerSecond.
	RatePerSecond int
	// Timeout bounds one request; zero means DefaultTimeout. A request
	// Vonage never answers holds one slot of the rate until Timeout (plus
	// one second), so it is also what a hung request costs (see Limiter).
	Timeout time.Duration
	// HTTPClient defaults to a client whose transport keeps enough idle
	// connections for RatePerSecond requests a second.
	HTTPClient *http.Client
	// Limiter, when set, replaces the in-process limiter: a SQLLimiter
	// enforces RatePerSecond across every worker sharing the database.
	Limiter Limiter
}

// Client sends SMS through the Vonage SMS API. It is safe for concurrent use;
// share one per process so that its rate limit holds.
type Client struct {
	cfg     Config
	http    *http.Client
	limiter Limiter
}

var _ channels.SMSSender = (*Client)(nil)

// New returns a Client for cfg, filling in defaults.
func New(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.RatePerSecond
		hc = &http.Client{Transport: tr}
	}
	var limiter Limiter = newSlidingLimiter(cfg.RatePerSecond, window)
	if cfg.Limiter != nil {
		limiter = cfg.Limiter
	}
	return &Client{cfg: cfg, http: hc, limiter: limiter}
}

// ClientRef returns the client-ref sent to Vonage for a message key: the key
// itself when it fits Vonage's 100 characters, otherwise its first 59
// characters, '~' and 40 hex digits of its SHA-256. It is deterministic, so
// a delivery receipt's client-ref can be matched to the outbox row by
// computing ClientRef(key).
func ClientRef(key string) string {
	if len(key) <= maxClientRef {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	prefix := key[:59]
	// Do not cut a UTF-8 sequence in half.
	for len(prefix) > 0 && prefix[len(prefix)-1]&0xC0 == 0x80 {
		prefix = prefix[:len(prefix)-1]
	}
	if len(prefix) > 0 && prefix[len(prefix)-1] >= 0xC0 {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + "~" + hex.EncodeToString(sum[:])[:40]
}

// msisdn turns an E.164 number ("+33612345678") into the digits Vonage
// expects ("33612345678").
func msisdn(e164 string) (string, error) {
	n := strings.TrimPrefix(strings.TrimSpace(e164), "+")
	if len(n) < 7 || len(n) > 15 || n[0] == '0' {
		return "", fmt.Errorf("sms: %q is not an E.164 number", e164)
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", fmt.Errorf("sms: %q is not an E.164 number", e164)
		}
	}
	return n, nil
}

// Response is the SMS API's answer to /sms/json.
type Response struct {
	MessageCount string            `json:"message-count"`
	Messages     []ResponseMessage `json:"messages"`
}

// ResponseMessage is one part's result in a Response.
type ResponseMessage struct {
	To               string `json:"to,omitempty"`
	MessageID        string `json:"message-id,omitempty"`
	Status           string `json:"status"`
	ErrorText        string `json:"error-text,omitempty"`
	RemainingBalance string `json:"remaining-balance,omitempty"`
	MessagePrice     string `json:"message-price,omitempty"`
	Network          string `json:"network,omitempty"`
	ClientRef        string `json:"client-ref,omitempty"`
}

// SendSMS sends m and returns the Vonage message ID (of the first part for a
// long text). It waits for the client's rate limit first, then calls
// m.Begin (when set) right before the request: an SMS waiting for the rate
// has not been handed to anyone.
//
// Statuses 1 (throttled), 5 (internal error) and 10, HTTP 429 and 5xx, and
// network errors and timeouts before the request was written whole are
// returned as plain, retryable errors. A failure after Vonage had the whole
// request (no answer, an unreadable 200, some parts accepted and others
// refused) is channels.MaybeDelivered: the SMS API has no idempotency key,
// so sending again could text the customer twice. Every
// other status (missing or invalid parameters, bad credentials, unroutable
// message, barred number, quota exceeded, invalid sender, non-whitelisted
// destination…) and an invalid number are returned as channels.Permanent
// with Vonage's error-text.
func (c *Client) SendSMS(ctx context.Context, m channels.SMS) (string, error) {
	to, err := msisdn(m.To)
	if err != nil {
		return "", channels.Permanent(err)
	}
	if m.Text == "" {
		return "", channels.Permanent(fmt.Errorf("sms: message %s has no text", m.Key))
	}
	from := m.From
	if from == "" {
		from = c.cfg.From
	}
	if from == "" {
		return "", channels.Permanent(fmt.Errorf("sms: message %s has no sender (From) and none is configured", m.Key))
	}
	form := url.Values{
		"api_key":           {c.cfg.APIKey},
		"api_secret":        {c.cfg.APISecret},
		"from":              {from},
		"to":                {to},
		"text":              {m.Text},
		"status-report-req": {"1"},
	}
	if !gsm.IsGSM7(m.Text) {
		form.Set("type", "unicode")
	}
	if m.Key != "" {
		form.Set("client-ref", ClientRef(m.Key))
	}

	permit, err := c.limiter.Acquire(ctx, c.cfg.Timeout)
	if err != nil {
		return "", err
	}
	// The request counts against the rate until its answer is in, or until
	// one window after its deadline cut it off (see Limiter).
	defer permit.Done()
	if m.Begin != nil {
		// The rate let it go: only now may the message be about to reach
		// Vonage (the outbox marks it so); an error sends nothing.
		if err := m.Begin(ctx); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithDeadline(ctx, permit.Deadline)
	defer cancel()
	endpoint := c.cfg.BaseURL + "/sms/json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("sms: build request to %s: %w", endpoint, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// Whether the whole request went out decides what a lost answer means:
	// before, Vonage cannot have the message (retry); after, it may have
	// sent it, and the SMS API has no idempotency key (do not retry).
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	}))
	resp, err := c.http.Do(req)
	if err != nil {
		err = fmt.Errorf("sms: send %s to %s: %w", m.Key, endpoint, err)
		if wrote.Load() {
			return "", channels.MaybeDelivered(fmt.Errorf("%w (the request was sent whole; no answer)", err))
		}
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		err = fmt.Errorf("sms: read answer for %s from %s: %w", m.Key, endpoint, err)
		if resp.StatusCode == http.StatusOK {
			return "", channels.MaybeDelivered(err)
		}
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("sms: %s answered HTTP %d for %s: %.200s", endpoint, resp.StatusCode, m.Key, body)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return "", channels.Permanent(err)
		}
		return "", err
	}
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		// A 200 means Vonage took the request; only its verdict is unreadable.
		return "", channels.MaybeDelivered(fmt.Errorf("sms: unreadable answer from %s for %s: %w", endpoint, m.Key, err))
	}
	return r.result(m.Key)
}

// result classifies a decoded answer: every part must have status 0.
func (r Response) result(key string) (string, error) {
	if len(r.Messages) == 0 {
		return "", fmt.Errorf("sms: Vonage answered no message for %s", key)
	}
	var failures []error
	permanent := false
	for i, msg := range r.Messages {
		status, err := strconv.Atoi(strings.TrimSpace(msg.Status))
		if err != nil {
			failures = append(failures, fmt.Errorf("part %d: unreadable status %q", i+1, msg.Status))
			continue
		}
		if status == StatusSuccess {
			continue
		}
		if !retryableStatus(status) {
			permanent = true
		}
		failures = append(failures, fmt.Errorf("part %d: status %d: %s", i+1, status, msg.ErrorText))
	}
	if len(failures) > 0 {
		err := fmt.Errorf("sms: Vonage refused %s: %w", key, errors.Join(failures...))
		if len(failures) < len(r.Messages) {
			// Some parts went out: sending the text again would repeat
			// them, refusing it would leave ops unaware.
			return "", channels.MaybeDelivered(fmt.Errorf("%w (%d of %d parts accepted)", err, len(r.Messages)-len(failures), len(r.Messages)))
		}
		if permanent {
			return "", channels.Permanent(err)
		}
		return "", err
	}
	if r.Messages[0].MessageID == "" {
		return "", channels.MaybeDelivered(fmt.Errorf("sms: Vonage accepted %s without a message-id", key))
	}
	return r.Messages[0].MessageID, nil
}
