package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

// Statuses every authenticated /api/v1 route can answer: bad input (an
// unknown or malformed query parameter, a NUL byte, invalid UTF-8, a
// malformed ID) and a missing or wrong key.
var (
	anyRoute = []int{400, 401}
	byID     = []int{400, 401, 404}
	withBody = []int{400, 401, 404, 413}
)

// handlerStatuses is what each handler can answer, besides 500 (an internal
// error, never documented): the OpenAPI document must list exactly these.
// 503 (with Retry-After) is the answer of every route that must reach
// Temporal to do its work; routes that only read the journey's state answer
// with journey_error instead, and payments and credits are stored and report
// a journey they could not tell in journey_error (repeating them would pay
// twice).
var handlerStatuses = map[string][]int{
	"GET /api/v1/administrations":                        with(anyRoute, 200),
	"GET /api/v1/administrations/{id}":                   with(byID, 200),
	"PATCH /api/v1/administrations/{id}/settings":        with(withBody, 200, 422, 503),
	"GET /api/v1/administrations/{id}/customers":         with(byID, 200),
	"GET /api/v1/customers/{id}":                         with(byID, 200),
	"PATCH /api/v1/customers/{id}":                       with(withBody, 200, 422),
	"PATCH /api/v1/customers/{id}/send-settings":         with(withBody, 200),
	"POST /api/v1/customers/{id}/provided-email":         with(withBody, 200, 503),
	"POST /api/v1/customers/{id}/provided-email/accept":  with(byID, 200, 409),
	"POST /api/v1/customers/{id}/provided-email/dismiss": with(byID, 200, 409),
	"POST /api/v1/customers/{id}/pause":                  with(withBody, 200, 422, 503),
	"POST /api/v1/customers/{id}/resume":                 with(withBody, 200, 409, 503),
	"PUT /api/v1/customers/{id}/journey":                 with(withBody, 200, 422, 503),
	"POST /api/v1/customers/{id}/portal-link":            with(byID, 200),
	"DELETE /api/v1/customers/{id}/portal-link":          with(byID, 204),
	"GET /api/v1/administrations/{id}/invoices":          with(byID, 200),
	"POST /api/v1/administrations/{id}/invoices":         with(withBody, 201, 409, 422, 503),
	"GET /api/v1/invoices/{id}":                          with(byID, 200),
	"POST /api/v1/invoices/{id}/pause":                   with(withBody, 200, 409, 422, 503),
	"POST /api/v1/invoices/{id}/resume":                  with(withBody, 200, 409, 503),
	"GET /api/v1/invoices/{id}/payments":                 with(byID, 200),
	"POST /api/v1/invoices/{id}/payments":                with(withBody, 201, 409, 422),
	"POST /api/v1/invoices/{id}/credit":                  with(withBody, 200, 409),
	"POST /api/v1/invoices/{id}/dispute":                 with(withBody, 200, 409, 503),
	"POST /api/v1/invoices/{id}/dispute-resolved":        with(withBody, 200, 409, 503),
	"POST /api/v1/invoices/{id}/actions":                 with(withBody, 200, 202, 409, 422, 503),
	"GET /api/v1/invoices/{id}/timeline":                 with(byID, 200),
	"POST /api/v1/administrations/{id}/imports":          with(withBody, 201, 415, 422, 503),
	"GET /api/v1/administrations/{id}/imports":           with(byID, 200),
	"GET /api/v1/imports/{id}":                           with(byID, 200),
	"GET /api/v1/administrations/{id}/journeys":          with(byID, 200),
	"POST /api/v1/administrations/{id}/journeys":         with(withBody, 201, 422),
	"PUT /api/v1/administrations/{id}/default-journey":   with(withBody, 202, 422, 503),
	"GET /api/v1/journeys/{id}":                          with(byID, 200),
	"PUT /api/v1/journeys/{id}":                          with(withBody, 202, 422, 503),
	"GET /api/v1/operations/{id}":                        with(byID, 200),
	"GET /api/v1/administrations/{id}/import-mapping":    with(byID, 200),
	"PUT /api/v1/administrations/{id}/import-mapping":    with(withBody, 200, 422),
	"DELETE /api/v1/journeys/{id}":                       with(byID, 204, 409),
	"GET /api/v1/administrations/{id}/templates":         with(byID, 200),
	"POST /api/v1/administrations/{id}/templates":        with(withBody, 201, 409, 422),
	"GET /api/v1/templates/{id}":                         with(byID, 200),
	"PUT /api/v1/templates/{id}":                         with(withBody, 200, 409, 422),
	"DELETE /api/v1/templates/{id}":                      with(byID, 204, 409),
	"GET /api/v1/templates/{id}/versions":                with(byID, 200),
	"GET /api/v1/template-tags":                          with(anyRoute, 200),
	"POST /api/v1/templates/preview":                     with(withBody, 200, 422),
	"GET /api/v1/messages/{id}/preview":                  with(byID, 200),
	"POST /api/v1/administrations":                       with(anyRoute, 201, 413, 422),
	"PATCH /api/v1/administrations/{id}":                 with(withBody, 200, 422, 503),
	"POST /api/v1/administrations/{id}/archive":          with(byID, 200),
	"POST /api/v1/administrations/{id}/restore":          with(byID, 200),
	"POST /api/v1/administrations/{id}/customers":        with(withBody, 201, 409, 422),
	"GET /api/v1/api-keys":                               with(anyRoute, 200),
	"POST /api/v1/api-keys":                              with(anyRoute, 201, 413),
	"POST /api/v1/api-keys/{id}/revoke":                  with(byID, 200),
	"GET /api/v1/administrations/{id}/cases":             with(byID, 200),
	"GET /api/v1/cases/{id}":                             with(byID, 200),
	"GET /api/v1/cases/{id}/timeline":                    with(byID, 200),
	"POST /api/v1/cases/{id}/pause":                      with(withBody, 200, 409, 422, 503),
	"POST /api/v1/cases/{id}/resume":                     with(withBody, 200, 409, 503),
	"POST /api/v1/cases/{id}/waive":                      with(withBody, 200, 409, 503),
	"POST /api/v1/cases/{id}/hand-over":                  with(withBody, 202, 409, 503),
	"POST /api/v1/cases/{id}/dispute":                    with(withBody, 200, 409, 503),
	"POST /api/v1/cases/{id}/dispute-resolved":           with(withBody, 200, 409, 503),
	"GET /api/v1/cases/{id}/file":                        with(byID, 200, 409),
	"GET /api/v1/cases/{id}/file.csv":                    with(byID, 200, 409),
	"GET /api/v1/cases/{id}/file.pdf":                    with(byID, 200, 409),
	"POST /api/v1/customers/{id}/statement":              with(withBody, 202, 422, 503),

	// Contact persons of a customer.
	"GET /api/v1/customers/{id}/contacts":                 with(byID, 200),
	"POST /api/v1/customers/{id}/contacts":                with(withBody, 201, 409, 422),
	"PATCH /api/v1/customers/{id}/contacts/{contact_id}":  with(withBody, 200, 409),
	"DELETE /api/v1/customers/{id}/contacts/{contact_id}": with(byID, 204),

	"GET /api/v1/organization/settings":             with(anyRoute, 200),
	"PATCH /api/v1/organization/settings":           with(anyRoute, 200, 413),
	"GET /api/v1/inbox/conversations":               with(anyRoute, 200),
	"GET /api/v1/inbox/conversations/{id}":          with(byID, 200),
	"POST /api/v1/inbox/conversations/{id}/read":    with(byID, 200),
	"POST /api/v1/inbox/conversations/{id}/unread":  with(byID, 200),
	"POST /api/v1/inbox/conversations/{id}/replies": with(withBody, 202, 503),
	"GET /api/v1/inbox/unread-summary":              with(anyRoute, 200),
	"GET /api/v1/inbox/attachments/{id}":            with(byID, 200, 409),
}

func with(base []int, more ...int) []int {
	out := append(slices.Clone(base), more...)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestDocumentedStatuses: the OpenAPI document lists, for every /api/v1
// route, exactly the statuses its handler can answer.
func TestDocumentedStatuses(t *testing.T) {
	raw, err := api.OpenAPI()
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") || path == "/api/v1/openapi.json" {
			continue
		}
		for method, op := range item.Operations() {
			key := method + " " + path
			want, ok := handlerStatuses[key]
			require.True(t, ok, "%s is documented but not in handlerStatuses", key)
			if method != http.MethodGet {
				want = with(want, 403) // a read-only key
			}
			seen[key] = true
			var got []int
			for code := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				require.NoError(t, err, "%s: response %q", key, code)
				got = append(got, n)
			}
			sort.Ints(got)
			require.Equal(t, want, got, "%s: documented statuses", key)
		}
	}
	for key := range handlerStatuses {
		require.True(t, seen[key], "%s is in handlerStatuses but not documented", key)
	}
}

// TestBadInputAnswers sends every /api/v1 route the bad inputs of a
// careless or hostile client, with Temporal down: each answer is one of the
// route's documented statuses, never a 500, and Temporal being down is a 503
// with Retry-After wherever the route needs it.
func TestBadInputAnswers(t *testing.T) {
	gdb := testkit.SQLite(t)
	ctx := context.Background()
	org := models.Organization{Name: "O", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	adm := models.Administration{OrganizationID: org.ID, Name: "O BV", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR",
		Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(&adm).Error)
	now := time.Now().UTC()
	cust := models.Customer{AdministrationID: adm.ID, ExternalRef: "C-1", Name: "Klant", Language: "nl", Email: "klant@example.com",
		Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok", PausedAt: &now, PauseReason: "held"}
	require.NoError(t, gdb.Create(&cust).Error)
	// The customer routes steer the first customer (and its invoice); the
	// invoice routes another customer's invoice, so that the attempts, which
	// run at once, never change what another one finds.
	held := models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: "F-0", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000, Status: models.InvoiceOpen, Stage: "scheduled",
		WorkflowID: "invoice:1:F-0", PausedAt: &now, PauseReason: "held"}
	require.NoError(t, gdb.Create(&held).Error)
	other := models.Customer{AdministrationID: adm.ID, ExternalRef: "C-2", Name: "Andere", Language: "nl", Email: "andere@example.com",
		Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-2"}
	require.NoError(t, gdb.Create(&other).Error)
	inv := models.Invoice{AdministrationID: adm.ID, CustomerID: other.ID, Number: "F-1", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000, Status: models.InvoiceOpen, Stage: "scheduled",
		WorkflowID: "invoice:1:F-1", PausedAt: &now, PauseReason: "held", Disputed: true}
	require.NoError(t, gdb.Create(&inv).Error)
	cs := models.CollectionCase{AdministrationID: adm.ID, CustomerID: cust.ID, Period: "2026-11", Stage: models.CaseNoticeOfDefault,
		Currency: "EUR", WorkflowID: "case:1:1", Paused: true, PausedAt: &now, PauseReason: "held"}
	require.NoError(t, gdb.Create(&cs).Error)
	j := models.Journey{AdministrationID: adm.ID, Name: "J", MinGapDays: 3, Steps: []models.JourneyStep{{Position: 0, OffsetDays: 7, Kind: "reminder", Template: "default"}}}
	require.NoError(t, gdb.Create(&j).Error)
	tpl := models.Template{AdministrationID: adm.ID, Name: "default", Kind: "sms", Channel: "sms", Language: "nl", Body: "Betaal #invoice_number", Version: 1}
	require.NoError(t, gdb.Create(&tpl).Error)
	conv := models.Conversation{OrganizationID: org.ID, AdministrationID: adm.ID, CustomerID: cust.ID, Subject: "Vraag", Unread: true, LastMessageAt: now}
	require.NoError(t, gdb.Create(&conv).Error)
	asked := models.InboxMessage{ConversationID: conv.ID, Direction: models.Inbound, Channel: "email", Author: "klant@example.com", Body: "?"}
	require.NoError(t, gdb.Create(&asked).Error)
	att := models.InboxAttachment{InboxMessageID: asked.ID, FileName: "a.pdf", ContentType: "application/pdf", Size: 3, Data: []byte("pdf")}
	require.NoError(t, gdb.Create(&att).Error)
	key, _, err := auth.Create(ctx, gdb, org.ID, "k")
	require.NoError(t, err)

	// Nothing listens on port 1: every Temporal call fails as when the
	// cluster is down.
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	cfg := config.Config{MaxBodyBytes: 4096, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
	srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Temporal: tc}),
		Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}))
	t.Cleanup(srv.Close)

	idFor := func(path string) int64 {
		switch {
		case strings.HasPrefix(path, "/api/v1/administrations/"):
			return adm.ID
		case strings.HasPrefix(path, "/api/v1/customers/"):
			return cust.ID
		case strings.HasPrefix(path, "/api/v1/invoices/"):
			return inv.ID
		case strings.HasPrefix(path, "/api/v1/journeys/"):
			return j.ID
		case strings.HasPrefix(path, "/api/v1/templates/"):
			return tpl.ID
		case strings.HasPrefix(path, "/api/v1/cases/"):
			return cs.ID
		case strings.HasPrefix(path, "/api/v1/inbox/conversations/"):
			return conv.ID
		case strings.HasPrefix(path, "/api/v1/inbox/attachments/"):
			return att.ID
		}
		return 1
	}
	// A well-formed body for each route that needs Temporal: with Temporal
	// down the answer is 503.
	valid := map[string]string{
		"POST /api/v1/customers/{id}/provided-email":    `{"email":"new@example.com"}`,
		"POST /api/v1/customers/{id}/pause":             `{"reason":"holiday"}`,
		"POST /api/v1/customers/{id}/resume":            `{"reason":"back"}`,
		"PUT /api/v1/customers/{id}/journey":            fmt.Sprintf(`{"journey_id":%d}`, j.ID),
		"POST /api/v1/administrations/{id}/invoices":    fmt.Sprintf(`{"customer_id":%d,"number":"NEW-1","issue_date":"2026-11-01","due_date":"2026-12-01","currency":"EUR","amount_minor":100}`, cust.ID),
		"POST /api/v1/invoices/{id}/pause":              `{"reason":"promise to pay"}`,
		"POST /api/v1/invoices/{id}/resume":             `{"reason":"paid late"}`,
		"POST /api/v1/invoices/{id}/dispute-resolved":   `{"reason":"credited"}`,
		"POST /api/v1/invoices/{id}/actions":            `{"kind":"reminder","body":"Please call us"}`,
		"POST /api/v1/cases/{id}/pause":                 `{"reason":"payment plan"}`,
		"POST /api/v1/cases/{id}/resume":                `{"reason":"plan broken"}`,
		"POST /api/v1/cases/{id}/waive":                 `{"amount_minor":1500,"reason":"goodwill"}`,
		"POST /api/v1/cases/{id}/hand-over":             `{"reason":"no answer"}`,
		"POST /api/v1/cases/{id}/dispute":               `{"reason":"goods not received"}`,
		"POST /api/v1/customers/{id}/statement":         `{"channel":"email"}`,
		"PATCH /api/v1/administrations/{id}/settings":   `{"statement_schedule":"monthly","statement_day":1}`,
		"POST /api/v1/inbox/conversations/{id}/replies": `{"body":"Dank u, wij wachten op uw betaling."}`,
	}
	// Routes whose body is not a JSON document (or that take none).
	noJSONBody := map[string]bool{
		"POST /api/v1/customers/{id}/provided-email/accept":  true,
		"POST /api/v1/customers/{id}/provided-email/dismiss": true,
		"POST /api/v1/administrations/{id}/imports":          true,
		"POST /api/v1/administrations/{id}/archive":          true,
		"POST /api/v1/administrations/{id}/restore":          true,
		"POST /api/v1/api-keys/{id}/revoke":                  true,
		"POST /api/v1/inbox/conversations/{id}/read":         true,
		"POST /api/v1/inbox/conversations/{id}/unread":       true,
		"POST /api/v1/customers/{id}/portal-link":            true,
		"DELETE /api/v1/customers/{id}/portal-link":          true,
	}
	type attempt struct{ route, name, method, path, query, body string }
	var attempts []attempt
	for key := range handlerStatuses {
		method, route, _ := strings.Cut(key, " ")
		path := strings.ReplaceAll(route, "{id}", strconv.FormatInt(idFor(route), 10))
		attempts = append(attempts,
			attempt{key, "unknown parameter", method, path, "customer=10", ""},
			attempt{key, "NUL in a parameter", method, path, "q=%00", ""},
			attempt{key, "bad UTF-8 in a parameter", method, path, "q=%ff%fe", ""},
		)
		if strings.Contains(route, "{id}") {
			attempts = append(attempts, attempt{key, "NUL in the ID", method, strings.ReplaceAll(route, "{id}", "%00"), "", ""})
		}
		if !noJSONBody[key] && method != http.MethodGet && method != http.MethodDelete {
			attempts = append(attempts,
				attempt{key, "bad UTF-8 in the body", method, path, "", "{\"reason\":\"\xff\xfe\"}"},
				attempt{key, "NUL in the body", method, path, "", `{"reason":"a\u0000b"}`})
		}
		if body, ok := valid[key]; ok {
			attempts = append(attempts, attempt{key, "Temporal down", method, path, "", body})
		}
	}
	invoicesBefore := count(t, gdb, &models.Invoice{})
	inboxBefore, outboxBefore := count(t, gdb, &models.InboxMessage{}), count(t, gdb, &models.Message{})
	var wg sync.WaitGroup
	for _, a := range attempts {
		wg.Go(func() {
			t.Run(a.route+" "+a.name, func(t *testing.T) {
				u := srv.URL + a.path
				if a.query != "" {
					u += "?" + a.query
				}
				req, err := http.NewRequest(a.method, u, strings.NewReader(a.body))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+key)
				if a.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				require.Contains(t, handlerStatuses[a.route], res.StatusCode, "an undocumented status")
				switch a.name {
				case "Temporal down":
					require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
					require.NotEmpty(t, res.Header.Get("Retry-After"))
				default:
					require.Equal(t, http.StatusBadRequest, res.StatusCode)
				}
			})
		})
	}
	wg.Wait()
	require.Equal(t, invoicesBefore, count(t, gdb, &models.Invoice{}), "an invoice refused with 503 leaves nothing behind")
	require.Equal(t, inboxBefore, count(t, gdb, &models.InboxMessage{}), "a reply refused with 503 leaves nothing behind")
	require.Equal(t, outboxBefore, count(t, gdb, &models.Message{}), "a reply refused with 503 leaves no email behind")
}

func count(t *testing.T, gdb *gorm.DB, model any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, gdb.Model(model).Count(&n).Error)
	return n
}
