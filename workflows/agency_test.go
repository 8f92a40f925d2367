package workflows_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/models"
	. "github.com/relance/relance/workflows"
)

// agencyStandIn is a collection agency's webhook on loopback: it checks
// the signature with its own HMAC code, keeps one delivery per
// idempotency key (X-Relance-Key), and answers what answer says for the
// n-th request.
type agencyStandIn struct {
	secret string
	answer func(n int) int
	mu     sync.Mutex
	// requests are every request's key, body and whether its signature was right.
	requests []agencyRequest
	// delivered is the body kept per key: a repeated key is a repeat.
	delivered map[string][]byte
}

type agencyRequest struct {
	key, signature string
	body           []byte
	signed         bool
}

func (a *agencyStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(a.secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	sig := r.Header.Get(activities.AgencySignatureHeader)
	a.mu.Lock()
	defer a.mu.Unlock()
	req := agencyRequest{key: r.Header.Get("X-Relance-Key"), signature: sig, body: body, signed: hmac.Equal([]byte(sig), []byte(want))}
	a.requests = append(a.requests, req)
	if !req.signed || r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if _, seen := a.delivered[req.key]; !seen {
		a.delivered[req.key] = body
	}
	w.WriteHeader(a.answer(len(a.requests)))
}

func newAgency(t *testing.T, answer func(n int) int) (*agencyStandIn, string) {
	a := &agencyStandIn{secret: "agency-secret", answer: answer, delivered: map[string][]byte{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL + "/cases"
}

// TestCaseAgencyWebhookRetried: the agency takes the case but its first
// answer is a 503; the hand-over activity is retried by its retry policy
// and sends the case again with the same idempotency key (the claim as of
// the retry) and a valid signature, so the agency keeps ONE delivery; the
// timeline says it went via the webhook.
func TestCaseAgencyWebhookRetried(t *testing.T) {
	agency, url := newAgency(t, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	f := newCaseFixture(t, func(a *models.Administration, _ *models.Customer) {
		a.AgencyWebhookURL, a.AgencyWebhookSecret = url, agency.secret
	})
	inv := f.invoice("INV-1")
	f.env.RegisterDelayedCallback(func() { f.pay(inv) }, 40*day)
	f.run(inv, 0)

	agency.mu.Lock()
	defer agency.mu.Unlock()
	require.Len(t, agency.requests, 2, "the 503 was retried once")
	for _, r := range agency.requests {
		require.True(t, r.signed, "signature %q", r.signature)
		require.Equal(t, agency.requests[0].key, r.key, "a retry carries the same idempotency key")
	}
	require.True(t, strings.HasSuffix(agency.requests[0].key, "/agency"), agency.requests[0].key)
	require.Len(t, agency.delivered, 1, "one delivery per idempotency key")
	var file activities.CaseFile
	require.NoError(t, json.Unmarshal(agency.requests[0].body, &file))
	require.Equal(t, f.caseID, file.CaseID)
	require.Equal(t, "C-1", file.Customer.Reference)
	require.Equal(t, "business", file.Customer.Type)
	require.Len(t, file.Invoices, 1)
	require.Equal(t, "INV-1", file.Invoices[0].Number)
	require.Equal(t, int64(100000), file.PrincipalMinor)
	require.Equal(t, int64(4000), file.CostsMinor, "the fixed 40 EUR of a business")
	require.Equal(t, file.PrincipalMinor+file.InterestMinor+file.CostsMinor, file.TotalMinor)
	ev := f.events(CaseEventHandOver)
	require.Len(t, ev, 1)
	require.Equal(t, "via webhook", ev[0].Detail)
	require.NotNil(t, f.caseRow().HandedOverAt)
}

// TestCaseAgencyWebhookRefused: a 4xx answer is permanent: no retry, and
// the timeline says the hand-over failed.
func TestCaseAgencyWebhookRefused(t *testing.T) {
	agency, url := newAgency(t, func(int) int { return http.StatusUnprocessableEntity })
	f := newCaseFixture(t, func(a *models.Administration, _ *models.Customer) {
		a.AgencyWebhookURL, a.AgencyWebhookSecret = url, agency.secret
	})
	inv := f.invoice("INV-1")
	f.env.RegisterDelayedCallback(func() { f.pay(inv) }, 40*day)
	f.run(inv, 0)
	agency.mu.Lock()
	defer agency.mu.Unlock()
	require.Len(t, agency.requests, 1, "a 4xx is not retried")
	ev := f.events(CaseEventHandOver)
	require.Len(t, ev, 1)
	require.Contains(t, ev[0].Detail, "failed")
	require.Contains(t, ev[0].Detail, "422")
	require.Nil(t, f.caseRow().HandedOverAt)
}
