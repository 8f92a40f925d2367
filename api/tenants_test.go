package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

// newTenantEnv makes two organizations the way `relance org create` does
// (app.CreateOrganization) and serves the real router over gdb. No Temporal:
// nothing here starts a journey (an archived administration refuses to).
func newTenantEnv(t *testing.T, gdb *gorm.DB) *apiEnv {
	t.Helper()
	ctx := context.Background()
	svc := app.New(app.Options{DB: gdb})
	e := &apiEnv{t: t, db: gdb}
	var err error
	_, e.keyA, err = svc.CreateOrganization(ctx, "Tenant A", "first key")
	require.NoError(t, err)
	_, e.keyB, err = svc.CreateOrganization(ctx, "Tenant B", "first key")
	require.NoError(t, err)
	cfg := config.Config{MaxBodyBytes: 8192, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
	e.srv = httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}))
	t.Cleanup(e.srv.Close)
	return e
}

func TestTenantsThroughTheAPI(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newTenantEnv(t, gdb)
		adm := testCreateAdministration(t, e)
		t.Run("bad administration input names the field and writes nothing", func(t *testing.T) { testAdministrationBadInput(t, e, adm) })
		cust := testCreateCustomer(t, e, adm)
		t.Run("another organization's key gets 404 on every new endpoint", func(t *testing.T) { testTenantIsolation(t, e, adm, cust) })
		t.Run("API keys: listed without secrets, revoked at once, read-only", func(t *testing.T) { testAPIKeys(t, e, adm) })
		t.Run("archived administrations are hidden and start no journeys", func(t *testing.T) { testArchive(t, e, adm, cust) })
	})
}

var fullDetails = map[string]any{
	"company_name": "Brouwerij Zuid BV", "company_address": "Kade 1\n2000 Antwerpen", "company_phone": "+32 3 123 45 67",
	"company_email": "ar@zuid.example", "company_website": "https://zuid.example", "company_logo_url": "https://zuid.example/logo.png",
	"legal_id": "BE0123456789", "bank_details": "IBAN BE68 5390 0754 7034", "late_penalty_rate": "8%",
	"sender_name": "Brouwerij Zuid", "sender_email": "ar@zuid.example", "reply_to_email": "help@zuid.example", "sms_sender": "Zuid",
	"user_name": "An Peeters", "user_email": "an@zuid.example", "user_phone": "+32 3 123 45 68",
}

func testCreateAdministration(t *testing.T, e *apiEnv) models.Administration {
	r := e.call("POST", "/api/v1/administrations", e.keyA, map[string]any{"name": "Zuid", "country": "be"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var adm models.Administration
	r.json(t, &adm)
	require.Equal(t, "BE", adm.Country)
	require.Equal(t, "Europe/Brussels", adm.TimeZone, "the country's time zone by default")
	require.Equal(t, "EUR", adm.Currency)
	require.Equal(t, "nl", adm.Language)
	require.Equal(t, models.DefaultAdministrationSettings(), adm.AdministrationSettings)
	require.NotNil(t, adm.DefaultJourneyID, "created with the default journey, ready for invoices")
	var steps int64
	require.NoError(t, e.db.Model(&models.JourneyStep{}).Where("journey_id = ?", *adm.DefaultJourneyID).Count(&steps).Error)
	require.Positive(t, steps)

	// Every company detail, the sender and a few settings in one PATCH.
	patch := map[string]any{"language": "fr", "time_zone": "Europe/Paris", "sms_enabled": true, "postal_enabled": false, "customer_min_gap_days": 5}
	for k, v := range fullDetails {
		patch[k] = v
	}
	r = e.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), e.keyA, patch)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r = e.call("GET", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var got map[string]any
	r.json(t, &got)
	for k, v := range fullDetails {
		require.Equal(t, v, got[k], k)
	}
	require.Equal(t, "fr", got["language"])
	require.Equal(t, "Europe/Paris", got["time_zone"])
	require.Equal(t, true, got["sms_enabled"])
	require.Equal(t, false, got["postal_enabled"], "false is written, not skipped as a zero value")
	require.Equal(t, float64(5), got["customer_min_gap_days"])
	require.NoError(t, e.db.First(&adm, adm.ID).Error)
	return adm
}

func testAdministrationBadInput(t *testing.T, e *apiEnv, adm models.Administration) {
	before := e.count(&models.Administration{})
	var stored models.Administration
	require.NoError(t, e.db.First(&stored, adm.ID).Error)
	cases := []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"name": "X", "country": "XX"}, 400, "country"},
		{map[string]any{"name": "X", "country": "US"}, 422, "country"},
		{map[string]any{"name": "X", "country": "NL", "currency": "EURO"}, 400, "currency"},
		{map[string]any{"name": "X", "country": "NL", "currency": "XYZ"}, 400, "currency"},
		{map[string]any{"name": "X", "country": "NL", "time_zone": "Mars/Olympus"}, 400, "time_zone"},
		{map[string]any{"name": "X", "country": "NL", "user_email": "an at zuid"}, 400, "user_email"},
		{map[string]any{"name": "X", "country": "NL", "sender_email": "Zuid <ar@zuid.example>"}, 400, "sender_email"},
		{map[string]any{"name": "X", "country": "NL", "company_logo_url": "javascript:alert(1)"}, 400, "company_logo_url"},
		{map[string]any{"name": "X", "country": "NL", "language": "es"}, 400, "language"},
		{map[string]any{"name": "X", "country": "NL", "send_window_start": 18, "send_window_end": 9}, 422, "send_window_start"},
		{map[string]any{"name": "X", "country": "NL", "colour": "red"}, 400, "colour"},
		{map[string]any{"country": "NL"}, 400, "name"},
		{map[string]any{"name": "X"}, 400, "country"},
	}
	for _, c := range cases {
		p := e.call("POST", "/api/v1/administrations", e.keyA, c.body).problem(t, c.status)
		require.Equal(t, c.field, p.Field, "%v", c.body)
		if _, ok := c.body[c.field]; !ok || c.field == "name" {
			continue // a required field left out: PATCH does not require it
		}
		// The same change on an existing administration: refused whole.
		body := map[string]any{"company_name": "Half Written"}
		for k, v := range c.body {
			if k != "name" {
				body[k] = v
			}
		}
		p = e.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), e.keyA, body).problem(t, c.status)
		require.Equal(t, c.field, p.Field, "%v", body)
	}
	require.Equal(t, before, e.count(&models.Administration{}), "no administration was created")
	var after models.Administration
	require.NoError(t, e.db.First(&after, adm.ID).Error)
	require.Equal(t, stored, after, "a refused PATCH writes nothing")
}

func testCreateCustomer(t *testing.T, e *apiEnv, adm models.Administration) models.Customer {
	path := fmt.Sprintf("/api/v1/administrations/%d/customers", adm.ID)
	r := e.call("POST", path, e.keyA, map[string]any{
		"external_ref": "D-100", "name": "Café Noord", "email": "boekhouding@noord.example", "phone": "0470 12 34 56",
		"address_line1": "Markt 3", "postal_code": "9000", "city": "Gent", "send_sms": false, "customer_type": "consumer",
	})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var v api.CustomerView
	r.json(t, &v)
	require.Equal(t, "BE", v.Country, "the administration's country by default")
	require.Equal(t, "fr", v.Language, "the administration's language by default")
	require.Equal(t, "+32470123456", v.Mobile, "the phone parsed in the customer's country")
	require.False(t, v.SendSMS)
	require.True(t, v.SendByPost)
	require.Equal(t, models.CustomerConsumer, v.Type)

	before := e.count(&models.Customer{})
	for _, c := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"external_ref": "D-101", "name": "X", "email": "not-an-address"}, 400, "email"},
		{map[string]any{"external_ref": "D-101", "name": "X", "email": "x@localhost"}, 400, "email"},
		{map[string]any{"external_ref": "D-101", "name": "X", "phone": "12"}, 422, "phone"},
		{map[string]any{"external_ref": "D-101", "name": "X", "country": "ZZ"}, 400, "country"},
		{map[string]any{"external_ref": "D-101", "name": "X", "language": "it"}, 400, "language"},
		{map[string]any{"external_ref": "D-101", "name": "X", "customer_type": "b2c"}, 400, "customer_type"},
		{map[string]any{"external_ref": "", "name": "X"}, 400, "external_ref"},
		{map[string]any{"external_ref": "D-101"}, 400, "name"},
		{map[string]any{"external_ref": "D-101", "name": "X", "vat": "1"}, 400, "vat"},
	} {
		p := e.call("POST", path, e.keyA, c.body).problem(t, c.status)
		require.Equal(t, c.field, p.Field, "%v", c.body)
	}
	e.call("POST", path, e.keyA, map[string]any{"external_ref": "D-100", "name": "Again"}).problem(t, http.StatusConflict)
	require.Equal(t, before, e.count(&models.Customer{}), "refused customers are not written")

	// The existing PATCH updates it; the language set through the API stays.
	r = e.call("PATCH", fmt.Sprintf("/api/v1/customers/%d", v.ID), e.keyA, map[string]any{"language": "nl"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var cust models.Customer
	require.NoError(t, e.db.First(&cust, v.ID).Error)
	require.Equal(t, "nl", cust.Language)
	require.Len(t, cust.PortalToken, 32, "a portal link of its own")
	return cust
}

func testTenantIsolation(t *testing.T, e *apiEnv, adm models.Administration, cust models.Customer) {
	var keyA models.APIKey
	require.NoError(t, e.db.Where("organization_id = ?", adm.OrganizationID).Order("id").First(&keyA).Error)
	var stored models.Administration
	require.NoError(t, e.db.First(&stored, adm.ID).Error)
	customers := e.count(&models.Customer{})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), map[string]any{"bank_details": "IBAN of a thief"}},
		{"POST", fmt.Sprintf("/api/v1/administrations/%d/archive", adm.ID), nil},
		{"POST", fmt.Sprintf("/api/v1/administrations/%d/restore", adm.ID), nil},
		{"POST", fmt.Sprintf("/api/v1/administrations/%d/customers", adm.ID), map[string]any{"external_ref": "B-1", "name": "Intruder"}},
		{"POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke", keyA.ID), nil},
		{"GET", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), nil},
		{"PATCH", fmt.Sprintf("/api/v1/customers/%d", cust.ID), map[string]any{"name": "Renamed"}},
	} {
		e.call(c.method, c.path, e.keyB, c.body).problem(t, http.StatusNotFound)
	}
	var after models.Administration
	require.NoError(t, e.db.First(&after, adm.ID).Error)
	require.Equal(t, stored, after)
	require.Equal(t, customers, e.count(&models.Customer{}))
	require.NoError(t, e.db.First(&keyA, keyA.ID).Error)
	require.Nil(t, keyA.RevokedAt, "B cannot revoke A's key")

	// Lists show only the caller's own.
	var admins api.Page[models.Administration]
	e.call("GET", "/api/v1/administrations?archived=true", e.keyB, nil).json(t, &admins)
	require.Empty(t, admins.Data)
	var keys api.Page[models.APIKey]
	e.call("GET", "/api/v1/api-keys", e.keyB, nil).json(t, &keys)
	require.Len(t, keys.Data, 1)
	require.NotEqual(t, adm.OrganizationID, keys.Data[0].OrganizationID)
}

func testAPIKeys(t *testing.T, e *apiEnv, adm models.Administration) {
	r := e.call("POST", "/api/v1/api-keys", e.keyA, map[string]any{"name": "ci"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	var created api.CreatedAPIKey
	r.json(t, &created)
	require.True(t, strings.HasPrefix(created.Key, "rl_"), created.Key)
	require.Equal(t, "ci", created.Name)
	require.False(t, created.ReadOnly)
	require.Nil(t, created.LastUsedAt)

	// The new key works, and its use is recorded.
	r = e.call("GET", "/api/v1/administrations", created.Key, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r = e.call("GET", "/api/v1/api-keys", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), created.Key, "a key's secret is shown once")
	require.NotContains(t, string(r.body), e.keyA)
	var keys api.Page[models.APIKey]
	r.json(t, &keys)
	require.Len(t, keys.Data, 2)
	require.Equal(t, "ci", keys.Data[1].Name)
	require.NotNil(t, keys.Data[1].LastUsedAt, "last use recorded")

	// Pages: one key a page.
	var first api.Page[models.APIKey]
	e.call("GET", "/api/v1/api-keys?limit=1", e.keyA, nil).json(t, &first)
	require.Len(t, first.Data, 1)
	require.NotZero(t, first.Next)
	var second api.Page[models.APIKey]
	e.call("GET", fmt.Sprintf("/api/v1/api-keys?limit=1&cursor=%d", first.Next), e.keyA, nil).json(t, &second)
	require.Equal(t, created.ID, second.Data[0].ID)

	// Revoked: 401 on the very next request.
	r = e.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke", created.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var revoked models.APIKey
	r.json(t, &revoked)
	require.NotNil(t, revoked.RevokedAt)
	e.call("GET", "/api/v1/administrations", created.Key, nil).problem(t, http.StatusUnauthorized)
	r = e.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke", created.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, "revoking twice is a no-op")
	e.call("POST", "/api/v1/api-keys/999999/revoke", e.keyA, nil).problem(t, http.StatusNotFound)
	require.Equal(t, "name", e.call("POST", "/api/v1/api-keys", e.keyA, map[string]any{"name": " "}).problem(t, 400).Field)

	// Read-only: reads pass, every write is 403 and writes nothing.
	r = e.call("POST", "/api/v1/api-keys", e.keyA, map[string]any{"name": "dashboard", "read_only": true})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var ro api.CreatedAPIKey
	r.json(t, &ro)
	require.True(t, ro.ReadOnly)
	require.Equal(t, http.StatusOK, e.call("GET", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), ro.Key, nil).status)
	admins, keyCount := e.count(&models.Administration{}), e.count(&models.APIKey{})
	e.call("POST", "/api/v1/administrations", ro.Key, map[string]any{"name": "RO", "country": "NL"}).problem(t, http.StatusForbidden)
	e.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), ro.Key, map[string]any{"name": "RO"}).problem(t, http.StatusForbidden)
	e.call("POST", "/api/v1/api-keys", ro.Key, map[string]any{"name": "escalate"}).problem(t, http.StatusForbidden)
	e.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke", ro.ID), ro.Key, nil).problem(t, http.StatusForbidden)
	require.Equal(t, admins, e.count(&models.Administration{}))
	require.Equal(t, keyCount, e.count(&models.APIKey{}))
}

func testArchive(t *testing.T, e *apiEnv, adm models.Administration, cust models.Customer) {
	ids := func(q string) []int64 {
		var p api.Page[models.Administration]
		r := e.call("GET", "/api/v1/administrations"+q, e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		r.json(t, &p)
		var out []int64
		for _, a := range p.Data {
			out = append(out, a.ID)
		}
		return out
	}
	require.Contains(t, ids(""), adm.ID)
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/archive", adm.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var archived models.Administration
	r.json(t, &archived)
	require.NotNil(t, archived.ArchivedAt)
	require.NotContains(t, ids(""), adm.ID, "hidden from the list")
	require.Contains(t, ids("?archived=true"), adm.ID, "unless asked")
	e.call("GET", "/api/v1/administrations?archived=maybe", e.keyA, nil).problem(t, http.StatusBadRequest)

	// No journey starts: the invoice is refused and not kept.
	invoices := e.count(&models.Invoice{})
	e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", adm.ID), e.keyA, map[string]any{
		"customer_id": cust.ID, "number": "F-ARCH-1", "issue_date": "2026-11-01", "due_date": "2026-12-01", "amount_minor": 1000,
	}).problem(t, http.StatusConflict)
	require.Equal(t, invoices, e.count(&models.Invoice{}))

	r = e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/restore", adm.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Contains(t, ids(""), adm.ID)
}
