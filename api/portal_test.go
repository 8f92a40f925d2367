package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

// portalEnv is the portal on a real database, without Temporal: every page
// and form that does not steer a journey works without it (dispute and
// promise are exercised end to end in e2e/portal_test.go).
type portalEnv struct {
	t          *testing.T
	db         *gorm.DB
	srv        *httptest.Server
	links      portal.Links
	key        string
	custA      models.Customer
	custB      models.Customer
	invA, invB models.Invoice
	letterA    models.Message
	letterB    models.Message
}

func newPortalEnv(t *testing.T, gdb *gorm.DB, limits api.PortalLimits) *portalEnv {
	t.Helper()
	e := &portalEnv{t: t, db: gdb}
	org := models.Organization{Name: "P", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	adm := models.Administration{OrganizationID: org.ID, Name: "P BV", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR", Language: "nl",
		AdministrationSettings: models.DefaultAdministrationSettings(), CompanyDetails: models.CompanyDetails{CompanyName: "Portaal BV", CompanyAddress: "Kade 1\n1000 AA Amsterdam"}}
	require.NoError(t, gdb.Create(&adm).Error)
	mk := func(name, lang string) models.Customer {
		c := models.Customer{AdministrationID: adm.ID, ExternalRef: name, Name: name, Language: lang, Country: "NL",
			CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: app.NewPortalToken()}
		require.NoError(t, gdb.Create(&c).Error)
		require.NotNil(t, c.PortalCode, "every new customer gets a code")
		return c
	}
	e.custA, e.custB = mk("Klant A", "nl"), mk("Client B", "fr")
	inv := func(c models.Customer, num string) models.Invoice {
		now := time.Now().UTC()
		i := models.Invoice{AdministrationID: adm.ID, CustomerID: c.ID, Number: num, IssueDate: now.AddDate(0, 0, -30), DueDate: now.AddDate(0, 0, -16),
			Currency: "EUR", AmountMinor: 10000, OpenMinor: 10000, Status: models.InvoiceOpen, WorkflowID: "invoice:x:" + num}
		require.NoError(t, gdb.Create(&i).Error)
		return i
	}
	e.invA, e.invB = inv(e.custA, "A-1"), inv(e.custB, "B-1")
	letter := func(c models.Customer, i models.Invoice) models.Message {
		at := time.Now().UTC()
		m := models.Message{Key: fmt.Sprintf("k-%d-%d", c.ID, i.ID), AdministrationID: adm.ID, CustomerID: c.ID, InvoiceID: &i.ID, Kind: "reminder",
			Channel: "post", State: models.MessageSent, Recipient: c.Name, Subject: "Herinnering " + i.Number, BodyText: "Geachte klant,\n\nBetaal " + i.Number + ".", SentAt: &at}
		require.NoError(t, gdb.Create(&m).Error)
		return m
	}
	e.letterA, e.letterB = letter(e.custA, e.invA), letter(e.custB, e.invB)
	var err error
	e.key, _, err = auth.Create(context.Background(), gdb, org.ID, "p")
	require.NoError(t, err)

	e.srv = httptest.NewUnstartedServer(nil)
	e.links = portal.Links{BaseURL: "http://" + e.srv.Listener.Addr().String(), Secret: []byte("portal-test-secret"), TTL: 30 * 24 * time.Hour}
	cfg := config.Config{MaxBodyBytes: 1 << 16, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "portal-test-secret"}
	e.srv.Config.Handler = api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Portal: e.links}), Inbound: inbound.NewRecorder(gdb, nil),
		Config: cfg, Portal: e.links, PortalLimits: limits})
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// browserish is an HTTP client with cookies that does not follow redirects.
func browserish(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *portalEnv) link(c models.Customer) string {
	return e.srv.URL + "/portal/" + e.links.Token(c.ID, c.PortalToken, time.Now())
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b), res.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf opens a page and returns its form's CSRF value.
func csrfOf(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	status, body, _ := fetch(t, c, "GET", u, nil)
	require.Equal(t, http.StatusOK, status, body)
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(t, m, "a form with its CSRF field")
	return m[1]
}

func TestPortalPagesAndIsolation(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newPortalEnv(t, gdb, api.PortalLimits{})
		c := browserish(t)
		linkA := e.link(e.custA)

		status, body, h := fetch(t, c, "GET", linkA, nil)
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, `lang="nl"`, "the customer's language")
		require.Contains(t, body, "A-1")
		require.Contains(t, body, "Vervallen")
		require.NotContains(t, body, "B-1")
		require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
		require.Equal(t, "DENY", h.Get("X-Frame-Options"))

		// The language switch, remembered.
		_, body, _ = fetch(t, c, "GET", linkA+"?lang=de", nil)
		require.Contains(t, body, "Offene Rechnungen")
		_, body, _ = fetch(t, c, "GET", linkA, nil)
		require.Contains(t, body, "Offene Rechnungen")

		// A's letter is a PDF; B's invoice, letter and a message about B's invoice are 404 through A's link.
		status, body, h = fetch(t, c, "GET", fmt.Sprintf("%s/letters/%d", linkA, e.letterA.ID), nil)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "application/pdf", h.Get("Content-Type"))
		require.True(t, strings.HasPrefix(body, "%PDF"))
		for _, u := range []string{fmt.Sprintf("%s/letters/%d", linkA, e.letterB.ID), fmt.Sprintf("%s/invoices/%d", linkA, e.invB.ID),
			linkA + "/letters/x", linkA + "/invoices/0"} {
			status, body, _ = fetch(t, c, "GET", u, nil)
			require.Equal(t, http.StatusNotFound, status, u)
			require.NotContains(t, body, "B-1")
			require.NotContains(t, body, "Client B")
		}
		tok := csrfOf(t, c, linkA+"/messages")
		status, body, _ = fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "about": {fmt.Sprintf("invoice:%d", e.invB.ID)}, "body": {"hello"}})
		require.Equal(t, http.StatusNotFound, status)
		require.NotContains(t, body, "B-1")
		var n int64
		require.NoError(t, gdb.Model(&models.Conversation{}).Count(&n).Error)
		require.Zero(t, n, "nothing written")

		// A message, with a script: stored as typed, shown escaped.
		const script = `<script>alert("x")</script><img src=x onerror=alert(1)>`
		status, _, h = fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "about": {fmt.Sprintf("invoice:%d", e.invA.ID)}, "body": {script}})
		require.Equal(t, http.StatusSeeOther, status)
		require.Contains(t, h.Get("Location"), "/messages?done=message")
		_, body, _ = fetch(t, c, "GET", linkA+"/messages", nil)
		require.NotContains(t, body, "<script>alert")
		require.NotContains(t, body, "<img src=x")
		require.Contains(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
		var conv models.Conversation
		require.NoError(t, gdb.First(&conv, "customer_id = ?", e.custA.ID).Error)
		require.True(t, conv.Unread)
		require.Equal(t, e.invA.ID, *conv.InvoiceID)
		var msg models.InboxMessage
		require.NoError(t, gdb.First(&msg, "conversation_id = ?", conv.ID).Error)
		require.Equal(t, script, msg.Body)
		require.Equal(t, "portal", msg.Channel)

		// A valid email address: the customer is to verify.
		tok = csrfOf(t, c, linkA+"/email")
		status, _, _ = fetch(t, c, "POST", linkA+"/email", url.Values{"csrf": {tok}, "email": {"boekhouding@klant-a.example"}})
		require.Equal(t, http.StatusSeeOther, status)
		var cust models.Customer
		require.NoError(t, gdb.First(&cust, e.custA.ID).Error)
		require.Equal(t, "boekhouding@klant-a.example", cust.ProvidedEmail)
		status, body, _ = callAPI(t, e.srv.URL, e.key, "GET", fmt.Sprintf("/api/v1/administrations/%d/customers?to_verify=email_provided", e.custA.AdministrationID))
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, "boekhouding@klant-a.example")
	})
}

func callAPI(t *testing.T, base, key, method, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b), res.Header
}

func TestPortalBadLinks(t *testing.T) {
	gdb := testkit.SQLite(t)
	e := newPortalEnv(t, gdb, api.PortalLimits{})
	c := browserish(t)
	good := e.links.Token(e.custB.ID, e.custB.PortalToken, time.Now())
	expired := e.links.Token(e.custB.ID, e.custB.PortalToken, time.Now().AddDate(0, 0, -31))
	parts := strings.Split(good, ".")
	tampered := []string{
		fmt.Sprintf("%d.%s.%s", e.custA.ID, parts[1], parts[2]), // another customer's ID
		parts[0] + "." + "zzzzz" + "." + parts[2],               // a later expiry
		good[:len(good)-2] + "xy",                               // the signature
		"nonsense", "1.2", "0.1.2",
	}
	for _, tok := range tampered {
		status, body, _ := fetch(t, c, "GET", e.srv.URL+"/portal/"+tok, nil)
		require.Equal(t, http.StatusNotFound, status, tok)
		require.Contains(t, body, "link")
		require.NotContains(t, body, "B-1")
		require.NotContains(t, body, "Klant A")
	}
	// Expired: the customer's language (fr), no data.
	status, body, _ := fetch(t, c, "GET", e.srv.URL+"/portal/"+expired, nil)
	require.Equal(t, http.StatusGone, status)
	require.Contains(t, body, "Ce lien a expiré")
	require.NotContains(t, body, "B-1")
	require.NotContains(t, body, "Client B")

	// Revoked through the API: 410 in the customer's language; a new link works, the old one no longer.
	status, _, _ = callAPI(t, e.srv.URL, e.key, "DELETE", fmt.Sprintf("/api/v1/customers/%d/portal-link", e.custB.ID))
	require.Equal(t, http.StatusNoContent, status)
	status, body, _ = fetch(t, c, "GET", e.srv.URL+"/portal/"+good, nil)
	require.Equal(t, http.StatusGone, status)
	require.Contains(t, body, "a été retiré")
	require.NotContains(t, body, "B-1")
	// The code is refused too.
	tok := csrfOf(t, c, e.srv.URL+"/portal")
	status, _, _ = fetch(t, c, "POST", e.srv.URL+"/portal", url.Values{"csrf": {tok}, "code": {*e.custB.PortalCode}})
	require.Equal(t, http.StatusNotFound, status)

	status, body, _ = callAPI(t, e.srv.URL, e.key, "POST", fmt.Sprintf("/api/v1/customers/%d/portal-link", e.custB.ID))
	require.Equal(t, http.StatusOK, status, body)
	newLink := regexp.MustCompile(`"url":"([^"]+)"`).FindStringSubmatch(body)[1]
	newCode := regexp.MustCompile(`"code":"([^"]+)"`).FindStringSubmatch(body)[1]
	require.NotEqual(t, portal.FormatCode(*e.custB.PortalCode), newCode)
	status, body, _ = fetch(t, c, "GET", newLink, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "B-1")
	status, _, _ = fetch(t, c, "GET", e.srv.URL+"/portal/"+good, nil)
	require.Equal(t, http.StatusNotFound, status, "the rotated link is dead")

	// The new code, typed loosely, leads to the portal; an unknown one does not.
	tok = csrfOf(t, c, e.srv.URL+"/portal")
	status, _, h := fetch(t, c, "POST", e.srv.URL+"/portal", url.Values{"csrf": {tok}, "code": {" " + strings.ToLower(newCode) + " "}})
	require.Equal(t, http.StatusSeeOther, status)
	status, body, _ = fetch(t, c, "GET", e.srv.URL+h.Get("Location"), nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "B-1")
	status, _, _ = fetch(t, c, "POST", e.srv.URL+"/portal", url.Values{"csrf": {tok}, "code": {"KKKK-KKKK"}})
	require.Equal(t, http.StatusNotFound, status)
	status, _, _ = fetch(t, c, "POST", e.srv.URL+"/portal", url.Values{"csrf": {tok}, "code": {"<b>"}})
	require.Equal(t, http.StatusBadRequest, status)

	// Another organization's key cannot rotate or revoke: 404.
	other := models.Organization{Name: "O", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&other).Error)
	okey, _, err := auth.Create(context.Background(), gdb, other.ID, "o")
	require.NoError(t, err)
	status, _, _ = callAPI(t, e.srv.URL, okey, "POST", fmt.Sprintf("/api/v1/customers/%d/portal-link", e.custB.ID))
	require.Equal(t, http.StatusNotFound, status)
	status, _, _ = callAPI(t, e.srv.URL, okey, "DELETE", fmt.Sprintf("/api/v1/customers/%d/portal-link", e.custB.ID))
	require.Equal(t, http.StatusNotFound, status)
}

func TestPortalBadForms(t *testing.T) {
	gdb := testkit.SQLite(t)
	e := newPortalEnv(t, gdb, api.PortalLimits{RequestsPerMinute: 1000, PostsPerMinute: 1000})
	c := browserish(t)
	linkA := e.link(e.custA)
	tok := csrfOf(t, c, linkA+"/email")

	// Without its CSRF value, with a forged one, or with another link's: 403, nothing stored.
	linkB := e.link(e.custB)
	tokB := csrfOf(t, c, linkB+"/email")
	for _, v := range []url.Values{{"email": {"x@example.com"}}, {"csrf": {"forged"}, "email": {"x@example.com"}}, {"csrf": {tokB}, "email": {"x@example.com"}}} {
		status, body, _ := fetch(t, c, "POST", linkA+"/email", v)
		require.Equal(t, http.StatusForbidden, status)
		require.Contains(t, body, "formulier is verlopen")
	}
	// A browser without the cookie (another site posting for it): 403.
	status, _, _ := fetch(t, http.DefaultClient, "POST", linkA+"/email", url.Values{"csrf": {tok}, "email": {"x@example.com"}})
	require.Equal(t, http.StatusForbidden, status)

	for _, bad := range []string{"", "not-an-email", "a@b@c", strings.Repeat("x", 300) + "@example.com"} {
		status, body, _ := fetch(t, c, "POST", linkA+"/email", url.Values{"csrf": {tok}, "email": {bad}})
		require.Equal(t, http.StatusBadRequest, status, bad)
		require.Contains(t, body, "geen geldig e-mailadres")
	}
	// Empty and too long messages: 400 with the form; a huge body: 413.
	status, body, _ := fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "body": {"   "}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Schrijf alstublieft iets")
	status, body, _ = fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "body": {strings.Repeat("é", 4001)}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "te lang")
	status, _, _ = fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "body": {strings.Repeat("x", 1<<20)}})
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	status, _, _ = fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "about": {"invoice:abc"}, "body": {"hi"}})
	require.Equal(t, http.StatusBadRequest, status)
	// A promise with a bad date, a past one, one too far: refused before any journey is asked.
	for date, want := range map[string]int{"tomorrow": 400, "2001-01-01": 422, time.Now().AddDate(0, 0, 90).Format("2006-01-02"): 422} {
		status, _, _ = fetch(t, c, "POST", fmt.Sprintf("%s/invoices/%d/promise", linkA, e.invA.ID), url.Values{"csrf": {tok}, "date": {date}})
		require.Equal(t, want, status, date)
	}
	status, _, _ = fetch(t, c, "POST", fmt.Sprintf("%s/invoices/%d/dispute", linkA, e.invA.ID), url.Values{"csrf": {tok}, "reason": {""}})
	require.Equal(t, http.StatusBadRequest, status)
	// Another customer's invoice: 404.
	status, _, _ = fetch(t, c, "POST", fmt.Sprintf("%s/invoices/%d/dispute", linkA, e.invB.ID), url.Values{"csrf": {tok}, "reason": {"no"}})
	require.Equal(t, http.StatusNotFound, status)
	var n int64
	require.NoError(t, gdb.Model(&models.InboxMessage{}).Count(&n).Error)
	require.Zero(t, n, "no bad form wrote anything")
	var cust models.Customer
	require.NoError(t, gdb.First(&cust, e.custA.ID).Error)
	require.Empty(t, cust.ProvidedEmail)
}

func TestPortalRateLimits(t *testing.T) {
	gdb := testkit.SQLite(t)
	e := newPortalEnv(t, gdb, api.PortalLimits{RequestsPerMinute: 30, PostsPerMinute: 3})
	c := browserish(t)
	linkA := e.link(e.custA)
	tok := csrfOf(t, c, linkA+"/messages")
	var got []int
	for range 5 {
		status, _, _ := fetch(t, c, "POST", linkA+"/messages", url.Values{"csrf": {tok}, "body": {"again"}})
		got = append(got, status)
	}
	require.Equal(t, []int{303, 303, 303, 429, 429}, got, "posts per link and address")
	// Code guessing is limited the same way (per address).
	var last int
	for range 3 {
		last, _, _ = fetch(t, c, "POST", e.srv.URL+"/portal", url.Values{"code": {"KKKK-KKKK"}})
	}
	require.Equal(t, http.StatusTooManyRequests, last)
	// Pages per address.
	for i := 0; i < 40 && last != http.StatusTooManyRequests; i++ {
		last, _, _ = fetch(t, c, "GET", linkA, nil)
	}
	require.Equal(t, http.StatusTooManyRequests, last)
	var n int64
	require.NoError(t, gdb.Model(&models.InboxMessage{}).Count(&n).Error)
	require.EqualValues(t, 3, n)
}

// TestPortalLinksAreNotLogged: the access log keeps a link's customer ID,
// never its signature.
func TestPortalLinksAreNotLogged(t *testing.T) {
	gdb := testkit.SQLite(t)
	var logs strings.Builder
	e := newPortalEnv(t, gdb, api.PortalLimits{})
	e.srv.Config.Handler = api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Portal: e.links}), Inbound: inbound.NewRecorder(gdb, nil),
		Config: config.Config{MaxBodyBytes: 1 << 16, MaxImportBytes: 1 << 20}, Portal: e.links, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	link := e.link(e.custA)
	status, _, _ := fetch(t, browserish(t), "GET", link+"/email", nil)
	require.Equal(t, http.StatusOK, status)
	sig := link[strings.LastIndexByte(link, '.')+1:]
	require.NotContains(t, logs.String(), sig)
	require.Contains(t, logs.String(), fmt.Sprintf("path=/portal/%d.…/email", e.custA.ID))
}
