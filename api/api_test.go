package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

// apiEnv is a real router on a real database, with a real Temporal dev
// server and a worker running the real workflows.
type apiEnv struct {
	t     *testing.T
	db    *gorm.DB
	tc    client.Client
	srv   *httptest.Server
	keyA  string
	keyB  string
	admA  models.Administration
	admB  models.Administration
	custA models.Customer
}

func newAPIEnv(t *testing.T, gdb *gorm.DB, tc client.Client) *apiEnv {
	t.Helper()
	ctx := context.Background()
	e := &apiEnv{t: t, db: gdb, tc: tc}
	orgA := models.Organization{Name: "A", InboxRead: models.ReadManually}
	orgB := models.Organization{Name: "B", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&orgA).Error)
	require.NoError(t, gdb.Create(&orgB).Error)
	e.admA = models.Administration{OrganizationID: orgA.ID, Name: "A BV", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	e.admB = models.Administration{OrganizationID: orgB.ID, Name: "B BV", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(&e.admA).Error)
	require.NoError(t, gdb.Create(&e.admB).Error)
	e.custA = models.Customer{AdministrationID: e.admA.ID, ExternalRef: fmt.Sprintf("C-%d", time.Now().UnixNano()), Name: "Klant A", Language: "nl",
		Email: "klant@example.com", Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-a"}
	require.NoError(t, gdb.Create(&e.custA).Error)
	var err error
	e.keyA, _, err = auth.Create(ctx, gdb, orgA.ID, "a")
	require.NoError(t, err)
	e.keyB, _, err = auth.Create(ctx, gdb, orgB.ID, "b")
	require.NoError(t, err)

	cfg := config.Config{MaxBodyBytes: 4096, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
	router := api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Temporal: tc, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}})
	e.srv = httptest.NewServer(router)
	t.Cleanup(e.srv.Close)
	return e
}

// startWorker runs the real workflows; the channels are absent, so a step
// that tries to send records a permanent failure and the journey goes on.
func startWorker(t *testing.T, gdb *gorm.DB, tc client.Client) {
	t.Helper()
	acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, tc, acts, worker.Options{}) }()
	t.Cleanup(func() { cancel(); <-done })
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

// problem asserts a problem+json answer and returns it.
func (r response) problem(t *testing.T, status int) api.Problem {
	t.Helper()
	require.Equal(t, status, r.status, string(r.body))
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	var p api.Problem
	require.NoError(t, json.Unmarshal(r.body, &p))
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Title)
	require.NotEmpty(t, p.RequestID)
	return p
}

func (e *apiEnv) do(method, path, key string, body io.Reader, contentType string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	require.NoError(e.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (e *apiEnv) call(method, path, key string, body any) response {
	e.t.Helper()
	var r io.Reader
	if s, ok := body.(string); ok {
		r = strings.NewReader(s)
	} else if body != nil {
		b, err := json.Marshal(body)
		require.NoError(e.t, err)
		r = bytes.NewReader(b)
	}
	ct := ""
	if r != nil {
		ct = "application/json"
	}
	return e.do(method, path, key, r, ct)
}

func (e *apiEnv) count(model any) int64 {
	var n int64
	require.NoError(e.t, e.db.Model(model).Count(&n).Error)
	return n
}

func (e *apiEnv) invoiceBody(number string) map[string]any {
	return map[string]any{
		"customer_id": e.custA.ID, "number": number, "issue_date": time.Now().UTC().Format("2006-01-02"),
		"due_date": time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02"), "currency": "EUR", "amount_minor": 12345,
	}
}

func TestAPI(t *testing.T) {
	_, tc := testkit.DevServer(t)
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		startWorker(t, gdb, tc)
		e := newAPIEnv(t, gdb, tc)
		t.Run("health", func(t *testing.T) { testHealth(t, e) })
		t.Run("create invoice starts its journey", func(t *testing.T) { testCreateInvoice(t, e) })
		t.Run("bad input leaves nothing behind", func(t *testing.T) { testBadInput(t, e) })
		t.Run("pause and resume", func(t *testing.T) { testPauseResume(t, e) })
		t.Run("journeys", func(t *testing.T) { testJourneys(t, e) })
		t.Run("settings", func(t *testing.T) { testSettings(t, e) })
	})
}

func testHealth(t *testing.T, e *apiEnv) {
	r := e.call("GET", "/healthz", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	r = e.call("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Contains(t, string(r.body), `"temporal":"ok"`)
	require.Contains(t, string(r.body), `"database":"ok"`)
	require.NotEmpty(t, r.header.Get("X-Request-ID"))
}

func testCreateInvoice(t *testing.T, e *apiEnv) {
	num := fmt.Sprintf("INV-%d", time.Now().UnixNano())
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admA.ID), e.keyA, e.invoiceBody(num))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var v api.InvoiceView
	r.json(t, &v)
	require.Equal(t, num, v.Number)
	require.Equal(t, int64(12345), v.OpenMinor)
	require.Equal(t, workflows.InvoiceWorkflowID(e.admA.ID, num), v.WorkflowID)
	require.Equal(t, fmt.Sprintf("/api/v1/invoices/%d", v.ID), r.header.Get("Location"))

	desc, err := e.tc.DescribeWorkflowExecution(context.Background(), v.WorkflowID, "")
	require.NoError(t, err)
	sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	require.Contains(t, sa, "RelanceCustomer")
	require.Contains(t, sa, "RelanceInvoice")
	require.Contains(t, sa, "RelanceAdministration")

	// GET returns it with the journey's live state.
	require.Eventually(t, func() bool {
		r = e.call("GET", fmt.Sprintf("/api/v1/invoices/%d", v.ID), e.keyA, nil)
		var got api.InvoiceView
		r.json(t, &got)
		return got.Journey != nil && len(got.Journey.Steps) == len(journeys.Default()) && got.Journey.Next != nil
	}, testkit.Patience, 100*time.Millisecond, string(r.body))

	// The same number again is a conflict, and starts nothing.
	before := e.count(&models.Invoice{})
	r = e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admA.ID), e.keyA, e.invoiceBody(num))
	r.problem(t, http.StatusConflict)
	require.Equal(t, before, e.count(&models.Invoice{}))

	// Another organization cannot see it.
	r = e.call("GET", fmt.Sprintf("/api/v1/invoices/%d", v.ID), e.keyB, nil)
	r.problem(t, http.StatusNotFound)
}

func testBadInput(t *testing.T, e *apiEnv) {
	path := fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admA.ID)
	before := e.count(&models.Invoice{})
	cases := []struct {
		name   string
		path   string
		key    string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", path, e.keyA, `{"number": "X-1",`, 400, ""},
		{"not an object", path, e.keyA, `[1,2]`, 400, ""},
		{"empty body", path, e.keyA, ``, 400, ""},
		{"trailing data", path, e.keyA, `{"number":"X"} {"x":1}`, 400, ""},
		{"unknown field", path, e.keyA, `{"numbr":"X"}`, 400, "numbr"},
		{"wrong type", path, e.keyA, `{"customer_id":"one"}`, 400, "customer_id"},
		{"missing number", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount_minor": 1}, 400, "number"},
		{"missing amount", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "number": "X-2", "issue_date": "2026-01-01", "due_date": "2026-02-01"}, 400, "amount_minor"},
		{"bad date", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "number": "X-3", "issue_date": "01/02/2026", "due_date": "2026-02-01", "amount_minor": 1}, 400, "issue_date"},
		{"due before issue", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "number": "X-4", "issue_date": "2026-03-01", "due_date": "2026-02-01", "amount_minor": 1}, 422, "due_date"},
		{"negative amount", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "number": "X-5", "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount_minor": -5}, 422, "amount_minor"},
		{"unknown currency", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "number": "X-6", "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount_minor": 5, "currency": "XYZ"}, 400, "currency"},
		{"open above amount", path, e.keyA, map[string]any{"customer_id": e.custA.ID, "number": "X-7", "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount_minor": 5, "open_minor": 6}, 422, "open_minor"},
		{"customer of another administration", path, e.keyA, map[string]any{"customer_id": 999999, "number": "X-8", "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount_minor": 5}, 422, "customer_id"},
		{"unknown administration", "/api/v1/administrations/999999/invoices", e.keyA, e.invoiceBody("X-9"), 404, ""},
		{"another organization's administration", fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admB.ID), e.keyA, e.invoiceBody("X-10"), 404, ""},
		{"administration id not a number", "/api/v1/administrations/abc/invoices", e.keyA, e.invoiceBody("X-11"), 400, "id"},
		{"wrong API key", path, "rl_000000000000_deadbeef", e.invoiceBody("X-12"), 401, ""},
		{"malformed API key", path, "hello", e.invoiceBody("X-13"), 401, ""},
		{"no API key", path, "", e.invoiceBody("X-14"), 401, ""},
		{"oversized body", path, e.keyA, `{"number":"` + strings.Repeat("x", 10000) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.call("POST", tc.path, tc.key, tc.body).problem(t, tc.status)
			require.Equal(t, tc.field, p.Field, p.Detail)
			require.NotEmpty(t, p.Detail)
		})
	}
	// A chunked oversized body (no Content-Length) is cut off too.
	r := e.do("POST", path, e.keyA, io.MultiReader(strings.NewReader(`{"number":"`), strings.NewReader(strings.Repeat("y", 10000))), "application/json")
	r.problem(t, http.StatusRequestEntityTooLarge)
	require.Equal(t, before, e.count(&models.Invoice{}), "bad input wrote invoices")
	// The process keeps serving.
	require.Equal(t, http.StatusOK, e.call("GET", "/healthz", "", nil).status)
	e.call("GET", "/api/v1/nope", e.keyA, nil).problem(t, http.StatusNotFound)
	e.call("DELETE", "/api/v1/invoices/1/pause", e.keyA, nil).problem(t, http.StatusMethodNotAllowed)
}

func (e *apiEnv) createInvoice(t *testing.T) api.InvoiceView {
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admA.ID), e.keyA, e.invoiceBody(fmt.Sprintf("INV-%d", time.Now().UnixNano())))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var v api.InvoiceView
	r.json(t, &v)
	return v
}

func testPauseResume(t *testing.T, e *apiEnv) {
	v := e.createInvoice(t)
	base := fmt.Sprintf("/api/v1/invoices/%d", v.ID)
	e.call("POST", "/api/v1/invoices/999999/pause", e.keyA, map[string]any{"reason": "x"}).problem(t, 404)
	e.call("POST", base+"/pause", e.keyB, map[string]any{"reason": "x"}).problem(t, 404)
	p := e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "x", "until": "2020-01-01"}).problem(t, 422)
	require.Equal(t, "until", p.Field)
	p = e.call("POST", base+"/pause", e.keyA, map[string]any{"until": "2099-01-01"}).problem(t, 400)
	require.Equal(t, "reason", p.Field)
	e.call("POST", base+"/resume", e.keyA, nil).problem(t, 409)

	r := e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "customer called"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Eventually(t, func() bool {
		var got api.InvoiceView
		e.call("GET", base, e.keyA, nil).json(t, &got)
		return got.Paused && got.Journey != nil && got.Journey.Paused && got.Journey.PauseReason == "customer called"
	}, testkit.Patience, 100*time.Millisecond)
	r = e.call("POST", base+"/resume", e.keyA, map[string]any{"reason": "ok"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Eventually(t, func() bool {
		var got api.InvoiceView
		e.call("GET", base, e.keyA, nil).json(t, &got)
		return !got.Paused && got.Journey != nil && !got.Journey.Paused
	}, testkit.Patience, 100*time.Millisecond)

	// A finished invoice cannot be paused.
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", v.ID).Update("status", models.InvoicePaid).Error)
	e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "x"}).problem(t, 409)
}

func testJourneys(t *testing.T, e *apiEnv) {
	path := fmt.Sprintf("/api/v1/administrations/%d/journeys", e.admA.ID)
	bad := []struct {
		name  string
		body  any
		field string
	}{
		{"no steps", map[string]any{"name": "x", "steps": []any{}}, "steps"},
		{"offsets out of order", map[string]any{"name": "x", "steps": []any{
			map[string]any{"offset_days": 7, "kind": "reminder"}, map[string]any{"offset_days": 3, "kind": "reminder"}}}, "steps[1].offset_days"},
		{"unknown template", map[string]any{"name": "x", "steps": []any{map[string]any{"offset_days": 7, "kind": "reminder", "template": "fancy"}}}, "steps[0].template"},
		{"unknown kind", map[string]any{"name": "x", "steps": []any{map[string]any{"offset_days": 7, "kind": "fax"}}}, "steps[0].kind"},
		{"step after collection", map[string]any{"name": "x", "steps": []any{
			map[string]any{"offset_days": 7, "kind": "collection"}, map[string]any{"offset_days": 9, "kind": "reminder"}}}, "steps[1]"},
	}
	before := e.count(&models.Journey{})
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			p := e.call("POST", path, e.keyA, b.body).problem(t, 422)
			require.Equal(t, b.field, p.Field, p.Detail)
		})
	}
	require.Equal(t, before, e.count(&models.Journey{}))

	r := e.call("POST", path, e.keyA, map[string]any{"name": "Strict", "min_gap_days": 2, "steps": []any{
		map[string]any{"offset_days": 0, "kind": "invoice"}, map[string]any{"offset_days": 5, "kind": "reminder"},
		map[string]any{"offset_days": 10, "kind": "final_reminder"}, map[string]any{"offset_days": 20, "kind": "collection"}}})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var j api.JourneyView
	r.json(t, &j)
	require.Len(t, j.Steps, 4)
	require.Equal(t, "default", j.Steps[0].Template)

	v := e.createInvoice(t)
	r = e.call("PUT", fmt.Sprintf("/api/v1/administrations/%d/default-journey", e.admA.ID), e.keyA, map[string]any{"journey_id": j.ID})
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	var op api.OperationView
	r.json(t, &op)
	require.Equal(t, fmt.Sprintf("/api/v1/operations/%d", op.ID), r.header.Get("Location"))
	require.Equal(t, models.OperationJourneyChange, op.Kind)
	// The operation completes, having reached the running journey; another
	// organization does not see it.
	require.Eventually(t, func() bool {
		e.call("GET", fmt.Sprintf("/api/v1/operations/%d", op.ID), e.keyA, nil).json(t, &op)
		return op.State == models.OperationCompleted
	}, testkit.Patience, 100*time.Millisecond)
	require.GreaterOrEqual(t, op.Total, 1)
	require.Equal(t, op.Total, op.Reached+op.Skipped)
	require.Zero(t, op.Errors)
	e.call("GET", fmt.Sprintf("/api/v1/operations/%d", op.ID), e.keyB, nil).problem(t, 404)
	// The running journey re-plans onto the new default.
	require.Eventually(t, func() bool {
		var got api.InvoiceView
		e.call("GET", fmt.Sprintf("/api/v1/invoices/%d", v.ID), e.keyA, nil).json(t, &got)
		return got.Journey != nil && got.Journey.JourneyName == "Strict" && len(got.Journey.Steps) == 4
	}, testkit.Patience, 100*time.Millisecond)
	e.call("DELETE", fmt.Sprintf("/api/v1/journeys/%d", j.ID), e.keyA, nil).problem(t, 409)
	e.call("GET", fmt.Sprintf("/api/v1/journeys/%d", j.ID), e.keyB, nil).problem(t, 404)

	r = e.call("PUT", fmt.Sprintf("/api/v1/journeys/%d", j.ID), e.keyA, map[string]any{"name": "Strict", "steps": []any{
		map[string]any{"offset_days": 0, "kind": "invoice"}, map[string]any{"offset_days": 30, "kind": "collection"}}})
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	require.Eventually(t, func() bool {
		var got api.InvoiceView
		e.call("GET", fmt.Sprintf("/api/v1/invoices/%d", v.ID), e.keyA, nil).json(t, &got)
		return got.Journey != nil && len(got.Journey.Steps) == 2
	}, testkit.Patience, 100*time.Millisecond)
}

func testSettings(t *testing.T, e *apiEnv) {
	path := fmt.Sprintf("/api/v1/administrations/%d/settings", e.admA.ID)
	r := e.call("PATCH", path, e.keyA, map[string]any{"sms_enabled": true, "postal_enabled": false, "send_window_start": 8})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var adm models.Administration
	require.NoError(t, e.db.First(&adm, e.admA.ID).Error)
	require.True(t, adm.SMSEnabled)
	require.False(t, adm.PostalEnabled)
	require.True(t, adm.FinalReminderByPost, "absent fields stay")
	require.Equal(t, 8, adm.SendWindowStart)
	e.call("PATCH", path, e.keyA, map[string]any{"send_window_start": 18, "send_window_end": 9}).problem(t, 422)
	// Settings follow the rules of an administration's creation and update:
	// a code that is no country is malformed, a country without a holiday
	// calendar here breaks a rule.
	require.Equal(t, "country", e.call("PATCH", path, e.keyA, map[string]any{"country": "XX"}).problem(t, 400).Field)
	require.Equal(t, "country", e.call("PATCH", path, e.keyA, map[string]any{"country": "US"}).problem(t, 422).Field)
	e.call("PATCH", path, e.keyA, map[string]any{"time_zone": "Mars/Base"}).problem(t, 400)
	e.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d/settings", e.admB.ID), e.keyA, map[string]any{"sms_enabled": true}).problem(t, 404)

	cpath := fmt.Sprintf("/api/v1/customers/%d/send-settings", e.custA.ID)
	r = e.call("PATCH", cpath, e.keyA, map[string]any{"send_by_post": false})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var c models.Customer
	require.NoError(t, e.db.First(&c, e.custA.ID).Error)
	require.False(t, c.SendByPost)
	require.True(t, c.SendRemindersByEmail)
	e.call("PATCH", cpath, e.keyB, map[string]any{"send_by_post": true}).problem(t, 404)
}
