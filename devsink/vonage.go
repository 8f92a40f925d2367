package devsink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/channels/sms/gsm"
)

// SentSMS is one SMS the VonageSink accepted.
type SentSMS struct {
	// ID numbers accepted messages from 1 in arrival order.
	ID int
	// Received is when the request reached the sink.
	Received time.Time
	// MessageIDs are the IDs answered, one per part.
	MessageIDs []string
	// From, To (digits, as Vonage receives it), Text, Type ("text" or
	// "unicode") and ClientRef are the request's parameters.
	From, To, Text, Type, ClientRef string
	// StatusReportReq is true when status-report-req=1 was sent.
	StatusReportReq bool
	// Parts is how many SMS parts the text takes.
	Parts int
	// Form is every parameter received (api_secret included), for tests
	// that check the wire format.
	Form url.Values
}

// Failure is a kind of failure VonageSink.FailNext injects.
type Failure int

const (
	// FailThrottled answers status 1 ("Throughput Rate Exceeded").
	FailThrottled Failure = iota + 1
	// FailInternal answers status 5 ("Internal Error").
	FailInternal
	// FailHTTP500 answers HTTP 500 with no JSON.
	FailHTTP500
)

// Receipt methods for VonageSink.ReceiptMethod, as in the Vonage dashboard's
// "HTTP method" for delivery receipts.
const (
	ReceiptGET      = "GET"
	ReceiptPOST     = "POST"
	ReceiptPOSTJSON = "POST-JSON"
)

// VonageSink is an http.Handler standing in for the Vonage SMS API
// endpoint `POST /sms/json` (served under any path ending in /sms/json). It
// checks the wire format as strictly as a test would (POST, form-encoded
// body, nothing in the query string, credentials, from, to as E.164 digits,
// text, type=unicode whenever the text is not GSM-7, client-ref of at most
// 100 characters, no unknown parameter) and answers like Vonage: a status
// per part, 2 or 3 with an error-text when the request is wrong, 4 for bad
// credentials. Accepted messages are recorded.
//
// When CallbackURL is set and the request asked for a status report, it
// then sends a delivery receipt per part to it, like Vonage does (signed
// with sms.Sign when SignatureSecret is set), which is how dev exercises the
// receipt webhook. FailNext and RejectNumber make it fail, for tests and
// demos.
//
// Set the fields before serving the first request.
type VonageSink struct {
	// APIKey and APISecret are the credentials expected; empty accepts any
	// non-empty value.
	APIKey, APISecret string
	// CallbackURL receives delivery receipts when set.
	CallbackURL string
	// ReceiptMethod is ReceiptPOSTJSON (the default), ReceiptPOST or
	// ReceiptGET.
	ReceiptMethod string
	// ReceiptStatus is the receipts' status; empty means "delivered".
	ReceiptStatus string
	// ReceiptDelay is how long after the answer receipts are sent; zero
	// means one second, like a fast carrier.
	ReceiptDelay time.Duration
	// SignatureSecret and SignatureMethod sign the receipts (see
	// sms.Sign); no signature when SignatureSecret is empty.
	SignatureSecret, SignatureMethod string
	// HTTPClient sends the receipts; nil uses a client with a 10 s timeout.
	HTTPClient *http.Client
	// Max bounds the messages kept; zero means DefaultMaxMessages.
	Max int
	// Delay, when set, is how long the sink takes before it answers an
	// accepted message: a slow but live API.
	Delay time.Duration
	// HangEvery, when positive, makes every HangEvery-th request (counting
	// the requests that pass the wire-format checks, from the first) hang:
	// the sink reads it whole, records its arrival and never answers until
	// the client gives up or the sink is closed. It is not accepted (Vonage
	// may or may not send a message it never answered; the stand-in does
	// not). 5 hangs 20% of the requests.
	HangEvery int
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	once     sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
	receipts sync.WaitGroup

	mu       sync.Mutex
	msgs     []SentSMS
	nextID   int
	requests int
	arrivals []time.Time
	checked  int // requests that passed the wire-format checks
	hung     []string
	failures []Failure
	rejects  map[string]rejection
}

type rejection struct {
	status int
	text   string
}

// allowedParams are the SMS API parameters the stand-in accepts.
var allowedParams = map[string]bool{
	"api_key": true, "api_secret": true, "from": true, "to": true, "text": true, "type": true,
	"client-ref": true, "status-report-req": true, "callback": true, "ttl": true,
	"message-class": true, "account-ref": true, "entity-id": true, "content-id": true,
}

func (v *VonageSink) init() {
	v.once.Do(func() {
		v.ctx, v.cancel = context.WithCancel(context.Background())
	})
}

func (v *VonageSink) logger() *slog.Logger {
	if v.Logger != nil {
		return v.Logger
	}
	return slog.Default()
}

// FailNext makes the next n requests fail with f (after the wire-format
// checks), to exercise the sender's retries.
func (v *VonageSink) FailNext(n int, f Failure) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for range n {
		v.failures = append(v.failures, f)
	}
}

// RejectNumber makes every request to the number (E.164, with or without
// '+') answer the given Vonage status and error-text, e.g. 7 "Number
// barred." or 6 "Unroutable message - rejected".
func (v *VonageSink) RejectNumber(to string, status int, errorText string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.rejects == nil {
		v.rejects = make(map[string]rejection)
	}
	v.rejects[strings.TrimPrefix(to, "+")] = rejection{status: status, text: errorText}
}

// Messages returns the accepted messages, oldest first.
func (v *VonageSink) Messages() []SentSMS {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]SentSMS(nil), v.msgs...)
}

// Requests returns how many requests reached the endpoint, failed or not.
func (v *VonageSink) Requests() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.requests
}

// Arrivals returns when each request reached the endpoint, in arrival
// order, whatever its fate (accepted, refused, failed or hung): what a
// provider counts against its rate limit.
func (v *VonageSink) Arrivals() []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Time(nil), v.arrivals...)
}

// Hung returns the client-refs of the requests HangEvery made hang.
func (v *VonageSink) Hung() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.hung...)
}

// Close stops pending delivery receipts and waits for those being sent.
func (v *VonageSink) Close() {
	v.init()
	v.cancel()
	v.receipts.Wait()
}

// ServeHTTP implements the /sms/json endpoint.
func (v *VonageSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	v.init()
	if !strings.HasSuffix(r.URL.Path, "/sms/json") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "the stand-in only accepts POST (credentials do not belong in URLs)", http.StatusMethodNotAllowed)
		return
	}
	v.mu.Lock()
	v.requests++
	v.arrivals = append(v.arrivals, received)
	v.mu.Unlock()

	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeVonage(w, sms.ResponseMessage{Status: "3", ErrorText: fmt.Sprintf("Invalid params: Content-Type %q is not application/x-www-form-urlencoded", r.Header.Get("Content-Type"))})
		return
	}
	if r.URL.RawQuery != "" {
		writeVonage(w, sms.ResponseMessage{Status: "3", ErrorText: "Invalid params: parameters must be in the request body, not the query string"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeVonage(w, sms.ResponseMessage{Status: "3", ErrorText: "Invalid params: unreadable form: " + err.Error()})
		return
	}
	form := r.PostForm
	if msg, ok := v.check(form); !ok {
		writeVonage(w, msg)
		return
	}
	to := form.Get("to")

	v.mu.Lock()
	v.checked++
	hang := v.HangEvery > 0 && v.checked%v.HangEvery == 0
	if hang {
		v.hung = append(v.hung, form.Get("client-ref"))
	}
	v.mu.Unlock()
	if hang {
		v.logger().Info("devsink: SMS request hangs (HangEvery)", "to", to, "client_ref", form.Get("client-ref"))
		select {
		case <-r.Context().Done():
		case <-v.ctx.Done():
		}
		return
	}

	v.mu.Lock()
	var fail Failure
	if len(v.failures) > 0 {
		fail, v.failures = v.failures[0], v.failures[1:]
	}
	rej, rejected := v.rejects[to]
	v.mu.Unlock()
	switch fail {
	case FailThrottled:
		writeVonage(w, sms.ResponseMessage{To: to, Status: "1", ErrorText: "Throughput Rate Exceeded - please wait [ 1000 ] and retry"})
		return
	case FailInternal:
		writeVonage(w, sms.ResponseMessage{To: to, Status: "5", ErrorText: "Internal Error"})
		return
	case FailHTTP500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if rejected {
		writeVonage(w, sms.ResponseMessage{To: to, Status: strconv.Itoa(rej.status), ErrorText: rej.text})
		return
	}

	unicode := form.Get("type") == "unicode"
	parts := partsOf(form.Get("text"), unicode)
	m := SentSMS{
		Received:        received,
		From:            form.Get("from"),
		To:              to,
		Text:            form.Get("text"),
		Type:            "text",
		ClientRef:       form.Get("client-ref"),
		StatusReportReq: form.Get("status-report-req") == "1",
		Parts:           parts,
		Form:            form,
	}
	if unicode {
		m.Type = "unicode"
	}
	answer := make([]sms.ResponseMessage, parts)
	for i := range answer {
		id := uuid.NewString()
		m.MessageIDs = append(m.MessageIDs, id)
		answer[i] = sms.ResponseMessage{
			To: to, MessageID: id, Status: "0", RemainingBalance: "42.00000000",
			MessagePrice: "0.03330000", Network: "20801", ClientRef: m.ClientRef,
		}
	}
	if v.Delay > 0 {
		select {
		case <-time.After(v.Delay):
		case <-v.ctx.Done():
		}
	}
	max := v.Max
	if max <= 0 {
		max = DefaultMaxMessages
	}
	v.mu.Lock()
	v.nextID++
	m.ID = v.nextID
	v.msgs = append(v.msgs, m)
	if len(v.msgs) > max {
		v.msgs = append([]SentSMS(nil), v.msgs[len(v.msgs)-max:]...)
	}
	v.mu.Unlock()
	writeVonage(w, answer...)
	v.logger().Info("devsink: SMS received", "id", m.ID, "to", m.To, "parts", m.Parts)

	if v.CallbackURL != "" && m.StatusReportReq {
		v.receipts.Add(1)
		go func() {
			defer v.receipts.Done()
			v.sendReceipts(m)
		}()
	}
}

// check validates a request's parameters like the strictest reading of the
// Vonage documentation; it returns the error answer when they are wrong.
func (v *VonageSink) check(form url.Values) (sms.ResponseMessage, bool) {
	bad := func(status int, text string) (sms.ResponseMessage, bool) {
		return sms.ResponseMessage{To: form.Get("to"), Status: strconv.Itoa(status), ErrorText: text}, false
	}
	for k, vals := range form {
		if !allowedParams[k] {
			return bad(3, "Invalid params: unknown parameter "+k)
		}
		if len(vals) != 1 {
			return bad(3, "Invalid params: "+k+" given more than once")
		}
	}
	for _, k := range []string{"api_key", "api_secret", "from", "to", "text"} {
		if form.Get(k) == "" {
			return bad(2, "Missing "+k+" param")
		}
	}
	if (v.APIKey != "" && form.Get("api_key") != v.APIKey) || (v.APISecret != "" && form.Get("api_secret") != v.APISecret) {
		return bad(4, "Bad Credentials")
	}
	to := form.Get("to")
	if len(to) < 7 || len(to) > 15 || strings.Trim(to, "0123456789") != "" || to[0] == '0' {
		return bad(3, "Invalid to param: "+to+" is not an E.164 number in digits (no '+', no spaces)")
	}
	if from := form.Get("from"); utf8.RuneCountInString(from) > 15 {
		return bad(15, "Illegal Sender Address - rejected")
	}
	typ := form.Get("type")
	if typ != "" && typ != "text" && typ != "unicode" {
		return bad(3, "Invalid type param: "+typ)
	}
	if typ != "unicode" && !gsm.IsGSM7(form.Get("text")) {
		return bad(3, "Invalid params: text has characters outside GSM-7 and type is not unicode")
	}
	if utf8.RuneCountInString(form.Get("client-ref")) > 100 {
		return bad(3, "Invalid client-ref param: longer than 100 characters")
	}
	if s := form.Get("status-report-req"); s != "" && s != "0" && s != "1" && s != "true" && s != "false" {
		return bad(3, "Invalid status-report-req param: "+s)
	}
	return sms.ResponseMessage{}, true
}

// partsOf counts the SMS parts of text sent as GSM-7 or as Unicode.
func partsOf(text string, unicode bool) int {
	parts, isUnicode := gsm.Segments(text)
	if unicode && !isUnicode {
		// GSM-7 text sent as Unicode: count UTF-16 units.
		n := len([]rune(text))
		if n <= 70 {
			return 1
		}
		return (n + 66) / 67
	}
	return parts
}

// writeVonage writes an SMS API answer.
func writeVonage(w http.ResponseWriter, msgs ...sms.ResponseMessage) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sms.Response{MessageCount: strconv.Itoa(len(msgs)), Messages: msgs})
}

// sendReceipts posts a delivery receipt per part of m to CallbackURL after
// ReceiptDelay.
func (v *VonageSink) sendReceipts(m SentSMS) {
	delay := v.ReceiptDelay
	if delay <= 0 {
		delay = time.Second
	}
	select {
	case <-v.ctx.Done():
		return
	case <-time.After(delay):
	}
	status := v.ReceiptStatus
	if status == "" {
		status = sms.ReceiptDelivered
	}
	errCode := "0"
	if status != sms.ReceiptDelivered && status != sms.ReceiptAccepted && status != sms.ReceiptBuffered {
		errCode = "1"
	}
	client := v.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for _, id := range m.MessageIDs {
		now := time.Now().UTC()
		params := url.Values{
			"msisdn":            {m.To},
			"to":                {m.From},
			"network-code":      {"20801"},
			"messageId":         {id},
			"price":             {"0.03330000"},
			"status":            {status},
			"scts":              {now.Format("0601021504")},
			"err-code":          {errCode},
			"api-key":           {m.Form.Get("api_key")},
			"message-timestamp": {now.Format("2006-01-02 15:04:05")},
		}
		if m.ClientRef != "" {
			params.Set("client-ref", m.ClientRef)
		}
		if v.SignatureSecret != "" {
			params = sms.Sign(params, v.SignatureSecret, v.SignatureMethod, now)
		}
		if err := v.postReceipt(client, params); err != nil {
			v.logger().Warn("devsink: delivery receipt not delivered", "url", v.CallbackURL, "messageId", id, "err", err)
		}
	}
}

// postReceipt sends one receipt with the configured method.
func (v *VonageSink) postReceipt(client *http.Client, params url.Values) error {
	var req *http.Request
	var err error
	switch v.ReceiptMethod {
	case ReceiptGET:
		u, perr := url.Parse(v.CallbackURL)
		if perr != nil {
			return fmt.Errorf("parse callback URL: %w", perr)
		}
		q := u.Query()
		for k, vals := range params {
			q[k] = vals
		}
		u.RawQuery = q.Encode()
		req, err = http.NewRequestWithContext(v.ctx, http.MethodGet, u.String(), nil)
	case ReceiptPOST:
		req, err = http.NewRequestWithContext(v.ctx, http.MethodPost, v.CallbackURL, strings.NewReader(params.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	default:
		body := make(map[string]string, len(params))
		for k := range params {
			body[k] = params.Get(k)
		}
		b, merr := json.Marshal(body)
		if merr != nil {
			return fmt.Errorf("encode receipt: %w", merr)
		}
		req, err = http.NewRequestWithContext(v.ctx, http.MethodPost, v.CallbackURL, bytes.NewReader(b))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return fmt.Errorf("build receipt request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send receipt: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback answered HTTP %d", resp.StatusCode)
	}
	return nil
}
