package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
)

// TestTemplates covers template CRUD, versions, overrides of the shipped
// defaults, the tag list and the refusals, on both databases. Templates
// need no Temporal.
func TestTemplates(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newAPIEnv(t, gdb, nil)
		t.Run("tag list", func(t *testing.T) { testTemplateTags(t, e) })
		t.Run("create, override, version, delete", func(t *testing.T) { testTemplateCRUD(t, e) })
		t.Run("bad templates are refused and leave nothing", func(t *testing.T) { testTemplateRefusals(t, e) })
		t.Run("a set that a journey names keeps its last template", func(t *testing.T) { testTemplateSetInUse(t, e) })
		t.Run("preview", func(t *testing.T) { testTemplatePreview(t, e) })
		t.Run("message preview", func(t *testing.T) { testMessagePreview(t, e) })
		t.Run("bundle templates: listed, saved, versioned, refused, previewed, per tenant", func(t *testing.T) { testBundleTemplates(t, e) })
	})
}

type templateList struct {
	Data []api.TemplateView `json:"data"`
}

func (e *apiEnv) templates(t *testing.T) map[string]api.TemplateView {
	t.Helper()
	r := e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var l templateList
	r.json(t, &l)
	out := map[string]api.TemplateView{}
	for _, v := range l.Data {
		k := v.Name + "/" + v.Kind + "/" + v.Channel + "/" + v.Language
		require.NotContains(t, out, k, "each template once")
		out[k] = v
	}
	return out
}

func testTemplateTags(t *testing.T, e *apiEnv) {
	r := e.call("GET", "/api/v1/template-tags", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status)
	var l struct {
		Data []api.TagView `json:"data"`
	}
	r.json(t, &l)
	require.Len(t, l.Data, len(render.Tags()))
	byName := map[string]api.TagView{}
	for _, tg := range l.Data {
		require.NotEmpty(t, tg.Description, tg.Name)
		require.NotEmpty(t, tg.Example, tg.Name)
		require.Contains(t, []string{"customer", "document", "company"}, tg.Group, tg.Name)
		byName[tg.Name] = tg
	}
	require.Equal(t, "customer", byName["#customer_name"].Group)
	require.Equal(t, "document", byName["#items_list"].Group)
	require.Equal(t, "company", byName["#company_name"].Group)
	require.Contains(t, byName, "#portal_link")
	e.call("GET", "/api/v1/template-tags", "", nil).problem(t, http.StatusUnauthorized)
}

func testTemplateCRUD(t *testing.T, e *apiEnv) {
	before := e.templates(t)
	require.Len(t, before, len(render.TemplateDefaults()), "a new administration has the shipped defaults, the bundles' texts too")
	const key = "default/reminder/email/nl"
	require.Equal(t, "shipped", string(before[key].Source))
	require.Zero(t, before[key].ID)

	body := `<p onclick="steal()">Beste <b>#customer_name</b>, <span style="color: #c00000; font-size: 40px">let op</span> <font color="#0a0">ok</font>: ` +
		`<a href="#portal_link" target="_blank">betaal hier</a> <a href="javascript:alert(1)">niet</a>` +
		`<script>alert(1)</script><img src="https://evil.example/x.png" onerror="y()"></p>`
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID), e.keyA, map[string]any{
		"kind": "reminder", "channel": "email", "language": "nl", "subject": "Herinnering #invoice_number", "body": body})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var created api.TemplateView
	r.json(t, &created)
	require.Equal(t, fmt.Sprintf("/api/v1/templates/%d", created.ID), r.header.Get("Location"))
	require.Equal(t, "default", created.Name)
	require.Equal(t, 1, created.Version)
	require.Equal(t, "administration", string(created.Source))
	require.Equal(t, `<p>Beste <b>#customer_name</b>, <span style="color: #C00000">let op</span> <font color="#0A0">ok</font>: `+
		`<a href="#portal_link">betaal hier</a> niet</p>`, created.Body, "sanitized: links, bold and colour kept")

	after := e.templates(t)
	require.Len(t, after, len(before), "the override replaces the shipped default")
	require.Equal(t, created.ID, after[key].ID)
	require.Equal(t, "shipped", string(after["default/reminder/email/fr"].Source))

	// The same template twice is a conflict.
	e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID), e.keyA, map[string]any{
		"kind": "reminder", "channel": "email", "language": "nl", "subject": "Nog eens", "body": "tekst"}).problem(t, http.StatusConflict)

	// A save makes version 2; both are kept.
	path := fmt.Sprintf("/api/v1/templates/%d", created.ID)
	r = e.call("PUT", path, e.keyA, map[string]any{"subject": "Herinnering v2 #invoice_number", "body": "<p>Tweede <i>versie</i></p>"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var saved api.TemplateView
	r.json(t, &saved)
	require.Equal(t, 2, saved.Version)
	require.Equal(t, "<p>Tweede <i>versie</i></p>", saved.Body)
	r = e.call("GET", path+"/versions", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status)
	var versions struct {
		Data []api.TemplateVersionView `json:"data"`
	}
	r.json(t, &versions)
	require.Len(t, versions.Data, 2)
	require.Equal(t, 2, versions.Data[0].Version)
	require.Equal(t, "Herinnering v2 #invoice_number", versions.Data[0].Subject)
	require.Equal(t, created.Body, versions.Data[1].Body)

	// What identifies a template cannot change.
	p := e.call("PUT", path, e.keyA, map[string]any{"kind": "final_reminder", "subject": "x", "body": "y"}).problem(t, http.StatusUnprocessableEntity)
	require.Equal(t, "kind", p.Field)
	r = e.call("GET", path, e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status)
	var got api.TemplateView
	r.json(t, &got)
	require.Equal(t, 2, got.Version, "a refused save writes nothing")

	// Another organization sees none of it.
	e.call("GET", path, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("PUT", path, e.keyB, map[string]any{"subject": "x", "body": "y"}).problem(t, http.StatusNotFound)
	e.call("DELETE", path, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", path+"/versions", e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID), e.keyB, map[string]any{
		"kind": "reminder", "channel": "email", "language": "fr", "subject": "x", "body": "y"}).problem(t, http.StatusNotFound)

	// Deleting the override brings the shipped default back.
	r = e.call("DELETE", path, e.keyA, nil)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	require.Equal(t, "shipped", string(e.templates(t)[key].Source))
	e.call("GET", path, e.keyA, nil).problem(t, http.StatusNotFound)
	require.Zero(t, e.countWhere(&models.TemplateVersion{}, "template_id = ?", created.ID))
}

func (e *apiEnv) countWhere(model any, where string, args ...any) int64 {
	var n int64
	require.NoError(e.t, e.db.Model(model).Where(where, args...).Count(&n).Error)
	return n
}

func testTemplateRefusals(t *testing.T, e *apiEnv) {
	path := fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID)
	ok := map[string]any{"kind": "sms", "channel": "sms", "language": "nl", "body": "Betaal #invoice_number: #portal_link"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		m[k] = v
		return m
	}
	templates, versions := e.count(&models.Template{}), e.count(&models.TemplateVersion{})
	for _, c := range []struct {
		name   string
		body   any
		status int
		field  string
		detail string
	}{
		{"unknown tag in the body", with("body", "Beste #klantnaam, betaal #invoice_number"), 422, "body", "#klantnaam"},
		{"unknown tag in a link", map[string]any{"kind": "reminder", "channel": "email", "language": "nl", "subject": "S",
			"body": `<p><a href="#betaallink">betaal</a></p>`}, 422, "body", "#betaallink"},
		{"unknown tag in the subject", map[string]any{"kind": "reminder", "channel": "email", "language": "nl", "subject": "Factuur #factuurnummer",
			"body": "tekst"}, 422, "subject", "#factuurnummer"},
		{"unknown language", with("language", "es"), 400, "language", "es"},
		{"unknown kind", with("kind", "threat"), 400, "kind", "threat"},
		{"a kind on a channel it does not go by", with("channel", "email"), 400, "kind", "sms"},
		{"an SMS with a subject", with("subject", "Onderwerp"), 400, "subject", "no subject"},
		{"an email without a subject", map[string]any{"kind": "reminder", "channel": "email", "language": "nl", "body": "tekst"}, 400, "subject", "required"},
		{"no body", with("body", "   "), 400, "body", "required"},
		{"a bad set name", with("name", "Zacht Plan"), 400, "name", "Zacht Plan"},
		{"an unknown field", with("colour", "red"), 400, "colour", "colour"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.call("POST", path, e.keyA, c.body).problem(t, c.status)
			require.Equal(t, c.field, p.Field)
			require.Contains(t, p.Detail, c.detail)
		})
	}
	require.Equal(t, templates, e.count(&models.Template{}))
	require.Equal(t, versions, e.count(&models.TemplateVersion{}))
}

func testTemplateSetInUse(t *testing.T, e *apiEnv) {
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID), e.keyA, map[string]any{
		"name": "zacht", "kind": "sms", "channel": "sms", "language": "nl", "body": "Vriendelijke herinnering: #invoice_number"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var tpl api.TemplateView
	r.json(t, &tpl)
	r = e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/journeys", e.admA.ID), e.keyA, map[string]any{
		"name": "Zacht", "steps": []map[string]any{{"offset_days": 3, "kind": "sms", "template": "zacht"}}})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	p := e.call("DELETE", fmt.Sprintf("/api/v1/templates/%d", tpl.ID), e.keyA, nil).problem(t, http.StatusConflict)
	require.Contains(t, p.Detail, "zacht")
	require.Equal(t, int64(1), e.countWhere(&models.Template{}, "id = ?", tpl.ID))
}

func testTemplatePreview(t *testing.T, e *apiEnv) {
	now := time.Now().UTC()
	cust := models.Customer{AdministrationID: e.admA.ID, ExternalRef: "C-PREVIEW", Name: `<script>alert(1)</script> & Zn`, Language: "fr",
		Email: "preview@example.com", Mobile: "+32470123456", AddressLine1: "Rue 1", PostalCode: "1000", City: "Bruxelles", Country: "BE",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-preview"}
	require.NoError(t, e.db.Create(&cust).Error)
	inv := models.Invoice{AdministrationID: e.admA.ID, CustomerID: cust.ID, Number: "F-PRE-1", IssueDate: now.AddDate(0, 0, -40), DueDate: now.AddDate(0, 0, -10),
		Currency: "EUR", AmountMinor: 123456, OpenMinor: 123456, Status: models.InvoiceOpen, Stage: "scheduled", WorkflowID: "preview:F-PRE-1"}
	require.NoError(t, e.db.Create(&inv).Error)

	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID), e.keyA, map[string]any{
		"kind": "reminder", "channel": "email", "language": "nl", "subject": "Herinnering #invoice_number",
		"body": `<p>Beste <b>#customer_name</b>, u moet nog #open_amount betalen: <a href="#portal_link">betaal</a></p>`})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var tpl api.TemplateView
	r.json(t, &tpl)
	messages := e.count(&models.Message{})

	// A saved email template against a real invoice: the customer's data is
	// escaped, money and dates are in the template's language.
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"template_id": tpl.ID, "invoice_id": inv.ID})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var p api.PreviewView
	r.json(t, &p)
	require.Equal(t, tpl.ID, p.TemplateID)
	require.Equal(t, 1, p.TemplateVersion)
	require.Equal(t, "preview@example.com", p.Recipient)
	require.Equal(t, "Herinnering F-PRE-1", p.Subject)
	require.Contains(t, p.HTML, "<strong>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zn</strong>")
	require.NotContains(t, p.HTML, "<script>")
	require.Contains(t, p.HTML, "€&nbsp;1.234,56", "Dutch money format")
	require.Contains(t, p.HTML, `href="http://portal.test/`)
	require.Contains(t, p.Text, "<script>alert(1)</script> & Zn", "the text part is plain text")
	require.Empty(t, p.Warnings)
	require.Equal(t, []string{"preview@example.com"}, p.To)

	// With contact persons and an archive address, the preview shows who
	// the email would go to now.
	contacts := []models.Contact{
		{CustomerID: cust.ID, Email: "ap@example.com", Roles: models.ContactRoles{policy.RoleReminders}, Source: "api"},
		{CustomerID: cust.ID, Email: "cfo@example.com", Roles: models.ContactRoles{policy.RoleReminders}, CC: true, Source: "api"},
		{CustomerID: cust.ID, Email: "billing@example.com", Roles: models.ContactRoles{policy.RoleBilling}, Source: "api"},
	}
	require.NoError(t, e.db.Create(&contacts).Error)
	require.NoError(t, e.db.Model(&models.Administration{}).Where("id = ?", e.admA.ID).Update("bcc_email", "archive@example.com").Error)
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"template_id": tpl.ID, "invoice_id": inv.ID})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var withContacts api.PreviewView
	r.json(t, &withContacts)
	require.Equal(t, "ap@example.com", withContacts.Recipient)
	require.Equal(t, []string{"ap@example.com"}, withContacts.To)
	require.Equal(t, []string{"cfo@example.com"}, withContacts.Cc)
	require.Equal(t, []string{"archive@example.com"}, withContacts.Bcc)
	require.NoError(t, e.db.Where("customer_id = ?", cust.ID).Delete(&models.Contact{}).Error)
	require.NoError(t, e.db.Model(&models.Administration{}).Where("id = ?", e.admA.ID).Update("bcc_email", "").Error)

	// An unsaved SMS longer than one segment when one was asked for: a warning.
	long := "Beste #customer_name, factuur #invoice_number van #open_amount staat nog open sinds #due_date. " +
		"Betaal vandaag via #portal_link of bel ons terug als u vragen heeft over deze factuur."
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "sms", "channel": "sms", "language": "nl",
		"body": long, "invoice_id": inv.ID, "max_segments": 1})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	p = api.PreviewView{}
	r.json(t, &p)
	require.Equal(t, "+32470123456", p.Recipient)
	require.Equal(t, "GSM-7", p.Encoding)
	require.Greater(t, p.Characters, 160)
	require.Equal(t, len([]rune(p.Text)), p.Characters)
	require.Equal(t, 2, p.Segments)
	require.Len(t, p.Warnings, 1)
	require.Contains(t, p.Warnings[0], "2 segments")
	require.Zero(t, p.TemplateID)

	// A short one with a character outside GSM-7 is UCS-2, in one segment.
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "sms", "channel": "sms", "language": "nl",
		"body": "Factuur #invoice_number ✓", "customer_id": cust.ID, "max_segments": 1})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	p = api.PreviewView{}
	r.json(t, &p)
	require.Equal(t, "UCS-2", p.Encoding)
	require.Equal(t, 1, p.Segments)
	require.Empty(t, p.Warnings)

	// A letter about the customer (a statement) comes as a PDF.
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "statement", "channel": "post", "language": "fr",
		"subject": "Relevé #customer_name", "body": "Madame, Monsieur,\n\n#items_list\n\nTotal : #total_due", "customer_id": cust.ID})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	p = api.PreviewView{}
	r.json(t, &p)
	require.True(t, bytes.HasPrefix(p.PDFBase64, []byte("%PDF-")), "a PDF")
	require.Regexp(t, `1[\s\x{a0}\x{202f}]234,56`, p.Text, "French money format")
	require.True(t, strings.HasPrefix(p.Subject, "Relevé <script>"), "a letter is not HTML: the name is printed as written")

	// Refusals.
	pr := e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "sms", "channel": "sms", "language": "nl",
		"body": "Betaal #bedrag", "invoice_id": inv.ID}).problem(t, http.StatusUnprocessableEntity)
	require.Contains(t, pr.Detail, "#bedrag")
	e.call("POST", "/api/v1/templates/preview", e.keyB, map[string]any{"template_id": tpl.ID, "invoice_id": inv.ID}).problem(t, http.StatusNotFound)
	e.call("POST", "/api/v1/templates/preview", e.keyB, map[string]any{"kind": "sms", "channel": "sms", "language": "nl", "body": "x", "invoice_id": inv.ID}).problem(t, http.StatusNotFound)
	e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"template_id": tpl.ID, "invoice_id": inv.ID, "customer_id": cust.ID}).problem(t, http.StatusBadRequest)
	e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"template_id": tpl.ID}).problem(t, http.StatusBadRequest)
	e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"template_id": tpl.ID, "body": "x", "invoice_id": inv.ID}).problem(t, http.StatusBadRequest)
	require.Equal(t, messages, e.count(&models.Message{}), "a preview sends nothing")
}

// testMessagePreview: a stored outbox row is served as it was rendered,
// with the template version it was written from; another organization's is
// not found.
func testMessagePreview(t *testing.T, e *apiEnv) {
	tplID := int64(77)
	sent := time.Now().UTC().Truncate(time.Second)
	m := models.Message{Key: fmt.Sprintf("preview-%d", time.Now().UnixNano()), AdministrationID: e.admA.ID, CustomerID: e.custA.ID,
		WorkflowID: "invoice:x", Step: 1, Kind: "reminder", Channel: "email", State: models.MessageSent, Recipient: "klant@example.com",
		Subject: "Herinnering F-1", BodyHTML: "<!DOCTYPE html><p>Beste &lt;klant&gt;</p>", BodyText: "Beste <klant>",
		TemplateID: &tplID, TemplateVersion: 3, DeliveryStatus: "delivered", SentAt: &sent,
		To: models.AddressList{"klant@example.com"}, Cc: models.AddressList{"cfo@example.com"}, Bcc: models.AddressList{"archive@example.com"}}
	require.NoError(t, e.db.Create(&m).Error)
	path := fmt.Sprintf("/api/v1/messages/%d/preview", m.ID)
	r := e.call("GET", path, e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var got api.MessagePreview
	r.json(t, &got)
	require.Equal(t, m.BodyHTML, got.HTML, "byte for byte")
	require.Equal(t, m.BodyText, got.Text)
	require.Equal(t, m.Subject, got.Subject)
	require.Equal(t, "klant@example.com", got.Recipient)
	require.Equal(t, []string{"klant@example.com"}, got.To)
	require.Equal(t, []string{"cfo@example.com"}, got.Cc)
	require.Equal(t, []string{"archive@example.com"}, got.Bcc, "who it really went to, the blind copy included")
	require.Equal(t, models.MessageSent, got.State)
	require.Equal(t, "delivered", got.DeliveryStatus)
	require.Equal(t, tplID, *got.TemplateID)
	require.Equal(t, 3, got.TemplateVersion)
	require.True(t, sent.Equal(*got.SentAt))
	e.call("GET", path, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", fmt.Sprintf("/api/v1/messages/%d/preview", m.ID+1000), e.keyA, nil).problem(t, http.StatusNotFound)
}

// testBundleTemplates: the bundles' texts are templates of kinds
// bundle_reminder, bundle_final_reminder and bundle_sms, served and edited
// by the template routes like every other; they may not use the tags about
// one invoice, and their preview lists the customer's invoices with their
// steps.
func testBundleTemplates(t *testing.T, e *apiEnv) {
	list := e.templates(t)
	for _, d := range render.TemplateDefaults() {
		if _, ok := render.BundleStep(d.Kind); !ok {
			continue
		}
		v, ok := list["default/"+d.Kind+"/"+d.Channel+"/"+d.Language]
		require.True(t, ok, "%s/%s/%s listed", d.Kind, d.Channel, d.Language)
		require.Equal(t, "shipped", string(v.Source))
		require.Equal(t, d.Body, v.Body)
		require.Equal(t, d.Subject, v.Subject)
	}
	require.Contains(t, list["default/bundle_final_reminder/post/de"].Body, "#items_list")
	require.Contains(t, list["default/bundle_sms/sms/fr"].Body, "#items_list")

	// Saved and versioned like any template.
	path := fmt.Sprintf("/api/v1/administrations/%d/templates", e.admA.ID)
	r := e.call("POST", path, e.keyA, map[string]any{"kind": "bundle_reminder", "channel": "email", "language": "fr",
		"subject": "Vos #items_count factures", "body": "<p>Bonjour #customer_name, reste dû #total_due.</p><p>#items_list</p><p>#portal_link</p>"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var tpl api.TemplateView
	r.json(t, &tpl)
	require.Equal(t, "bundle_reminder", tpl.Kind)
	require.Equal(t, 1, tpl.Version)
	require.Equal(t, tpl.ID, e.templates(t)["default/bundle_reminder/email/fr"].ID, "the override replaces the shipped bundle text")
	one := fmt.Sprintf("/api/v1/templates/%d", tpl.ID)
	r = e.call("PUT", one, e.keyA, map[string]any{"subject": "Vos #items_count factures impayées", "body": "<p>Reste dû #total_due (#overdue_amount échus).</p><p>#items_list</p>"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &tpl)
	require.Equal(t, 2, tpl.Version)
	r = e.call("GET", one+"/versions", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status)
	var versions struct {
		Data []api.TemplateVersionView `json:"data"`
	}
	r.json(t, &versions)
	require.Len(t, versions.Data, 2)
	require.Equal(t, "Vos #items_count factures", versions.Data[1].Subject)

	// Refused: a tag about one invoice, a channel the bundle does not go by,
	// a kind without a bundle, changing the kind; nothing is written.
	templates, stored := e.count(&models.Template{}), e.count(&models.TemplateVersion{})
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		field  string
		detail string
	}{
		{"an invoice tag in the subject", map[string]any{"kind": "bundle_reminder", "channel": "email", "language": "nl",
			"subject": "Factuur #invoice_number", "body": "#items_list"}, 422, "subject", "#invoice_number"},
		{"an invoice tag in the body", map[string]any{"kind": "bundle_final_reminder", "channel": "post", "language": "de",
			"subject": "Mahnung", "body": "Fällig seit #due_date\n\n#items_list"}, 422, "body", "#due_date"},
		{"an invoice tag in an SMS", map[string]any{"kind": "bundle_sms", "channel": "sms", "language": "en",
			"body": "#open_amount open, #portal_home"}, 422, "body", "#items_list"},
		{"a bundle SMS by email", map[string]any{"kind": "bundle_sms", "channel": "email", "language": "en", "subject": "S",
			"body": "#items_list"}, 400, "kind", "bundle_sms"},
		{"a bundle reminder by SMS", map[string]any{"kind": "bundle_reminder", "channel": "sms", "language": "en",
			"body": "#items_list"}, 400, "kind", "bundle_reminder"},
		{"a kind without a bundle", map[string]any{"kind": "bundle_invoice", "channel": "email", "language": "en", "subject": "S",
			"body": "#items_list"}, 400, "kind", "bundle_invoice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.call("POST", path, e.keyA, c.body).problem(t, c.status)
			require.Equal(t, c.field, p.Field)
			require.Contains(t, p.Detail, c.detail)
		})
	}
	p := e.call("PUT", one, e.keyA, map[string]any{"subject": "S #invoice_number", "body": "#items_list"}).problem(t, http.StatusUnprocessableEntity)
	require.Equal(t, "subject", p.Field)
	e.call("PUT", one, e.keyA, map[string]any{"kind": "reminder", "subject": "S", "body": "#items_list"}).problem(t, http.StatusUnprocessableEntity)
	require.Equal(t, templates, e.count(&models.Template{}))
	require.Equal(t, stored, e.count(&models.TemplateVersion{}))

	// Another organization sees none of it.
	e.call("GET", one, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", one+"/versions", e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("PUT", one, e.keyB, map[string]any{"subject": "S", "body": "#items_list"}).problem(t, http.StatusNotFound)
	e.call("DELETE", one, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("POST", path, e.keyB, map[string]any{"kind": "bundle_sms", "channel": "sms", "language": "en", "body": "#items_list"}).problem(t, http.StatusNotFound)
	r = e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/templates", e.admB.ID), e.keyB, nil)
	require.Equal(t, http.StatusOK, r.status)
	var bList templateList
	r.json(t, &bList)
	for _, v := range bList.Data {
		require.Zero(t, v.ID, "B has only the shipped texts: %s/%s/%s", v.Kind, v.Channel, v.Language)
	}

	// Preview: the customer's open invoices, each with its step (a pending
	// bundle request's, else the previewed kind's), and no single invoice.
	now := time.Now().UTC()
	cust := models.Customer{AdministrationID: e.admA.ID, ExternalRef: "C-BUNDLE-PREVIEW", Name: "Groupe SA", Language: "fr",
		Email: "groupe@example.com", Mobile: "+32470123457", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-bundle"}
	require.NoError(t, e.db.Create(&cust).Error)
	var invs []models.Invoice
	for i := range 3 {
		inv := models.Invoice{AdministrationID: e.admA.ID, CustomerID: cust.ID, Number: fmt.Sprintf("F-BUN-%d", i+1), IssueDate: now.AddDate(0, 0, -40-i),
			DueDate: now.AddDate(0, 0, -10-i), Currency: "EUR", AmountMinor: 10000, OpenMinor: 10000, Status: models.InvoiceOpen, Stage: "scheduled",
			WorkflowID: fmt.Sprintf("preview:F-BUN-%d", i+1)}
		require.NoError(t, e.db.Create(&inv).Error)
		invs = append(invs, inv)
	}
	require.NoError(t, e.db.Create(&models.BundleRequest{AdministrationID: e.admA.ID, CustomerID: cust.ID, Currency: "EUR", InvoiceID: invs[2].ID,
		WorkflowID: invs[2].WorkflowID, StepKey: "bundle-preview/" + invs[2].Number, Position: 2, Kind: "final_reminder", Anchor: now,
		State: models.BundlePending}).Error)
	messages := e.count(&models.Message{})
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"template_id": tpl.ID, "customer_id": cust.ID})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var pv api.PreviewView
	r.json(t, &pv)
	require.Equal(t, tpl.ID, pv.TemplateID)
	require.Equal(t, 2, pv.TemplateVersion)
	require.Equal(t, "bundle_reminder", pv.Kind)
	require.Equal(t, "Vos 3 factures impayées", pv.Subject)
	require.Empty(t, pv.Warnings)
	for _, inv := range invs {
		require.Contains(t, pv.HTML, inv.Number)
	}
	require.Regexp(t, `F-BUN-3 .* `+render.StepLabel("final_reminder", "fr")+`\n`, pv.Text, "the step column: the pending request's step")
	require.Regexp(t, `F-BUN-1 .* `+render.StepLabel("reminder", "fr")+`\n`, pv.Text, "else the previewed kind's")
	require.Regexp(t, `300,00`, pv.Text, "#total_due over the three")

	// Asked about one invoice: its customer's bundle; a letter as PDF.
	shipped, ok := render.TemplateDefault("bundle_final_reminder", "post", "fr")
	require.True(t, ok)
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "bundle_final_reminder", "channel": "post", "language": "fr",
		"subject": shipped.Subject, "body": shipped.Body, "invoice_id": invs[0].ID})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	pv = api.PreviewView{}
	r.json(t, &pv)
	require.True(t, bytes.HasPrefix(pv.PDFBase64, []byte("%PDF-")))
	require.Equal(t, "Dernier rappel : 3 factures impayées", pv.Subject)
	require.Contains(t, pv.Text, "300,00", "#total_due over the three (the items table is in the PDF)")

	// A bundle SMS; a customer with one invoice gets a warning.
	single := models.Customer{AdministrationID: e.admA.ID, ExternalRef: "C-BUNDLE-ONE", Name: "Seul", Language: "en",
		Mobile: "+32470123458", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-one"}
	require.NoError(t, e.db.Create(&single).Error)
	require.NoError(t, e.db.Create(&models.Invoice{AdministrationID: e.admA.ID, CustomerID: single.ID, Number: "F-ONE-1", IssueDate: now.AddDate(0, 0, -40),
		DueDate: now.AddDate(0, 0, -10), Currency: "EUR", AmountMinor: 5000, OpenMinor: 5000, Status: models.InvoiceOpen, Stage: "scheduled", WorkflowID: "preview:F-ONE-1"}).Error)
	r = e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "bundle_sms", "channel": "sms", "language": "en",
		"body": "#company_name: #items_list unpaid", "customer_id": single.ID})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	pv = api.PreviewView{}
	r.json(t, &pv)
	require.Equal(t, "+32470123458", pv.Recipient)
	require.Contains(t, pv.Text, "1 open item")
	require.Len(t, pv.Warnings, 1)
	require.Contains(t, pv.Warnings[0], "1 open invoice")

	// Preview refusals: an invoice tag (422), another tenant's template or customer (404).
	pr := e.call("POST", "/api/v1/templates/preview", e.keyA, map[string]any{"kind": "bundle_sms", "channel": "sms", "language": "en",
		"body": "#invoice_number", "customer_id": cust.ID}).problem(t, http.StatusUnprocessableEntity)
	require.Contains(t, pr.Detail, "#invoice_number")
	e.call("POST", "/api/v1/templates/preview", e.keyB, map[string]any{"template_id": tpl.ID, "customer_id": cust.ID}).problem(t, http.StatusNotFound)
	e.call("POST", "/api/v1/templates/preview", e.keyB, map[string]any{"kind": "bundle_sms", "channel": "sms", "language": "en",
		"body": "#items_list", "customer_id": cust.ID}).problem(t, http.StatusNotFound)
	require.Equal(t, messages, e.count(&models.Message{}), "a preview sends nothing")

	// Deleting the override brings the shipped bundle text back.
	require.Equal(t, http.StatusNoContent, e.call("DELETE", one, e.keyA, nil).status)
	require.Equal(t, "shipped", string(e.templates(t)["default/bundle_reminder/email/fr"].Source))
}
