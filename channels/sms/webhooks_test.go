package sms_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels/sms"
)

func receiptParams() url.Values {
	return url.Values{
		"msisdn": {"33612345678"}, "to": {"Acme"}, "network-code": {"20801"}, "messageId": {"0A0000001234567B"},
		"price": {"0.03330000"}, "status": {"delivered"}, "scts": {"2601151004"}, "err-code": {"0"},
		"api-key": {"abcd1234"}, "client-ref": {"invoice:3:F-12/10/sms/sms"}, "message-timestamp": {"2026-01-15 10:04:05"},
	}
}

// requestAs builds the request Vonage would send with params: "GET" in the
// query, "POST" as a form, "JSON" as a JSON object.
func requestAs(t testing.TB, how string, params url.Values) *http.Request {
	t.Helper()
	switch how {
	case "GET":
		return httptest.NewRequest(http.MethodGet, "/webhooks/vonage/status?"+params.Encode(), nil)
	case "POST":
		r := httptest.NewRequest(http.MethodPost, "/webhooks/vonage/status", strings.NewReader(params.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k := range params {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(quote(k) + ":" + quote(params.Get(k)))
	}
	b.WriteString("}")
	r := httptest.NewRequest(http.MethodPost, "/webhooks/vonage/status", strings.NewReader(b.String()))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	return r
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func TestParseDeliveryReceipt(t *testing.T) {
	for _, how := range []string{"GET", "POST", "JSON"} {
		d, err := sms.ParseDeliveryReceipt(requestAs(t, how, receiptParams()))
		require.NoError(t, err, how)
		require.Equal(t, sms.DeliveryReceipt{
			MessageID: "0A0000001234567B", ClientRef: "invoice:3:F-12/10/sms/sms", To: "33612345678",
			Status: sms.ReceiptDelivered, ErrCode: "0", Timestamp: time.Date(2026, 1, 15, 10, 4, 5, 0, time.UTC),
		}, d, how)
	}
	// Without message-timestamp the carrier's scts is used.
	p := receiptParams()
	p.Del("message-timestamp")
	d, err := sms.ParseDeliveryReceipt(requestAs(t, "POST", p))
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 1, 15, 10, 4, 0, 0, time.UTC), d.Timestamp)
	// Statuses are matched case-insensitively.
	p = receiptParams()
	p.Set("status", "FAILED")
	d, err = sms.ParseDeliveryReceipt(requestAs(t, "GET", p))
	require.NoError(t, err)
	require.Equal(t, sms.ReceiptFailed, d.Status)

	// JSON numbers (some accounts send err-code as a number) become text.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"messageId":"1","status":"delivered","err-code":0,"price":0.033,"client-ref":null}`))
	r.Header.Set("Content-Type", "application/json")
	d, err = sms.ParseDeliveryReceipt(r)
	require.NoError(t, err)
	require.Equal(t, "0", d.ErrCode)
	require.Empty(t, d.ClientRef)
	// The body stays readable for a second parse (signature, then receipt).
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `"messageId":"1"`)

	for name, mod := range map[string]func(url.Values){
		"no messageId":   func(v url.Values) { v.Del("messageId") },
		"no status":      func(v url.Values) { v.Del("status") },
		"unknown status": func(v url.Values) { v.Set("status", "lost") },
		"bad timestamp":  func(v url.Values) { v.Set("message-timestamp", "15/01/2026") },
		"bad scts":       func(v url.Values) { v.Del("message-timestamp"); v.Set("scts", "x") },
	} {
		p := receiptParams()
		mod(p)
		_, err := sms.ParseDeliveryReceipt(requestAs(t, "POST", p))
		require.Error(t, err, name)
	}
	bad := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"messageId":`))
	bad.Header.Set("Content-Type", "application/json")
	_, err = sms.ParseDeliveryReceipt(bad)
	require.Error(t, err)
	xml := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`<dlr/>`))
	xml.Header.Set("Content-Type", "text/xml")
	_, err = sms.ParseDeliveryReceipt(xml)
	require.ErrorContains(t, err, "unsupported content type")
	huge := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("messageId=1&status=delivered&x="+strings.Repeat("a", 70<<10)))
	huge.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = sms.ParseDeliveryReceipt(huge)
	require.ErrorContains(t, err, "larger than")
}

func TestParseInbound(t *testing.T) {
	p := url.Values{"msisdn": {"33612345678"}, "to": {"33700000000"}, "messageId": {"in-1"}, "text": {"Je paie & merci = ok"},
		"type": {"text"}, "keyword": {"JE"}, "message-timestamp": {"2026-01-15 11:00:00"}}
	for _, how := range []string{"GET", "POST", "JSON"} {
		in, err := sms.ParseInbound(requestAs(t, how, p))
		require.NoError(t, err, how)
		require.Equal(t, sms.Inbound{MessageID: "in-1", From: "33612345678", To: "33700000000", Text: "Je paie & merci = ok",
			Timestamp: time.Date(2026, 1, 15, 11, 0, 0, 0, time.UTC)}, in, how)
	}
	c := url.Values{"msisdn": {"33612345678"}, "messageId": {"in-2"}, "text": {"part"}, "concat": {"true"},
		"concat-ref": {"7"}, "concat-part": {"2"}, "concat-total": {"3"}}
	in, err := sms.ParseInbound(requestAs(t, "JSON", c))
	require.NoError(t, err)
	require.Equal(t, "7", in.ConcatRef)
	require.Equal(t, 2, in.ConcatPart)
	require.Equal(t, 3, in.ConcatTotal)
	for name, mod := range map[string]func(url.Values){
		"no msisdn":         func(v url.Values) { v.Del("msisdn") },
		"no messageId":      func(v url.Values) { v.Del("messageId") },
		"part not a number": func(v url.Values) { v.Set("concat-part", "two") },
		"part beyond total": func(v url.Values) { v.Set("concat-part", "4") },
		"part zero":         func(v url.Values) { v.Set("concat-part", "0") },
		"no concat-ref":     func(v url.Values) { v.Del("concat-ref") },
	} {
		v := url.Values{}
		for k, vals := range c {
			v[k] = append([]string(nil), vals...)
		}
		mod(v)
		_, err := sms.ParseInbound(requestAs(t, "POST", v))
		require.Error(t, err, name)
	}
}

func TestSignatureKnownVectors(t *testing.T) {
	// Computed independently (Python hashlib/hmac) over
	// "&a=1&b=x_y_z&messageId=0A01&timestamp=1700000000": parameters sorted
	// by name, '&' and '=' in values replaced by '_', sig left out.
	params := url.Values{"b": {"x&y=z"}, "a": {"1"}, "messageId": {"0A01"}, "timestamp": {"1700000000"}}
	now := time.Unix(1700000000, 0).Add(time.Minute)
	for method, sig := range map[string]string{
		sms.SignatureMD5Hash: "6bf589b236e22bfe4832ff6d75e1b7fa",
		sms.SignatureSHA256:  "0f23dd7d7207899609e7cfd50e5182905aaca287221a9eda9e4e3f5be7e59467",
		sms.SignatureSHA1:    "cbe47b315f5c0f1928f74dbccbedbb623721dc3d",
	} {
		v := copyValues(params)
		v.Set("sig", sig)
		require.NoError(t, sms.VerifySignature(v, "s3cr3t", method, now), method)
		v.Set("sig", strings.ToUpper(sig)) // some SDKs send upper-case hex
		require.NoError(t, sms.VerifySignature(v, "s3cr3t", method, now), method)
	}
}

func copyValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

func TestSignature(t *testing.T) {
	const secret = "s3cr3t-s3cr3t"
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	methods := []string{sms.SignatureMD5Hash, sms.SignatureMD5, sms.SignatureSHA1, sms.SignatureSHA256, sms.SignatureSHA512}
	for _, method := range methods {
		signed := sms.Sign(receiptParams(), secret, method, now)
		require.NotEmpty(t, signed.Get("sig"))
		require.NotEmpty(t, signed.Get("nonce"))
		require.NoError(t, sms.VerifySignature(signed, secret, method, now), method)
		// The signature survives the trip through each wire format.
		for _, how := range []string{"GET", "POST", "JSON"} {
			p, err := sms.WebhookParams(requestAs(t, how, signed))
			require.NoError(t, err)
			require.NoError(t, sms.VerifySignature(p, secret, method, now.Add(MaxSkewMinus())), "%s %s", method, how)
		}

		reject := func(name string, v url.Values, secret, method string, at time.Time) {
			t.Helper()
			err := sms.VerifySignature(v, secret, method, at)
			require.Error(t, err, "%s %s", method, name)
			require.True(t, errors.Is(err, sms.ErrSignature), "%s %s: %v", method, name, err)
		}
		tampered := copyValues(signed)
		tampered.Set("status", "failed")
		reject("tampered value", tampered, secret, method, now)
		added := copyValues(signed)
		added.Set("client-ref", "invoice:9:other")
		reject("changed client-ref", added, secret, method, now)
		extra := copyValues(signed)
		extra.Set("injected", "1")
		reject("added parameter", extra, secret, method, now)
		reject("stale", signed, secret, method, now.Add(sms.MaxSignatureSkew+time.Second))
		reject("from the future", signed, secret, method, now.Add(-sms.MaxSignatureSkew-time.Second))
		reject("wrong secret", signed, "other-secret", method, now)
		noSig := copyValues(signed)
		noSig.Del("sig")
		reject("no sig", noSig, secret, method, now)
		noTS := copyValues(signed)
		noTS.Del("timestamp")
		reject("no timestamp", noTS, secret, method, now)
		badTS := copyValues(signed)
		badTS.Set("timestamp", "yesterday")
		reject("bad timestamp", badTS, secret, method, now)
		reject("no secret configured", signed, "", method, now)
	}
	// A signature made with one method does not pass another.
	md5 := sms.Sign(receiptParams(), secret, sms.SignatureMD5Hash, now)
	require.ErrorIs(t, sms.VerifySignature(md5, secret, sms.SignatureSHA256, now), sms.ErrSignature)
	// A misconfigured method is an error, but not a signature rejection.
	err := sms.VerifySignature(md5, secret, "sha3", now)
	require.Error(t, err)
	require.False(t, errors.Is(err, sms.ErrSignature))
}

// MaxSkewMinus is a time inside the allowed skew, to show the check is not
// an equality on the second.
func MaxSkewMinus() time.Duration { return sms.MaxSignatureSkew - time.Second }

// FuzzWebhookParams feeds arbitrary requests to the webhook parsers: they
// must never panic, a parsed receipt or inbound SMS must satisfy the
// parsers' own guarantees, and whatever parameters come out must survive a
// Sign/VerifySignature round trip.
func FuzzWebhookParams(f *testing.F) {
	f.Add("GET", "", "", receiptParams().Encode())
	f.Add("POST", "application/x-www-form-urlencoded", receiptParams().Encode(), "")
	f.Add("POST", "application/json", `{"messageId":"1","status":"delivered","err-code":0,"client-ref":null}`, "")
	f.Add("POST", "application/json", `{"msisdn":"336","messageId":"2","concat":"true","concat-part":"1","concat-total":"2","concat-ref":"9"}`, "")
	f.Add("POST", "", `{"messageId":"3"`, "a=%zz")
	f.Add("POST", "text/plain; charset=\x00", "messageId=1&status=delivered", "")
	f.Add("POST", "multipart/form-data", "--x--", "sig=1&timestamp=99999999999999999999")
	f.Add("POST", "application/json", `["not","an","object"]`, "")
	f.Fuzz(func(t *testing.T, method, contentType, body, query string) {
		if method != http.MethodGet && method != http.MethodPost {
			method = http.MethodPost
		}
		u := &url.URL{Path: "/webhooks/vonage/status", RawQuery: query}
		newReq := func() *http.Request {
			r := httptest.NewRequest(method, "/", strings.NewReader(body))
			r.URL = u
			r.Header.Set("Content-Type", contentType)
			return r
		}
		params, perr := sms.WebhookParams(newReq())
		if d, err := sms.ParseDeliveryReceipt(newReq()); err == nil {
			require.NoError(t, perr)
			require.NotEmpty(t, d.MessageID)
			switch d.Status {
			case sms.ReceiptDelivered, sms.ReceiptExpired, sms.ReceiptFailed, sms.ReceiptRejected,
				sms.ReceiptAccepted, sms.ReceiptBuffered, sms.ReceiptUnknown:
			default:
				t.Fatalf("status %q accepted", d.Status)
			}
		}
		if in, err := sms.ParseInbound(newReq()); err == nil {
			require.NoError(t, perr)
			require.NotEmpty(t, in.MessageID)
			require.NotEmpty(t, in.From)
			if in.ConcatTotal != 0 {
				require.True(t, in.ConcatPart >= 1 && in.ConcatPart <= in.ConcatTotal)
			}
		}
		if perr != nil {
			return
		}
		now := time.Unix(1_800_000_000, 0)
		signed := sms.Sign(params, "fuzz-secret", sms.SignatureSHA256, now)
		require.NoError(t, sms.VerifySignature(signed, "fuzz-secret", sms.SignatureSHA256, now))
	})
}
