package sms

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Delivery receipt statuses Vonage reports.
const (
	ReceiptDelivered = "delivered"
	ReceiptExpired   = "expired"
	ReceiptFailed    = "failed"
	ReceiptRejected  = "rejected"
	ReceiptAccepted  = "accepted"
	ReceiptBuffered  = "buffered"
	ReceiptUnknown   = "unknown"
)

// DeliveryReceipt is a Vonage delivery receipt (DLR) for one SMS part. A long
// SMS gets one receipt per part, each with its own MessageID and the same
// ClientRef.
type DeliveryReceipt struct {
	// MessageID is Vonage's ID of the part ("messageId").
	MessageID string
	// ClientRef is what SendSMS sent as client-ref: ClientRef(key).
	ClientRef string
	// To is the number the message was sent to (Vonage's "msisdn"), digits
	// only.
	To string
	// Status is one of the Receipt* constants.
	Status string
	// ErrCode is Vonage's "err-code": "0" when delivered, otherwise the
	// carrier's reason.
	ErrCode string
	// Timestamp is when Vonage sent the receipt ("message-timestamp"), or
	// when the carrier reported it ("scts") if that is missing, in UTC.
	Timestamp time.Time
}

// Inbound is an SMS a customer sent to one of the account's numbers.
type Inbound struct {
	// MessageID is Vonage's ID of the message ("messageId").
	MessageID string
	// From is the sender's number ("msisdn"), digits only.
	From string
	// To is the account's virtual number the message was sent to.
	To string
	// Text is the message (for a concatenated message, this part's text).
	Text string
	// Timestamp is Vonage's "message-timestamp", in UTC.
	Timestamp time.Time
	// ConcatRef, ConcatPart and ConcatTotal are set when the message is one
	// part of a long SMS: parts sharing ConcatRef are joined in ConcatPart
	// order once ConcatTotal parts have arrived.
	ConcatRef               string
	ConcatPart, ConcatTotal int
}

// maxWebhookBody bounds the body a webhook parser reads.
const maxWebhookBody = 64 << 10

// WebhookParams returns a Vonage webhook's parameters from the query string
// (GET), a form body (POST application/x-www-form-urlencoded) or a JSON body
// (POST application/json), whichever the account is configured to send. JSON
// numbers and booleans become their literal text, so the parameters can be
// given to VerifySignature as they are. The body is restored, so the request
// can be read again.
func WebhookParams(r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return params, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sms: read webhook body: %w", err)
	}
	if len(body) > maxWebhookBody {
		return nil, fmt.Errorf("sms: webhook body is larger than %d bytes", maxWebhookBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "application/json" || (mediaType == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))):
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return nil, fmt.Errorf("sms: webhook JSON body: %w", err)
		}
		for k, raw := range fields {
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				params.Set(k, s)
				continue
			}
			if string(raw) == "null" {
				continue
			}
			params.Set(k, string(bytes.TrimSpace(raw)))
		}
	case mediaType == "application/x-www-form-urlencoded" || mediaType == "":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("sms: webhook form body: %w", err)
		}
		for k, v := range form {
			params[k] = v
		}
	default:
		return nil, fmt.Errorf("sms: webhook body has unsupported content type %q", mediaType)
	}
	return params, nil
}

// ParseDeliveryReceipt reads a Vonage delivery receipt from a GET query, a
// POST form or a POST JSON body. It does not check the signature: call
// VerifySignature on WebhookParams(r) when signed webhooks are enabled.
func ParseDeliveryReceipt(r *http.Request) (DeliveryReceipt, error) {
	p, err := WebhookParams(r)
	if err != nil {
		return DeliveryReceipt{}, err
	}
	d := DeliveryReceipt{
		MessageID: p.Get("messageId"),
		ClientRef: p.Get("client-ref"),
		To:        p.Get("msisdn"),
		Status:    strings.ToLower(p.Get("status")),
		ErrCode:   p.Get("err-code"),
	}
	if d.MessageID == "" {
		return DeliveryReceipt{}, errors.New("sms: delivery receipt has no messageId")
	}
	switch d.Status {
	case ReceiptDelivered, ReceiptExpired, ReceiptFailed, ReceiptRejected, ReceiptAccepted, ReceiptBuffered, ReceiptUnknown:
	case "":
		return DeliveryReceipt{}, fmt.Errorf("sms: delivery receipt %s has no status", d.MessageID)
	default:
		return DeliveryReceipt{}, fmt.Errorf("sms: delivery receipt %s has unknown status %q", d.MessageID, d.Status)
	}
	if ts := p.Get("message-timestamp"); ts != "" {
		t, err := parseMessageTimestamp(ts)
		if err != nil {
			return DeliveryReceipt{}, fmt.Errorf("sms: delivery receipt %s: %w", d.MessageID, err)
		}
		d.Timestamp = t
	} else if scts := p.Get("scts"); scts != "" {
		t, err := time.Parse("0601021504", scts)
		if err != nil {
			return DeliveryReceipt{}, fmt.Errorf("sms: delivery receipt %s: scts %q: %w", d.MessageID, scts, err)
		}
		d.Timestamp = t.UTC()
	}
	return d, nil
}

// ParseInbound reads an inbound SMS from a GET query, a POST form or a POST
// JSON body. It does not check the signature (see VerifySignature).
func ParseInbound(r *http.Request) (Inbound, error) {
	p, err := WebhookParams(r)
	if err != nil {
		return Inbound{}, err
	}
	in := Inbound{
		MessageID: p.Get("messageId"),
		From:      p.Get("msisdn"),
		To:        p.Get("to"),
		Text:      p.Get("text"),
		ConcatRef: p.Get("concat-ref"),
	}
	if in.MessageID == "" || in.From == "" {
		return Inbound{}, errors.New("sms: inbound message has no messageId or msisdn")
	}
	if ts := p.Get("message-timestamp"); ts != "" {
		t, err := parseMessageTimestamp(ts)
		if err != nil {
			return Inbound{}, fmt.Errorf("sms: inbound message %s: %w", in.MessageID, err)
		}
		in.Timestamp = t
	}
	if p.Get("concat") == "true" {
		if in.ConcatPart, err = strconv.Atoi(p.Get("concat-part")); err != nil {
			return Inbound{}, fmt.Errorf("sms: inbound message %s: concat-part: %w", in.MessageID, err)
		}
		if in.ConcatTotal, err = strconv.Atoi(p.Get("concat-total")); err != nil {
			return Inbound{}, fmt.Errorf("sms: inbound message %s: concat-total: %w", in.MessageID, err)
		}
		// A concatenated SMS has 2 to 255 parts (one octet in the UDH),
		// numbered from 1.
		if in.ConcatTotal < 1 || in.ConcatTotal > 255 || in.ConcatPart < 1 || in.ConcatPart > in.ConcatTotal {
			return Inbound{}, fmt.Errorf("sms: inbound message %s: part %d of %d is not a valid part number", in.MessageID, in.ConcatPart, in.ConcatTotal)
		}
		if in.ConcatRef == "" {
			return Inbound{}, fmt.Errorf("sms: inbound message %s: concatenated part without concat-ref", in.MessageID)
		}
	}
	return in, nil
}

// parseMessageTimestamp parses Vonage's "YYYY-MM-DD HH:MM:SS" (UTC), with or
// without a trailing zone offset.
func parseMessageTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05 -0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("message-timestamp %q is not YYYY-MM-DD HH:MM:SS", s)
}

// Signature methods of Vonage's signed webhooks, as set in the dashboard.
const (
	SignatureMD5Hash = "md5hash" // MD5 of the parameters followed by the secret
	SignatureMD5     = "md5"     // HMAC-MD5
	SignatureSHA1    = "sha1"    // HMAC-SHA1
	SignatureSHA256  = "sha256"  // HMAC-SHA256
	SignatureSHA512  = "sha512"  // HMAC-SHA512
)

// MaxSignatureSkew is how far a signed webhook's timestamp may be from now;
// older (or future) requests are refused so a captured one cannot be
// replayed later.
const MaxSignatureSkew = 5 * time.Minute

// ErrSignature is wrapped by every VerifySignature failure, so a handler can
// answer 401 for it and 400 for malformed input.
var ErrSignature = errors.New("sms: webhook signature rejected")

// signatureBase builds the signed string: every parameter but sig, sorted by
// name, as "&name=value" with '&' and '=' in values replaced by '_'.
func signatureBase(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := strings.NewReplacer("&", "_", "=", "_").Replace(params.Get(k))
		b.WriteString("&")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(v)
	}
	return b.String()
}

// signature computes the lowercase hex signature of params.
func signature(params url.Values, secret, method string) (string, error) {
	base := signatureBase(params)
	var h hash.Hash
	switch strings.ToLower(method) {
	case SignatureMD5Hash, "":
		sum := md5.Sum([]byte(base + secret))
		return hex.EncodeToString(sum[:]), nil
	case SignatureMD5:
		h = hmac.New(md5.New, []byte(secret))
	case SignatureSHA1:
		h = hmac.New(sha1.New, []byte(secret))
	case SignatureSHA256:
		h = hmac.New(sha256.New, []byte(secret))
	case SignatureSHA512:
		h = hmac.New(sha512.New, []byte(secret))
	default:
		return "", fmt.Errorf("sms: unknown signature method %q (md5hash, md5, sha1, sha256, sha512)", method)
	}
	h.Write([]byte(base))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifySignature checks a signed Vonage webhook (SMS API "signed
// requests"): params must carry `sig` and `timestamp` (Unix seconds); sig
// must be the signature of the other parameters with secret and method
// ("md5hash", or the HMAC variants "md5", "sha1", "sha256", "sha512", as
// chosen in the Vonage dashboard; empty means md5hash), compared
// case-insensitively; and timestamp must be within MaxSignatureSkew of now.
// Failures wrap ErrSignature.
func VerifySignature(params url.Values, secret string, method string, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: no signature secret configured", ErrSignature)
	}
	sig := strings.ToLower(strings.TrimSpace(params.Get("sig")))
	if sig == "" {
		return fmt.Errorf("%w: no sig parameter", ErrSignature)
	}
	ts := params.Get("timestamp")
	if ts == "" {
		return fmt.Errorf("%w: no timestamp parameter", ErrSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrSignature, ts)
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > MaxSignatureSkew || skew < -MaxSignatureSkew {
		return fmt.Errorf("%w: timestamp is %s away from now", ErrSignature, skew.Round(time.Second))
	}
	want, err := signature(params, secret, method)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return fmt.Errorf("%w: sig does not match", ErrSignature)
	}
	return nil
}

// Sign returns a copy of params signed as Vonage signs a webhook: it sets
// `timestamp` to now (Unix seconds), a random `nonce` when none is present,
// and `sig`. The dev stand-in uses it for the delivery receipts it posts, and
// tests for round trips through VerifySignature. An unknown method signs
// with md5hash.
func Sign(params url.Values, secret, method string, now time.Time) url.Values {
	out := make(url.Values, len(params)+3)
	for k, v := range params {
		if k != "sig" {
			out[k] = append([]string(nil), v...)
		}
	}
	out.Set("timestamp", strconv.FormatInt(now.Unix(), 10))
	if out.Get("nonce") == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		out.Set("nonce", hex.EncodeToString(b[:]))
	}
	sig, err := signature(out, secret, method)
	if err != nil {
		sig, _ = signature(out, secret, SignatureMD5Hash)
	}
	out.Set("sig", sig)
	return out
}
