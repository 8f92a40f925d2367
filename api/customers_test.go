package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// TestAdminResources covers the customers, invoices list, payments and
// imports API on both databases, against one real dev server: each
// database gets its own namespace, so that its worker only ever runs its
// own journeys.
func TestAdminResources(t *testing.T) {
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     testkit.TemporalCLI(t),
		LogLevel:         "error",
		SearchAttributes: workflows.SearchAttributes(),
		ClientOptions:    &client.Options{Namespace: "default"},
		ExtraArgs:        []string{"--namespace", "res-postgres", "--namespace", "res-sqlite"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	for _, d := range []struct {
		name string
		open func(testing.TB) *gorm.DB
	}{{"postgres", testkit.Postgres}, {"sqlite", testkit.SQLite}} {
		t.Run(d.name, func(t *testing.T) {
			tc, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: "res-" + d.name})
			require.NoError(t, err)
			t.Cleanup(tc.Close)
			gdb := d.open(t)
			startWorker(t, gdb, tc)
			e := newAPIEnv(t, gdb, tc)
			t.Run("customers list and filters", func(t *testing.T) { testCustomerList(t, e) })
			t.Run("customer contact data", func(t *testing.T) { testCustomerPatch(t, e) })
			t.Run("provided email", func(t *testing.T) { testProvidedEmail(t, e) })
			t.Run("customer pause, resume and journey", func(t *testing.T) { testCustomerPauseJourney(t, e) })
			t.Run("payments", func(t *testing.T) { testPayments(t, e) })
			t.Run("concurrent payments", func(t *testing.T) { testConcurrentPayments(t, e) })
			t.Run("credit", func(t *testing.T) { testCredit(t, e) })
			t.Run("dispute", func(t *testing.T) { testDispute(t, e) })
			t.Run("invoice list filters", func(t *testing.T) { testInvoiceList(t, e) })
			t.Run("import accounting export", func(t *testing.T) { testImportExport(t, e) })
			t.Run("import formats", func(t *testing.T) { testImportFormats(t, e) })
			t.Run("import bad files", func(t *testing.T) { testImportBadFiles(t, e) })
			t.Run("import size limit", func(t *testing.T) { testImportTooLarge(t, e) })
			t.Run("import mapping, dry run, CSV report, XLSX", func(t *testing.T) { testImportMappingAndReports(t, e) })
		})
	}
}

// newAdministration adds an administration to organization A, so that a
// test's lists hold only its own rows.
func (e *apiEnv) newAdministration(t *testing.T) models.Administration {
	t.Helper()
	adm := models.Administration{OrganizationID: e.admA.OrganizationID, Name: "A extra", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, e.db.Create(&adm).Error)
	return adm
}

func (e *apiEnv) newCustomer(t *testing.T, adm models.Administration, ref, name, email string) models.Customer {
	t.Helper()
	c := models.Customer{AdministrationID: adm.ID, ExternalRef: ref, Name: name, Language: "nl", Email: email, Country: "NL",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: app.NewPortalToken()}
	require.NoError(t, e.db.Create(&c).Error)
	return c
}

// newInvoice creates an open invoice through the API, which starts its journey.
func (e *apiEnv) newInvoice(t *testing.T, adm models.Administration, cust models.Customer, due time.Time, amount int64) api.InvoiceView {
	t.Helper()
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", adm.ID), e.keyA, map[string]any{
		"customer_id": cust.ID, "number": fmt.Sprintf("INV-%d", time.Now().UnixNano()),
		"issue_date": due.AddDate(0, 0, -30).Format("2006-01-02"), "due_date": due.Format("2006-01-02"), "currency": "EUR", "amount_minor": amount,
	})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var v api.InvoiceView
	r.json(t, &v)
	return v
}

// pageKeys GETs a page of a list endpoint and returns one key per item, sorted.
func pageKeys[T any](t *testing.T, e *apiEnv, path string, key func(T) string) []string {
	t.Helper()
	r := e.call("GET", path, e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var p api.Page[T]
	r.json(t, &p)
	out := []string{}
	for _, v := range p.Data {
		out = append(out, key(v))
	}
	sort.Strings(out)
	return out
}

// customerRefs lists a page of customers by reference, sorted.
func (e *apiEnv) customerRefs(t *testing.T, adm models.Administration, query string) []string {
	t.Helper()
	return pageKeys(t, e, fmt.Sprintf("/api/v1/administrations/%d/customers?%s", adm.ID, query),
		func(c api.CustomerView) string { return c.ExternalRef })
}

func (e *apiEnv) getCustomer(t *testing.T, id int64) api.CustomerView {
	t.Helper()
	r := e.call("GET", fmt.Sprintf("/api/v1/customers/%d", id), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.CustomerView
	r.json(t, &v)
	return v
}

func testCustomerList(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	jansen := e.newCustomer(t, adm, "K-100", "Bakkerij Jansen", "info@jansen.example")
	e.newCustomer(t, adm, "K-200", "Garage de Vries", "post@devries.example")
	verify := e.newCustomer(t, adm, "K-300", "Café 100% Lambert_", "")
	e.newCustomer(t, adm, "K-301", "Café l'Étoile", "")
	require.NoError(t, e.db.Model(&verify).Updates(map[string]any{"provided_email": "lambert@example.be", "provided_email_at": time.Now().UTC()}).Error)
	paused := e.newCustomer(t, adm, "X-400", "Drukkerij Peeters", "")
	past := e.newCustomer(t, adm, "X-500", "Pause ended", "")
	now := time.Now().UTC()
	require.NoError(t, e.db.Model(&paused).Updates(map[string]any{"paused_at": now, "pause_reason": "legal"}).Error)
	require.NoError(t, e.db.Model(&past).Updates(map[string]any{"paused_at": now.Add(-48 * time.Hour), "paused_until": now.Add(-24 * time.Hour), "pause_reason": "over"}).Error)
	// Jansen has an open invoice; de Vries only a paid one.
	require.NoError(t, e.db.Create(&models.Invoice{AdministrationID: adm.ID, CustomerID: jansen.ID, Number: "L-1", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 100, OpenMinor: 100, Status: models.InvoiceOpen, Stage: "scheduled"}).Error)
	var vries models.Customer
	require.NoError(t, e.db.Where("administration_id = ? AND external_ref = ?", adm.ID, "K-200").First(&vries).Error)
	require.NoError(t, e.db.Create(&models.Invoice{AdministrationID: adm.ID, CustomerID: vries.ID, Number: "L-2", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 100, OpenMinor: 0, Status: models.InvoicePaid, Stage: "paid"}).Error)
	// Another administration's customer never shows.
	e.newCustomer(t, e.newAdministration(t), "K-101", "Bakkerij Jansen elders", "")

	all := []string{"K-100", "K-200", "K-300", "K-301", "X-400", "X-500"}
	require.Equal(t, all, e.customerRefs(t, adm, ""))
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"q=JANSEN", []string{"K-100"}},
		{"q=devries.example", []string{"K-200"}},
		{"q=k-3", []string{"K-300", "K-301"}},
		{"q=" + url.QueryEscape("Étoile"), []string{"K-301"}},
		{"q=" + url.QueryEscape("ÉTOILE"), []string{"K-301"}},
		{"q=" + url.QueryEscape("étoile"), []string{"K-301"}},
		{"q=" + url.QueryEscape("CAFÉ"), []string{"K-300", "K-301"}},
		{"q=x-", []string{"X-400", "X-500"}},
		{"q=" + url.QueryEscape("100%"), []string{"K-300"}},
		{"q=" + url.QueryEscape("_"), []string{"K-300"}},
		{"q=nobody", []string{}},
		{"to_verify=email_provided", []string{"K-300"}},
		{"paused=true", []string{"X-400"}},
		{"paused=false", []string{"K-100", "K-200", "K-300", "K-301", "X-500"}},
		{"open_invoices=true", []string{"K-100"}},
		{"open_invoices=false", []string{"K-200", "K-300", "K-301", "X-400", "X-500"}},
		{"q=k&paused=false&open_invoices=false", []string{"K-200", "K-300", "K-301"}},
	} {
		require.Equal(t, c.want, e.customerRefs(t, adm, c.query), c.query)
	}
	v := e.getCustomer(t, jansen.ID)
	require.Equal(t, 1, v.OpenInvoices)
	require.False(t, v.Paused)
	require.True(t, e.getCustomer(t, paused.ID).Paused)
	require.False(t, e.getCustomer(t, past.ID).Paused, "a pause whose date passed no longer holds")
	require.True(t, e.getCustomer(t, verify.ID).ToVerify)

	// Pages of 2 walk the whole list once, in ID order.
	var got []string
	cursor := ""
	for range 10 {
		r := e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/customers?limit=2%s", adm.ID, cursor), e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var p api.Page[api.CustomerView]
		r.json(t, &p)
		require.LessOrEqual(t, len(p.Data), 2)
		for _, c := range p.Data {
			got = append(got, c.ExternalRef)
		}
		if p.Next == 0 {
			break
		}
		cursor = fmt.Sprintf("&cursor=%d", p.Next)
	}
	require.Equal(t, all, got)

	base := fmt.Sprintf("/api/v1/administrations/%d/customers", adm.ID)
	for _, bad := range []struct{ query, field string }{
		{"paused=maybe", "paused"}, {"open_invoices=2", "open_invoices"}, {"to_verify=phone", "to_verify"}, {"limit=0", "limit"}, {"limit=201", "limit"}, {"cursor=-1", "cursor"},
	} {
		p := e.call("GET", base+"?"+bad.query, e.keyA, nil).problem(t, http.StatusBadRequest)
		require.Equal(t, bad.field, p.Field, bad.query)
	}
	e.call("GET", base, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", base, "rl_000000000000_deadbeef", nil).problem(t, http.StatusUnauthorized)
	e.call("GET", fmt.Sprintf("/api/v1/customers/%d", jansen.ID), e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", fmt.Sprintf("/api/v1/customers/%d", jansen.ID), "", nil).problem(t, http.StatusUnauthorized)
	e.call("GET", "/api/v1/customers/999999999", e.keyA, nil).problem(t, http.StatusNotFound)
}

func testCustomerPatch(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	cust := e.newCustomer(t, adm, "P-1", "Bakkerij Jansen", "info@jansen.example")
	path := fmt.Sprintf("/api/v1/customers/%d", cust.ID)
	var before models.Customer
	require.NoError(t, e.db.First(&before, cust.ID).Error)
	for _, c := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"email not an address", map[string]any{"email": "not-an-email"}, 400, "email"},
		{"email with a display name", map[string]any{"email": "Jansen <info@jansen.example>"}, 400, "email"},
		{"two emails", map[string]any{"email": "a@example.com, b@example.com"}, 400, "email"},
		{"unknown country", map[string]any{"country": "XX"}, 400, "country"},
		{"country not alpha-2", map[string]any{"country": "NLD"}, 400, "country"},
		{"unknown language", map[string]any{"language": "es"}, 400, "language"},
		{"empty name", map[string]any{"name": "  "}, 400, "name"},
		{"not a phone number", map[string]any{"phone": "12"}, 422, "phone"},
		{"unknown field", map[string]any{"mobile": "+31612345678"}, 400, "mobile"},
		{"wrong type", map[string]any{"email": 5}, 400, "email"},
		// A valid field beside an invalid one is not written either.
		{"half valid", map[string]any{"name": "Nieuw", "email": "nope"}, 400, "email"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.call("PATCH", path, e.keyA, c.body).problem(t, c.status)
			require.Equal(t, c.field, p.Field, p.Detail)
		})
	}
	var after models.Customer
	require.NoError(t, e.db.First(&after, cust.ID).Error)
	require.Equal(t, before, after, "bad input changed the customer")

	r := e.call("PATCH", path, e.keyA, map[string]any{"email": "boekhouding@jansen.example", "phone": "06 12345678", "city": "Utrecht", "language": "fr"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.CustomerView
	r.json(t, &v)
	require.Equal(t, "+31612345678", v.Mobile)
	require.NoError(t, e.db.First(&after, cust.ID).Error)
	require.Equal(t, "boekhouding@jansen.example", after.Email)
	require.Equal(t, "06 12345678", after.Phone)
	require.Equal(t, "+31612345678", after.Mobile)
	require.Equal(t, "Utrecht", after.City)
	require.Equal(t, "fr", after.Language)
	require.Equal(t, "Bakkerij Jansen", after.Name, "absent fields stay")

	// A landline is kept, but is no mobile: SMS is off for it.
	r = e.call("PATCH", path, e.keyA, map[string]any{"phone": "020 123 4567"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.NoError(t, e.db.First(&after, cust.ID).Error)
	require.Equal(t, "020 123 4567", after.Phone)
	require.Empty(t, after.Mobile)
	// The phone is read again in a new country.
	r = e.call("PATCH", path, e.keyA, map[string]any{"phone": "0474 29 61 94", "country": "be"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.NoError(t, e.db.First(&after, cust.ID).Error)
	require.Equal(t, "BE", after.Country)
	require.Equal(t, "+32474296194", after.Mobile)
	// An empty email clears it.
	r = e.call("PATCH", path, e.keyA, map[string]any{"email": ""})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.NoError(t, e.db.First(&after, cust.ID).Error)
	require.Empty(t, after.Email)

	e.call("PATCH", path, e.keyB, map[string]any{"city": "Elders"}).problem(t, http.StatusNotFound)
	e.call("PATCH", path, "rl_000000000000_deadbeef", map[string]any{"city": "Elders"}).problem(t, http.StatusUnauthorized)
	require.NoError(t, e.db.First(&after, cust.ID).Error)
	require.Equal(t, "Utrecht", after.City)
}

func testProvidedEmail(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	submitted := time.Now().UTC()
	give := func(c models.Customer, email string) {
		require.NoError(t, e.db.Model(&c).Updates(map[string]any{"provided_email": email, "provided_email_at": submitted}).Error)
	}
	a := e.newCustomer(t, adm, "E-1", "Accept BV", "old@accept.example")
	give(a, "new@accept.example")
	d := e.newCustomer(t, adm, "E-2", "Dismiss BV", "kept@dismiss.example")
	give(d, "spam@dismiss.example")
	p := e.newCustomer(t, adm, "E-3", "Patch BV", "")
	give(p, "Typed@Patch.example")
	require.Equal(t, []string{"E-1", "E-2", "E-3"}, e.customerRefs(t, adm, "to_verify=email_provided"))

	e.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email/accept", a.ID), e.keyB, nil).problem(t, http.StatusNotFound)
	r := e.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email/accept", a.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.CustomerView
	r.json(t, &v)
	require.Equal(t, "new@accept.example", v.Email)
	require.False(t, v.ToVerify)
	e.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email/accept", a.ID), e.keyA, nil).problem(t, http.StatusConflict)

	r = e.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email/dismiss", d.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var got models.Customer
	require.NoError(t, e.db.First(&got, d.ID).Error)
	require.Equal(t, "kept@dismiss.example", got.Email)
	require.Empty(t, got.ProvidedEmail)
	require.Nil(t, got.ProvidedEmailAt)
	e.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email/dismiss", d.ID), e.keyA, nil).problem(t, http.StatusConflict)

	// Typing the given address as the email verifies it too.
	r = e.call("PATCH", fmt.Sprintf("/api/v1/customers/%d", p.ID), e.keyA, map[string]any{"email": "typed@patch.example"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Empty(t, e.customerRefs(t, adm, "to_verify=email_provided"))

	// An address the customer gives (by phone here, the portal later) waits
	// to be verified, and the customer's running journeys record it.
	g := e.newCustomer(t, adm, "E-4", "Given BV", "")
	inv := e.newInvoice(t, adm, g, time.Now().AddDate(0, 0, 30), 5000)
	path := fmt.Sprintf("/api/v1/customers/%d/provided-email", g.ID)
	r = e.call("POST", path, e.keyA, map[string]any{"email": "boekhouding@given.example"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	v = api.CustomerView{}
	r.json(t, &v)
	require.True(t, v.ToVerify)
	require.Equal(t, "boekhouding@given.example", v.ProvidedEmail)
	require.Empty(t, v.Email, "not used before it is verified")
	require.NotNil(t, v.JourneysSignalled)
	require.Equal(t, 1, *v.JourneysSignalled)
	st := e.journeyState(t, inv.WorkflowID, func(s workflows.JourneyState) bool { return s.ProvidedEmail != "" })
	require.Equal(t, "boekhouding@given.example", st.ProvidedEmail)
	require.NotNil(t, st.EmailSubmittedAt)
	require.Equal(t, []string{"E-4"}, e.customerRefs(t, adm, "to_verify=email_provided"))
	// Bad input and another tenant change nothing.
	e.call("POST", path, e.keyA, map[string]any{"email": "not an address"}).problem(t, http.StatusBadRequest)
	e.call("POST", path, e.keyA, map[string]any{}).problem(t, http.StatusBadRequest)
	e.call("POST", path, e.keyB, map[string]any{"email": "x@evil.example"}).problem(t, http.StatusNotFound)
	got = models.Customer{} // First adds a loaded struct's primary key to the query
	require.NoError(t, e.db.First(&got, g.ID).Error)
	require.Equal(t, "boekhouding@given.example", got.ProvidedEmail)
	// The verified address itself is nothing to verify.
	r = e.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email", d.ID), e.keyA, map[string]any{"email": "Kept@dismiss.example"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	v = api.CustomerView{}
	r.json(t, &v)
	require.False(t, v.ToVerify)
}

// journeyState waits until the invoice's journey answers a state that ok accepts.
func (e *apiEnv) journeyState(t *testing.T, workflowID string, ok func(workflows.JourneyState) bool) workflows.JourneyState {
	t.Helper()
	var st workflows.JourneyState
	var err error
	deadline := time.Now().Add(testkit.Patience)
	for time.Now().Before(deadline) {
		if st, err = app.New(app.Options{Temporal: e.tc}).JourneyState(context.Background(), workflowID); err == nil && ok(st) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.FailNow(t, "journey never reached the expected state", "journey %s: last state %+v, error %v", workflowID, st, err)
	return st
}

func testCustomerPauseJourney(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	cust := e.newCustomer(t, adm, "J-1", "Pauze BV", "pauze@example.com")
	due := time.Now().UTC().AddDate(0, 0, 30)
	inv1 := e.newInvoice(t, adm, cust, due, 1000)
	inv2 := e.newInvoice(t, adm, cust, due, 2000)
	base := fmt.Sprintf("/api/v1/customers/%d", cust.ID)

	p := e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "x", "until": "2020-01-01"}).problem(t, http.StatusUnprocessableEntity)
	require.Equal(t, "until", p.Field)
	p = e.call("POST", base+"/pause", e.keyA, map[string]any{"until": "2099-01-01"}).problem(t, http.StatusBadRequest)
	require.Equal(t, "reason", p.Field)
	e.call("POST", base+"/pause", e.keyB, map[string]any{"reason": "x"}).problem(t, http.StatusNotFound)
	var n int64
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("customer_id = ? AND paused_at IS NOT NULL", cust.ID).Count(&n).Error)
	require.Zero(t, n, "a refused pause paused invoices")
	e.call("POST", base+"/resume", e.keyA, nil).problem(t, http.StatusConflict)

	r := e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "curator", "until": "2099-01-01"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.CustomerView
	r.json(t, &v)
	require.True(t, v.Paused)
	require.NotNil(t, v.JourneysSignalled)
	require.Equal(t, 2, *v.JourneysSignalled)
	require.Equal(t, []string{"J-1"}, e.customerRefs(t, adm, "paused=true"))
	for _, inv := range []api.InvoiceView{inv1, inv2} {
		var got models.Invoice
		require.NoError(t, e.db.First(&got, inv.ID).Error)
		require.NotNil(t, got.PausedAt)
		require.Equal(t, "curator", got.PauseReason)
		e.journeyState(t, inv.WorkflowID, func(st workflows.JourneyState) bool { return st.Paused && st.PauseReason == "curator" })
	}

	r = e.call("POST", base+"/resume", e.keyA, map[string]any{"reason": "settled"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &v)
	require.False(t, v.Paused)
	for _, inv := range []api.InvoiceView{inv1, inv2} {
		e.journeyState(t, inv.WorkflowID, func(st workflows.JourneyState) bool { return !st.Paused })
	}
	require.Empty(t, e.customerRefs(t, adm, "paused=true"))

	// The customer's own journey: one of another administration is refused.
	mk := func(admID int64, name string) int64 {
		r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/journeys", admID), e.keyA, map[string]any{"name": name, "steps": []any{
			map[string]any{"offset_days": 0, "kind": "invoice"}, map[string]any{"offset_days": 14, "kind": "final_reminder"}}})
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		var j api.JourneyView
		r.json(t, &j)
		return j.ID
	}
	own := mk(adm.ID, "Kort")
	other := mk(e.admA.ID, "Elders")
	p = e.call("PUT", base+"/journey", e.keyA, map[string]any{"journey_id": other}).problem(t, http.StatusUnprocessableEntity)
	require.Equal(t, "journey_id", p.Field)
	p = e.call("PUT", base+"/journey", e.keyA, map[string]any{"journey_id": 999999999}).problem(t, http.StatusUnprocessableEntity)
	require.Equal(t, "journey_id", p.Field)
	p = e.call("PUT", base+"/journey", e.keyA, map[string]any{}).problem(t, http.StatusBadRequest)
	require.Equal(t, "journey_id", p.Field)
	p = e.call("PUT", base+"/journey", e.keyA, map[string]any{"journey_id": "one"}).problem(t, http.StatusBadRequest)
	require.Equal(t, "journey_id", p.Field)
	e.call("PUT", base+"/journey", e.keyB, map[string]any{"journey_id": own}).problem(t, http.StatusNotFound)
	require.Nil(t, e.getCustomer(t, cust.ID).JourneyID, "refused assignments changed the customer")

	r = e.call("PUT", base+"/journey", e.keyA, map[string]any{"journey_id": own})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &v)
	require.NotNil(t, v.JourneyID)
	require.Equal(t, own, *v.JourneyID)
	e.journeyState(t, inv1.WorkflowID, func(st workflows.JourneyState) bool { return st.JourneyName == "Kort" && len(st.Steps) == 2 })

	r = e.call("PUT", base+"/journey", e.keyA, map[string]any{"journey_id": nil})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Nil(t, e.getCustomer(t, cust.ID).JourneyID)
	e.journeyState(t, inv1.WorkflowID, func(st workflows.JourneyState) bool {
		return st.JourneyName != "Kort" && !st.ReplanPending && len(st.Steps) > 2
	})
}
