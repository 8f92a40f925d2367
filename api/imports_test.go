package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/workflows"
)

func (e *apiEnv) importFile(t *testing.T, adm models.Administration, query, contentType string, body []byte) response {
	t.Helper()
	return e.do("POST", fmt.Sprintf("/api/v1/administrations/%d/imports%s", adm.ID, query), e.keyA, bytes.NewReader(body), contentType)
}

// rowCounts is what an import may write in an administration.
func (e *apiEnv) rowCounts(t *testing.T, adm models.Administration) [3]int64 {
	t.Helper()
	var out [3]int64
	for i, m := range []any{&models.Customer{}, &models.Invoice{}, &models.ImportRun{}} {
		require.NoError(t, e.db.Model(m).Where("administration_id = ?", adm.ID).Count(&out[i]).Error)
	}
	return out
}

// invoiceRows is the invoices as an import decides them. The worker writes
// stage and attention (and so updated_at) while journeys run beside the
// test, so they are left out; the revision counts every change of amount or
// status, so an import that changed nothing leaves it as it was.
func (e *apiEnv) invoiceRows(t *testing.T, adm models.Administration) []string {
	t.Helper()
	var invs []models.Invoice
	require.NoError(t, e.db.Where("administration_id = ?", adm.ID).Order("number").Find(&invs).Error)
	out := make([]string, len(invs))
	for i, v := range invs {
		out[i] = fmt.Sprintf("%d %s %d %s %s %d %d %s %s rev=%d", v.ID, v.Number, v.CustomerID, v.DueDate.UTC().Format(time.DateOnly),
			v.Currency, v.AmountMinor, v.OpenMinor, v.Status, v.WorkflowID, v.Revision)
	}
	return out
}

// testImportExport imports the Dutch/Belgian export of app/testdata
// through the API into a fresh administration: the report is the one the
// app's own tests expect of it (400 rows, 36 rejected with one error
// each but one with two, two malformed emails as warnings, 57 customers and
// 364 invoices created, 265 open ones with a journey), and importing it
// again changes nothing.
func testImportExport(t *testing.T, e *apiEnv) {
	data, err := os.ReadFile("../app/testdata/export_nl.csv")
	require.NoError(t, err)
	require.Greater(t, len(data), 4096, "the file is over MaxBodyBytes: the import route has its own limit")
	adm := e.newAdministration(t)
	parsed, err := importer.ParseCSV(bytes.NewReader(data), importer.Options{DefaultCurrency: "EUR", DefaultCountry: "NL", DefaultLanguage: "nl"})
	require.NoError(t, err)
	sum := sha256.Sum256(data)

	r := e.importFile(t, adm, "", "text/csv; charset=utf-8", data)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var rep domain.ImportReport
	r.json(t, &rep)
	require.Positive(t, rep.ImportID)
	require.Equal(t, fmt.Sprintf("/api/v1/imports/%d", rep.ImportID), r.header.Get("Location"))
	want := domain.ImportReport{
		ImportID: rep.ImportID, Format: "csv", FileSHA256: hex.EncodeToString(sum[:]), Rows: 400,
		Customers:       domain.ImportCustomerCounts{Created: 57},
		Invoices:        domain.ImportInvoiceCounts{Created: 364, Rejected: 36},
		JourneysStarted: 265,
		Skipped:         []domain.ImportSkippedCustomer{},
		Ignored:         []importer.IgnoredColumn{},
	}
	for _, x := range parsed.Rejected {
		want.Rejected = append(want.Rejected, domain.ImportRowError{Line: x.Line, Field: x.Field, Value: x.Value, Reason: x.Reason})
	}
	for _, x := range parsed.Warnings {
		want.Warnings = append(want.Warnings, domain.ImportRowError{Line: x.Line, Field: x.Field, Value: x.Value, Reason: x.Reason})
	}
	require.Len(t, want.Rejected, 37)
	require.Len(t, rep.Lines, 400)
	require.Len(t, rep.Columns, 16)
	want.Lines, want.Columns = rep.Lines, rep.Columns
	require.Equal(t, want, rep)
	// Every rejected row is named with its line, field and reason.
	require.Contains(t, rep.Rejected, domain.ImportRowError{Line: 53, Field: "amount", Value: "-12,50", Reason: "negative amount (credit notes are not imported as invoices)"})
	require.Contains(t, rep.Rejected, domain.ImportRowError{Line: 105, Field: "currency", Value: "XYZ", Reason: "unknown currency XYZ"})
	require.Contains(t, rep.Rejected, domain.ImportRowError{Line: 217, Field: "invoice_number", Value: "F2026-DUP1", Reason: "duplicate invoice number in this file (lines 217, 268)"})
	require.Equal(t, [3]int64{57, 364, 1}, e.rowCounts(t, adm))
	var inv models.Invoice
	require.NoError(t, e.db.Where("administration_id = ? AND number = ?", adm.ID, "F2026-0002").First(&inv).Error)
	require.EqualValues(t, 326873, inv.OpenMinor)
	require.NotEmpty(t, inv.WorkflowID)
	e.journeyState(t, inv.WorkflowID, func(st workflows.JourneyState) bool { return st.OpenMinor == 326873 })

	// The stored run has the same report.
	r = e.call("GET", fmt.Sprintf("/api/v1/imports/%d", rep.ImportID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var run api.ImportRunView
	r.json(t, &run)
	require.NotNil(t, run.Report)
	require.Equal(t, rep, *run.Report)
	require.Equal(t, adm.ID, run.AdministrationID)
	require.Equal(t, 364, run.Summary.Invoices.Created)
	e.call("GET", fmt.Sprintf("/api/v1/imports/%d", rep.ImportID), e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", fmt.Sprintf("/api/v1/imports/%d", rep.ImportID), "rl_000000000000_deadbeef", nil).problem(t, http.StatusUnauthorized)

	// Again: a no-op.
	invBefore := e.invoiceRows(t, adm)
	r = e.importFile(t, adm, "", "text/csv", data)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var again domain.ImportReport
	r.json(t, &again)
	want.ImportID = again.ImportID
	want.Customers = domain.ImportCustomerCounts{Unchanged: 57}
	want.Invoices = domain.ImportInvoiceCounts{Unchanged: 364, Rejected: 36}
	want.JourneysStarted = 0
	want.Lines = again.Lines
	require.Equal(t, want, again)
	require.Equal(t, invBefore, e.invoiceRows(t, adm))
	require.Equal(t, [3]int64{57, 364, 2}, e.rowCounts(t, adm))

	// Both runs are listed, oldest first, with their counts.
	r = e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/imports?limit=1", adm.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var page api.Page[api.ImportRunView]
	r.json(t, &page)
	require.Len(t, page.Data, 1)
	require.Equal(t, rep.ImportID, page.Data[0].ID)
	require.Nil(t, page.Data[0].Report, "lists carry the counts only")
	require.Equal(t, 265, page.Data[0].Summary.JourneysStarted)
	require.NotZero(t, page.Next)
	r = e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/imports?limit=1&cursor=%d", adm.ID, page.Next), e.keyA, nil)
	page = api.Page[api.ImportRunView]{}
	r.json(t, &page)
	require.Len(t, page.Data, 1)
	require.Equal(t, again.ImportID, page.Data[0].ID)
	require.Equal(t, 364, page.Data[0].Summary.Invoices.Unchanged)
	require.Zero(t, page.Next)
	e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/imports", adm.ID), e.keyB, nil).problem(t, http.StatusNotFound)
}

const csvHeader = "Factuurnummer,Debiteurnummer,Naam,E-mail,Factuurdatum,Vervaldatum,Valuta,Bedrag,Openstaand\n"

// csvRow is one invoice row of csvHeader, due in 30 days.
func csvRow(number, ref, name, currency, amount string) string {
	issue := time.Now().UTC().Format("2006-01-02")
	due := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	return fmt.Sprintf("%s,%s,%s,,%s,%s,%s,%s,%s\n", number, ref, name, issue, due, currency, amount, amount)
}

// multipartBody builds a form with the given file part and fields.
func multipartBody(t *testing.T, fileName, fileType string, file []byte, fields map[string]string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	if file != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName))
		if fileType != "" {
			h.Set("Content-Type", fileType)
		}
		part, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = part.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return b.Bytes(), w.FormDataContentType()
}

func testImportFormats(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	// Duplicate numbers, a negative amount and an unknown currency reject
	// their rows; the others are imported.
	file := csvHeader +
		csvRow("M-1", "K1", "Klant Een", "EUR", "100.00") +
		csvRow("M-2", "K1", "Klant Een", "EUR", "200.00") +
		csvRow("M-2", "K2", "Klant Twee", "EUR", "300.00") +
		csvRow("M-3", "K2", "Klant Twee", "EUR", "-5.00") +
		csvRow("M-4", "K2", "Klant Twee", "XYZ", "5.00") +
		csvRow("M-5", "K3", "Klant Drie", "EUR", "12.50")
	body, ct := multipartBody(t, "export.csv", "", []byte(file), nil)
	r := e.importFile(t, adm, "", ct, body)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var rep domain.ImportReport
	r.json(t, &rep)
	require.Equal(t, "csv", rep.Format)
	require.Equal(t, 6, rep.Rows)
	require.Equal(t, domain.ImportInvoiceCounts{Created: 2, Rejected: 4}, rep.Invoices)
	require.Equal(t, 2, rep.JourneysStarted)
	lines := map[int][]string{}
	for _, x := range rep.Rejected {
		lines[x.Line] = append(lines[x.Line], x.Field)
	}
	require.Equal(t, map[int][]string{3: {"invoice_number"}, 4: {"invoice_number"}, 5: {"amount", "open_amount"}, 6: {"currency"}}, lines)
	var numbers []string
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("administration_id = ?", adm.ID).Order("number").Pluck("number", &numbers).Error)
	require.Equal(t, []string{"M-1", "M-5"}, numbers)

	// JSON, by Content-Type; a full snapshot closes M-5, which it no longer lists.
	js := `{"rows": [{"invoice_number": "M-1", "customer_ref": "K1", "customer_name": "Klant Een", "issue_date": "` +
		time.Now().UTC().Format("2006-01-02") + `", "due_date": "` + time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02") +
		`", "currency": "EUR", "amount": 100, "open_amount": 100}]}`
	r = e.importFile(t, adm, "?full_snapshot=true", "application/json", []byte(js))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	r.json(t, &rep)
	require.Equal(t, "json", rep.Format)
	require.True(t, rep.FullSnapshot)
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1, ClosedAbsent: 1}, rep.Invoices)
	var m5 models.Invoice
	require.NoError(t, e.db.Where("administration_id = ? AND number = ?", adm.ID, "M-5").First(&m5).Error)
	require.Equal(t, models.InvoicePaid, m5.Status)

	// JSON inside a form, told by the file name; the snapshot flag as a field.
	body, ct = multipartBody(t, "export.json", "application/octet-stream", []byte(js), map[string]string{"full_snapshot": "false"})
	r = e.importFile(t, adm, "", ct, body)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	r.json(t, &rep)
	require.Equal(t, "json", rep.Format)
	require.False(t, rep.FullSnapshot)
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1}, rep.Invoices)
}

func testImportBadFiles(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	before := e.rowCounts(t, adm)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	good := csvHeader + csvRow("G-1", "K1", "Klant Een", "EUR", "10.00")
	pngForm, pngFormCT := multipartBody(t, "logo.png", "image/png", png, nil)
	noFile, noFileCT := multipartBody(t, "", "", nil, map[string]string{"full_snapshot": "true"})
	extra, extraCT := multipartBody(t, "export.csv", "text/csv", []byte(good), map[string]string{"comment": "hi"})
	for _, c := range []struct {
		name        string
		query       string
		contentType string
		body        []byte
		status      int
		field       string
		detail      string
	}{
		{"PNG bytes as CSV", "", "text/csv", png, 400, "file", "not a CSV"},
		{"PNG in a form", "", pngFormCT, pngForm, 400, "file", "not a CSV"},
		{"CSV given as JSON", "", "application/json", []byte(good), 400, "file", "not a JSON"},
		{"wrong header", "", "text/csv", []byte("Nummer;Klant;Bedrag\n1;2;3\n"), 422, "file", "header"},
		{"header only", "", "text/csv", []byte(csvHeader), 422, "file", "no data rows"},
		{"empty", "", "text/csv", nil, 422, "file", "no data rows"},
		{"form without a file", "", noFileCT, noFile, 400, "file", "no file part"},
		{"unknown form field", "", extraCT, extra, 400, "comment", "unknown form field"},
		{"bad full_snapshot", "?full_snapshot=perhaps", "text/csv", []byte(good), 400, "full_snapshot", "true or false"},
		{"no content type", "", "", []byte(good), 400, "Content-Type", "required"},
		{"unsupported content type", "", "application/pdf", []byte(good), 415, "Content-Type", "text/csv"},
		{"a CSV sent as XLSX", "", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []byte(good), 400, "file", "not an Excel .xlsx workbook"},
		{"an XLSX that is not one", "", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []byte("PK\x03\x04\x14\x00broken"), 400, "file", "not an Excel .xlsx workbook"},
		{"bad report format", "?format=pdf", "text/csv", []byte(good), 400, "format", "json or csv"},
		{"bad dry_run", "?dry_run=maybe", "text/csv", []byte(good), 400, "dry_run", "true or false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.importFile(t, adm, c.query, c.contentType, c.body).problem(t, c.status)
			require.Equal(t, c.field, p.Field, p.Detail)
			require.Contains(t, p.Detail, c.detail)
		})
	}
	require.Equal(t, before, e.rowCounts(t, adm), "a refused file wrote something")

	// Another tenant's administration, a wrong key.
	r := e.do("POST", fmt.Sprintf("/api/v1/administrations/%d/imports", e.admB.ID), e.keyA, strings.NewReader(good), "text/csv")
	r.problem(t, http.StatusNotFound)
	r = e.do("POST", fmt.Sprintf("/api/v1/administrations/%d/imports", adm.ID), "rl_000000000000_deadbeef", strings.NewReader(good), "text/csv")
	r.problem(t, http.StatusUnauthorized)
	require.Equal(t, before, e.rowCounts(t, adm))
	var n int64
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("administration_id = ?", e.admB.ID).Count(&n).Error)
	require.Zero(t, n)
}

// zeros is an endless-looking upload: it counts what the client sent.
type zeros struct {
	size, read int64
}

func (z *zeros) Read(p []byte) (int, error) {
	if z.read >= z.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.size-z.read))
	clear(p[:n])
	z.read += int64(n)
	return n, nil
}

// testImportTooLarge: above MaxImportBytes the answer is 413, whether the
// size is declared or the body is streamed, and a 200 MB upload is not read
// to its end; nothing is imported.
func testImportTooLarge(t *testing.T, e *apiEnv) {
	const limit = 8 << 10
	cfg := config.Config{MaxBodyBytes: 4096, MaxImportBytes: limit, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
	srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: e.db, Temporal: e.tc}), Inbound: inbound.NewRecorder(e.db, nil), Config: cfg, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}))
	t.Cleanup(srv.Close)
	small := &apiEnv{t: t, db: e.db, tc: e.tc, srv: srv, keyA: e.keyA, keyB: e.keyB, admA: e.admA, admB: e.admB}
	adm := e.newAdministration(t)
	before := e.rowCounts(t, adm)

	var file strings.Builder
	file.WriteString(csvHeader)
	for i := 0; file.Len() <= limit; i++ {
		file.WriteString(csvRow(fmt.Sprintf("BIG-%d", i), "K1", "Klant Een", "EUR", "10.00"))
	}
	p := small.importFile(t, adm, "", "text/csv", []byte(file.String())).problem(t, http.StatusRequestEntityTooLarge)
	require.Contains(t, p.Detail, fmt.Sprintf("the limit of %d bytes (RELANCE_MAX_IMPORT_BYTES)", limit), "the limit as documented, without the multipart slack")
	form, ct := multipartBody(t, "export.csv", "text/csv", []byte(file.String()), nil)
	small.importFile(t, adm, "", ct, form).problem(t, http.StatusRequestEntityTooLarge)

	const huge = 200 << 20
	for _, declared := range []bool{true, false} {
		t.Run(fmt.Sprintf("200 MB, length declared %v", declared), func(t *testing.T) {
			body := &zeros{size: huge}
			req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/administrations/%d/imports", srv.URL, adm.ID), body)
			require.NoError(t, err)
			if declared {
				req.ContentLength = huge
			}
			req.Header.Set("Authorization", "Bearer "+e.keyA)
			req.Header.Set("Content-Type", "text/csv")
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			response{status: res.StatusCode, header: res.Header, body: b}.problem(t, http.StatusRequestEntityTooLarge)
			require.Less(t, body.read, int64(huge/4), "the server read far past the limit")
			t.Logf("client sent %d bytes of %d", body.read, huge)
		})
	}

	// A file within the limit goes through, above MaxBodyBytes.
	within := csvHeader
	for i := 0; len(within)+200 < limit; i++ {
		within += csvRow(fmt.Sprintf("OK-%d", i), "K1", "Klant Een", "EUR", "10.00")
	}
	require.Greater(t, len(within), 4096)
	require.Equal(t, before, e.rowCounts(t, adm), "a refused upload wrote something")
	r := small.importFile(t, adm, "", "text/csv", []byte(within))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
}

// testImportMappingAndReports: a column mapping saved through the API is
// used by later imports; bad mappings are problems and save nothing; a dry
// run writes nothing; the report comes as CSV when asked; an .xlsx export
// is imported as it is.
func testImportMappingAndReports(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	path := fmt.Sprintf("/api/v1/administrations/%d/import-mapping", adm.ID)
	custom, err := os.ReadFile("../app/testdata/exports/afas_custom_nl.csv")
	require.NoError(t, err)

	// Without a mapping the export's names are not recognised: 422.
	p := e.importFile(t, adm, "", "text/csv", custom).problem(t, http.StatusUnprocessableEntity)
	require.Contains(t, p.Detail, `missing required column "customer_ref"`)

	r := e.call("GET", path, e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.JSONEq(t, `{"columns": {}}`, string(r.body))
	before := e.rowCounts(t, adm)
	for _, c := range []struct {
		name   string
		body   string
		status int
		field  string
		detail string
	}{
		{"unknown field", `{"columns": {"customer_ref": "Deb. nr.", "debtor_colour": "Kleur"}}`, 400, "columns.debtor_colour", "unknown field"},
		{"required field unmapped", `{"columns": {"customer_ref": "", "customer_name": "Omschr. debiteur"}}`, 422, "columns.customer_ref", "a required field cannot be left without a column"},
		{"one column for two fields", `{"columns": {"amount": "Bedrag", "open_amount": "Bedrag"}}`, 422, "columns.open_amount", "already mapped"},
		{"no columns", `{}`, 400, "columns", "required"},
		{"not a string", `{"columns": {"amount": 3}}`, 400, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.call("PUT", path, e.keyA, c.body).problem(t, c.status)
			if c.field != "" {
				require.Equal(t, c.field, p.Field, p.Detail)
			}
			require.Contains(t, p.Detail, c.detail)
		})
	}
	r = e.call("GET", path, e.keyA, nil)
	require.JSONEq(t, `{"columns": {}}`, string(r.body), "nothing saved")
	require.Equal(t, before, e.rowCounts(t, adm))
	e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/import-mapping", e.admB.ID), e.keyA, nil).problem(t, http.StatusNotFound)
	e.call("PUT", fmt.Sprintf("/api/v1/administrations/%d/import-mapping", e.admB.ID), e.keyA, `{"columns": {}}`).problem(t, http.StatusNotFound)

	mapping := `{"columns": {"customer_ref": "Deb. nr.", "customer_name": "Omschr. debiteur", "invoice_number": "Fact.nr",
		"issue_date": "Fact.datum", "due_date": "Verv.datum", "amount": "Bedrag incl.", "open_amount": "Nog open"}}`
	r = e.call("PUT", path, e.keyA, mapping)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r = e.call("GET", path, e.keyA, nil)
	require.JSONEq(t, mapping, string(r.body))

	// A dry run: the report, nothing written.
	r = e.importFile(t, adm, "?dry_run=true", "text/csv", custom)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var dry domain.ImportReport
	r.json(t, &dry)
	require.True(t, dry.DryRun)
	require.Equal(t, domain.ImportInvoiceCounts{Created: 2}, dry.Invoices)
	require.Equal(t, 2, dry.JourneysToStart)
	require.Equal(t, before, e.rowCounts(t, adm), "a dry run writes nothing")

	// For real, the report as CSV.
	r = e.importFile(t, adm, "?format=csv", "text/csv", custom)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
	report := string(r.body)
	require.True(t, strings.HasPrefix(report, "record,line,invoice_number,customer_ref,outcome,customer,field,value,reason\n"), report)
	require.Contains(t, report, "count,,,,,,invoices.created,2,\n")
	require.Contains(t, report, "column,,,,,,customer_ref,Deb. nr.,mapping\n")
	require.Contains(t, report, "ignored_column,,,,,,,Ouderdom,\n")
	require.Contains(t, report, "row,3,A-1002,2002,created,created,,,\n")
	require.Equal(t, [3]int64{2, 2, 1}, e.rowCounts(t, adm))

	// The stored run's report as CSV, asked with Accept.
	var runs api.Page[api.ImportRunView]
	e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/imports", adm.ID), e.keyA, nil).json(t, &runs)
	require.Len(t, runs.Data, 1)
	req, err := http.NewRequest("GET", e.srv.URL+fmt.Sprintf("/api/v1/imports/%d", runs.Data[0].ID), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.keyA)
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, report, string(body), "the stored report, the same CSV")

	// An .xlsx export (Lexware), uploaded as a form file.
	xlsx, err := os.ReadFile("../app/testdata/exports/lexware_de.xlsx")
	require.NoError(t, err)
	other := e.newAdministration(t)
	form, ct := multipartBody(t, "OPOS.xlsx", "application/octet-stream", xlsx, nil)
	r = e.importFile(t, other, "", ct, form)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var rep domain.ImportReport
	r.json(t, &rep)
	require.Equal(t, "xlsx", rep.Format)
	require.Equal(t, domain.ImportInvoiceCounts{Created: 3}, rep.Invoices)
	require.Equal(t, []importer.IgnoredColumn{{Column: "Zahlungsart"}, {Column: "Bemerkung"}}, rep.Ignored)
}
