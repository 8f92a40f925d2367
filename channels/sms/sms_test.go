package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/channels/sms/gsm"
	"github.com/relance/relance/internal/testkit"
)

// standIn is a loopback Vonage SMS endpoint that checks the wire format of
// every request strictly and answers what the test asks for.
type standIn struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	forms    []url.Values
	arrivals []time.Time
	problems []string
	// answer, when set, writes the answer; otherwise every part succeeds.
	answer func(w http.ResponseWriter, form url.Values)
	// before, when set, runs before the answer with the request (a test
	// that hangs a request waits on its context there).
	before func(r *http.Request, form url.Values)
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	s := &standIn{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r.Method != http.MethodPost {
		bad("method %s, want POST", r.Method)
	}
	if r.URL.Path != "/sms/json" {
		bad("path %s, want /sms/json", r.URL.Path)
	}
	if r.URL.RawQuery != "" {
		bad("query string %q: parameters (and the secret) belong in the body", r.URL.RawQuery)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		bad("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil {
		bad("form: %v", err)
	}
	form := r.PostForm
	for _, k := range []string{"api_key", "api_secret", "from", "to", "text"} {
		if len(form[k]) != 1 || form.Get(k) == "" {
			bad("parameter %s: %q", k, form[k])
		}
	}
	for k := range form {
		switch k {
		case "api_key", "api_secret", "from", "to", "text", "type", "client-ref", "status-report-req":
		default:
			bad("unexpected parameter %s", k)
		}
	}
	if to := form.Get("to"); strings.HasPrefix(to, "+") || strings.Trim(to, "0123456789") != "" {
		bad("to %q: Vonage wants international digits without +", to)
	}
	if ty := form.Get("type"); ty != "" && ty != "unicode" {
		bad("type %q", ty)
	}
	if ref := form.Get("client-ref"); utf8.RuneCountInString(ref) > 100 {
		bad("client-ref longer than 100: %d", len(ref))
	}
	s.mu.Lock()
	s.forms = append(s.forms, form)
	s.arrivals = append(s.arrivals, arrived)
	s.problems = append(s.problems, problems...)
	answer, before := s.answer, s.before
	s.mu.Unlock()
	if before != nil {
		before(r, form)
	}
	if answer != nil {
		answer(w, form)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sms.Response{MessageCount: "1", Messages: []sms.ResponseMessage{{
		To: form.Get("to"), MessageID: "0A0000000123ABCD1", Status: "0", ClientRef: form.Get("client-ref"),
		RemainingBalance: "3.14", MessagePrice: "0.03", Network: "20801"}}})
}

// requests returns the forms received, after checking none broke the format.
func (s *standIn) requests() []url.Values {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Empty(s.t, s.problems, "wire format")
	return append([]url.Values(nil), s.forms...)
}

func (s *standIn) client(mod func(*sms.Config)) *sms.Client {
	cfg := sms.Config{BaseURL: s.srv.URL, APIKey: "key-1", APISecret: "secret-1", From: "Acme", Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	return sms.New(cfg)
}

// answerStatus answers one message with the given Vonage status.
func answerStatus(status int, text string) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, form url.Values) {
		w.Header().Set("Content-Type", "application/json")
		msg := sms.ResponseMessage{To: form.Get("to"), Status: fmt.Sprint(status), ErrorText: text}
		if status == 0 {
			msg.MessageID = "id-ok"
		}
		_ = json.NewEncoder(w).Encode(sms.Response{MessageCount: "1", Messages: []sms.ResponseMessage{msg}})
	}
}

func TestSendWireFormat(t *testing.T) {
	s := newStandIn(t)
	c := s.client(nil)
	ctx := context.Background()

	id, err := c.SendSMS(ctx, channels.SMS{Key: "invoice:3:F-12/10/sms/sms", To: "+33612345678", Text: "Rappel : facture F-12 échue. https://p.example/c/1"})
	require.NoError(t, err)
	require.Equal(t, "0A0000000123ABCD1", id)
	// Non GSM-7 text goes as unicode; a sender per message overrides the default.
	_, err = c.SendSMS(ctx, channels.SMS{Key: "k2", From: "Durand", To: "+32470123456", Text: "Merci ’ — œuvre ✓"})
	require.NoError(t, err)
	// A key longer than Vonage's 100 characters is sent hashed.
	long := strings.Repeat("é", 80) + "/step"
	_, err = c.SendSMS(ctx, channels.SMS{Key: long, To: "+4915112345678", Text: "€ is GSM-7 (extension table)"})
	require.NoError(t, err)

	reqs := s.requests()
	require.Len(t, reqs, 3)
	first := reqs[0]
	require.Equal(t, "key-1", first.Get("api_key"))
	require.Equal(t, "secret-1", first.Get("api_secret"))
	require.Equal(t, "Acme", first.Get("from"))
	require.Equal(t, "33612345678", first.Get("to"))
	require.Equal(t, "Rappel : facture F-12 échue. https://p.example/c/1", first.Get("text"))
	require.Empty(t, first.Get("type"), "GSM-7 text (é is in the GSM alphabet) goes as text")
	require.Equal(t, "invoice:3:F-12/10/sms/sms", first.Get("client-ref"))
	require.Equal(t, "1", first.Get("status-report-req"))

	require.Equal(t, "unicode", reqs[1].Get("type"))
	require.Equal(t, "Durand", reqs[1].Get("from"))
	require.Equal(t, "32470123456", reqs[1].Get("to"))

	require.Empty(t, reqs[2].Get("type"))
	require.Equal(t, sms.ClientRef(long), reqs[2].Get("client-ref"))
}

func TestClientRef(t *testing.T) {
	short := "invoice:1:A/0/sms/sms"
	require.Equal(t, short, sms.ClientRef(short))
	exact := strings.Repeat("x", 100)
	require.Equal(t, exact, sms.ClientRef(exact))
	for _, k := range []string{strings.Repeat("x", 101), strings.Repeat("€", 60), strings.Repeat("ab", 300)} {
		ref := sms.ClientRef(k)
		require.LessOrEqual(t, len(ref), 100)
		require.True(t, utf8.ValidString(ref), "%q", ref)
		require.Equal(t, ref, sms.ClientRef(k), "deterministic")
	}
	// Two long keys with the same start get different refs.
	a, b := strings.Repeat("k", 120)+"1", strings.Repeat("k", 120)+"2"
	require.NotEqual(t, sms.ClientRef(a), sms.ClientRef(b))
}

func TestSendErrorClassification(t *testing.T) {
	type want int
	const (
		ok want = iota
		retryable
		permanent
		maybe // Vonage had the request: neither resend nor call it failed
	)
	cases := []struct {
		name   string
		answer func(http.ResponseWriter, url.Values)
		want   want
	}{
		{"status 0", answerStatus(0, ""), ok},
		{"status 1 throttled", answerStatus(1, "Throughput Rate Exceeded"), retryable},
		{"status 5 internal error", answerStatus(5, "Internal Error"), retryable},
		{"status 10 too many binds", answerStatus(10, "Too many existing binds"), retryable},
		{"status 2 missing params", answerStatus(2, "Missing to"), permanent},
		{"status 3 invalid params", answerStatus(3, "Invalid to"), permanent},
		{"status 4 invalid credentials", answerStatus(4, "Bad Credentials"), permanent},
		{"status 6 invalid message", answerStatus(6, "Unroutable message - rejected"), permanent},
		{"status 7 number barred", answerStatus(7, "Number barred"), permanent},
		{"status 8 account barred", answerStatus(8, "Partner account barred"), permanent},
		{"status 9 quota exceeded", answerStatus(9, "Partner quota exceeded"), permanent},
		{"status 12 too long", answerStatus(12, "Message too long"), permanent},
		{"status 15 illegal sender/number", answerStatus(15, "Illegal Sender Address - rejected"), permanent},
		{"status 29 non-whitelisted", answerStatus(29, "Non White-listed Destination"), permanent},
		{"status 33 deactivated", answerStatus(33, "Number de-activated"), permanent},
		{"HTTP 500", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "boom", 500) }, retryable},
		{"HTTP 502", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "bad gateway", http.StatusBadGateway) }, retryable},
		{"HTTP 503", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "down", http.StatusServiceUnavailable) }, retryable},
		{"HTTP 429", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "slow down", http.StatusTooManyRequests) }, retryable},
		{"HTTP 401", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "who?", http.StatusUnauthorized) }, permanent},
		{"HTTP 400", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "bad", 400) }, permanent},
		{"unreadable JSON", func(w http.ResponseWriter, _ url.Values) { _, _ = w.Write([]byte("<html>")) }, maybe},
		{"no messages", func(w http.ResponseWriter, _ url.Values) {
			_, _ = w.Write([]byte(`{"message-count":"0","messages":[]}`))
		}, retryable},
		{"accepted without id", func(w http.ResponseWriter, _ url.Values) {
			_, _ = w.Write([]byte(`{"message-count":"1","messages":[{"status":"0"}]}`))
		}, maybe},
		{"second part refused", func(w http.ResponseWriter, _ url.Values) {
			_, _ = w.Write([]byte(`{"message-count":"2","messages":[{"status":"0","message-id":"a"},{"status":"6","error-text":"Unroutable"}]}`))
		}, maybe},
		{"second part throttled", func(w http.ResponseWriter, _ url.Values) {
			_, _ = w.Write([]byte(`{"message-count":"2","messages":[{"status":"0","message-id":"a"},{"status":"1","error-text":"Throttled"}]}`))
		}, maybe},
		{"both parts throttled", func(w http.ResponseWriter, _ url.Values) {
			_, _ = w.Write([]byte(`{"message-count":"2","messages":[{"status":"1","error-text":"Throttled"},{"status":"1","error-text":"Throttled"}]}`))
		}, retryable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStandIn(t)
			s.answer = tc.answer
			_, err := s.client(nil).SendSMS(context.Background(), channels.SMS{Key: "k", To: "+33612345678", Text: "hi"})
			switch tc.want {
			case ok:
				require.NoError(t, err)
			case retryable:
				require.Error(t, err)
				require.False(t, channels.IsPermanent(err), "must be retryable: %v", err)
				require.False(t, channels.IsMaybeDelivered(err), "must be retryable: %v", err)
			case permanent:
				require.Error(t, err)
				require.True(t, channels.IsPermanent(err), "must be permanent: %v", err)
				require.False(t, channels.IsMaybeDelivered(err), "must be permanent: %v", err)
			case maybe:
				require.Error(t, err)
				require.True(t, channels.IsMaybeDelivered(err), "must be maybe-delivered: %v", err)
				require.False(t, channels.IsPermanent(err), "%v", err)
			}
			require.Len(t, s.requests(), 1)
		})
	}
	t.Run("error text is kept", func(t *testing.T) {
		s := newStandIn(t)
		s.answer = answerStatus(15, "Illegal Sender Address - rejected")
		_, err := s.client(nil).SendSMS(context.Background(), channels.SMS{Key: "k", To: "+33612345678", Text: "hi"})
		require.ErrorContains(t, err, "status 15: Illegal Sender Address - rejected")
	})
}

func TestSendTimeoutAndNetworkErrors(t *testing.T) {
	t.Run("no answer to a request sent whole is maybe-delivered", func(t *testing.T) {
		s := newStandIn(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		s.answer = func(w http.ResponseWriter, _ url.Values) { <-release }
		_, err := s.client(func(c *sms.Config) { c.Timeout = 100 * time.Millisecond }).
			SendSMS(context.Background(), channels.SMS{Key: "k", To: "+33612345678", Text: "hi"})
		require.Error(t, err)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
		require.False(t, channels.IsPermanent(err))
		require.True(t, channels.IsMaybeDelivered(err), "Vonage may have sent it: %v", err)
		require.Len(t, s.requests(), 1)
	})
	t.Run("connection refused is retryable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		c := sms.New(sms.Config{BaseURL: "http://" + addr, APIKey: "k", APISecret: "s", From: "Acme"})
		_, err = c.SendSMS(context.Background(), channels.SMS{Key: "k", To: "+33612345678", Text: "hi"})
		require.Error(t, err)
		require.False(t, channels.IsPermanent(err))
		require.False(t, channels.IsMaybeDelivered(err), "nothing went out: retry: %v", err)
	})
	t.Run("bad input is permanent and sends nothing", func(t *testing.T) {
		s := newStandIn(t)
		c := s.client(nil)
		for _, m := range []channels.SMS{
			{Key: "k", To: "0612345678", Text: "national format"},
			{Key: "k", To: "+33 6 12", Text: "too short"},
			{Key: "k", To: "+3361234567x", Text: "letters"},
			{Key: "k", To: "+33612345678", Text: ""},
		} {
			_, err := c.SendSMS(context.Background(), m)
			require.Error(t, err, "%+v", m)
			require.True(t, channels.IsPermanent(err), "%v", err)
		}
		noFrom := s.client(func(c *sms.Config) { c.From = "" })
		_, err := noFrom.SendSMS(context.Background(), channels.SMS{Key: "k", To: "+33612345678", Text: "hi"})
		require.True(t, channels.IsPermanent(err), "%v", err)
		require.Empty(t, s.requests())
	})
}

// TestRateLimitOneProcess pushes three times the rate through one client
// from many goroutines at once; the stand-in must never see more than the
// rate in any one-second window. (An upper bound only: no timing lower
// bound is asserted.)
func TestRateLimitOneProcess(t *testing.T) {
	const rate, total = 5, 15
	s := newStandIn(t)
	c := s.client(func(c *sms.Config) { c.RatePerSecond = rate })
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for i := 0; i < total; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := c.SendSMS(context.Background(), channels.SMS{Key: fmt.Sprintf("k-%d", i), To: "+33612345678", Text: "hi"})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, s.requests(), total)
	s.mu.Lock()
	arrivals := append([]time.Time(nil), s.arrivals...)
	s.mu.Unlock()
	got := testkit.MaxInWindow(arrivals, time.Second)
	t.Logf("max requests in a one-second window: %d (rate %d)", got, rate)
	require.LessOrEqual(t, got, rate)
	require.Equal(t, rate, testkit.MaxInWindow(arrivals[:rate], time.Hour), "sanity: the window counter counts")
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	s := newStandIn(t)
	c := s.client(func(c *sms.Config) { c.RatePerSecond = 1 })
	_, err := c.SendSMS(context.Background(), channels.SMS{Key: "a", To: "+33612345678", Text: "hi"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.SendSMS(ctx, channels.SMS{Key: "b", To: "+33612345678", Text: "hi"})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, channels.IsPermanent(err))
	require.Len(t, s.requests(), 1)
}

func TestSegments(t *testing.T) {
	for _, tc := range []struct {
		text    string
		parts   int
		unicode bool
	}{
		{"", 0, false},
		{strings.Repeat("a", 160), 1, false},
		{strings.Repeat("a", 161), 2, false},
		{strings.Repeat("a", 306), 2, false},
		{strings.Repeat("a", 307), 3, false},
		{strings.Repeat("€", 80), 1, false}, // 160 septets
		{strings.Repeat("€", 81), 2, false},
		{strings.Repeat("œ", 70), 1, true},
		{strings.Repeat("œ", 71), 2, true},
		{strings.Repeat("😀", 35), 1, true}, // 70 UTF-16 units
		{strings.Repeat("😀", 36), 2, true},
	} {
		parts, unicode := gsm.Segments(tc.text)
		require.Equal(t, tc.parts, parts, "%d runes of %q", utf8.RuneCountInString(tc.text), firstRune(tc.text))
		require.Equal(t, tc.unicode, unicode)
	}
}

func firstRune(s string) string {
	if s == "" {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r)
}

// TestHungRequestDoesNotStopOthers: one request that Vonage never answers
// holds one of the rate's slots until its timeout cuts it off, not all of
// them: the other SMS go out (and are answered) while it still hangs. The
// hung request and the others together never exceed the rate at the
// stand-in.
func TestHungRequestDoesNotStopOthers(t *testing.T) {
	const rate, others = 2, 5
	s := newStandIn(t)
	hung := make(chan struct{})   // closed when the hung request arrived
	cutOff := make(chan struct{}) // closed when its client gave up
	s.before = func(r *http.Request, form url.Values) {
		if form.Get("client-ref") == "hang" {
			close(hung)
			<-r.Context().Done() // never answered: the client cuts it off
			close(cutOff)
		}
	}
	c := s.client(func(c *sms.Config) { c.RatePerSecond = rate; c.Timeout = 8 * time.Second })
	hangErr := make(chan error, 1)
	go func() {
		_, err := c.SendSMS(context.Background(), channels.SMS{Key: "hang", To: "+33612345678", Text: "hi"})
		hangErr <- err
	}()
	<-hung
	var wg sync.WaitGroup
	errs := make(chan error, others)
	for i := 0; i < others; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := c.SendSMS(context.Background(), channels.SMS{Key: fmt.Sprintf("k-%d", i), To: "+33612345678", Text: "hi"})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	select {
	case <-cutOff:
		t.Fatal("the other SMS waited for the hung request's timeout")
	default:
	}
	err := <-hangErr
	require.True(t, channels.IsMaybeDelivered(err), "a request written whole and never answered may have reached Vonage: %v", err)
	s.mu.Lock()
	arrivals := append([]time.Time(nil), s.arrivals...)
	s.mu.Unlock()
	require.Len(t, arrivals, others+1)
	got := testkit.MaxInWindow(arrivals, time.Second)
	t.Logf("max requests in a one-second window with one hung request: %d (rate %d)", got, rate)
	require.LessOrEqual(t, got, rate)
}
