package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

// impNamespaces are pre-created on the dev server: each database of each
// test gets its own, so that its worker (bound to that database) only ever
// runs its own journeys.
var impNamespaces = []string{"imp0", "imp1", "imp2", "imp3", "imp4", "imp5", "imp6", "imp7", "imp8", "imp9", "imp10", "imp11", "imp12", "imp13"}

var impNext atomic.Int32

// impDevServer starts one real Temporal dev server with the namespaces.
func impDevServer(t testing.TB, namespaces ...string) *testsuite.DevServer {
	t.Helper()
	var args []string
	for _, ns := range namespaces {
		args = append(args, "--namespace", ns)
	}
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     testkit.TemporalCLI(t),
		LogLevel:         "error",
		SearchAttributes: workflows.SearchAttributes(),
		ClientOptions:    &client.Options{Namespace: "default", Logger: impQuiet()},
		ExtraArgs:        args,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func impQuiet() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }

func impClient(t testing.TB, srv *testsuite.DevServer, ns string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: ns, Logger: impQuiet()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// impEnv is one database with its own namespace, worker and administration.
type impEnv struct {
	db  *gorm.DB
	tc  client.Client
	adm *models.Administration
}

// impSetup gives the test a namespace, a worker running the real workflows
// on gdb (no channels: a step that tries to send records a permanent
// failure; the day is 24h, so nothing else happens during the test) and an
// administration.
func impSetup(t *testing.T, srv *testsuite.DevServer, gdb *gorm.DB, runWorker bool) *impEnv {
	t.Helper()
	i := int(impNext.Add(1)) - 1
	require.Less(t, i, len(impNamespaces), "add namespaces to impNamespaces")
	e := &impEnv{db: gdb, tc: impClient(t, srv, impNamespaces[i])}
	if runWorker {
		acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")},
			Logger: slog.New(slog.DiscardHandler)}
		ws := worker.New(e.tc, acts, worker.Options{})
		for _, w := range ws {
			require.NoError(t, w.Start())
		}
		t.Cleanup(func() {
			for _, w := range ws {
				w.Stop()
			}
		})
	}
	org := models.Organization{Name: "Import BV", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	e.adm = &models.Administration{OrganizationID: org.ID, Name: "Import BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(e.adm).Error)
	return e
}

func impParse(t testing.TB, data []byte, adm *models.Administration) importer.Result {
	t.Helper()
	res, err := importer.ParseCSV(bytes.NewReader(data), importer.Options{DefaultCurrency: adm.Currency, DefaultCountry: adm.Country, DefaultLanguage: adm.Language})
	require.NoError(t, err)
	return res
}

func impRun(t *testing.T, e *impEnv, data []byte, full bool) domain.ImportReport {
	t.Helper()
	sum := sha256.Sum256(data)
	rep, err := app.New(app.Options{DB: e.db, Temporal: e.tc}).Import(context.Background(), e.adm, impParse(t, data, e.adm),
		domain.ImportOptions{FullSnapshot: full, FileSHA256: hex.EncodeToString(sum[:]), Format: "csv"})
	require.NoError(t, err)
	require.Positive(t, rep.ImportID)
	return rep
}

// impCustomerFrom is the customer exactly as an import of row would store it.
func impCustomerFrom(admID int64, c importer.CustomerRow) models.Customer {
	return models.Customer{AdministrationID: admID, ExternalRef: c.Ref, Name: c.Name, LegalID: c.LegalID, Language: c.Language,
		Email: c.Email, Phone: c.Phone, Mobile: app.MobileOf(c.Phone, c.Country), AddressLine1: c.AddressLine1,
		AddressLine2: c.AddressLine2, PostalCode: c.PostalCode, City: c.City, Country: c.Country,
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: app.NewPortalToken()}
}

func impInvoice(t *testing.T, e *impEnv, cust *models.Customer, number string, issue, due time.Time, amount, open int64) *models.Invoice {
	t.Helper()
	inv := &models.Invoice{Number: number, IssueDate: issue, DueDate: due, Currency: "EUR", AmountMinor: amount, OpenMinor: open}
	require.NoError(t, app.New(app.Options{DB: e.db, Temporal: e.tc}).CreateInvoice(context.Background(), e.adm, cust, inv))
	return inv
}

// impWaitOutcome waits for a journey to end and returns its result.
func impWaitOutcome(t *testing.T, tc client.Client, workflowID string) workflows.JourneyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Patience)
	defer cancel()
	var res workflows.JourneyResult
	require.NoError(t, tc.GetWorkflow(ctx, workflowID, "").Get(ctx, &res))
	desc, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	return res
}

// impInvoiceRows is what an import decides about the invoices, for comparing
// the database before and after (the worker keeps stage and attention).
func impInvoiceRows(t *testing.T, gdb *gorm.DB, admID int64) []string {
	t.Helper()
	var invs []models.Invoice
	require.NoError(t, gdb.Where("administration_id = ?", admID).Order("number").Find(&invs).Error)
	out := make([]string, len(invs))
	for i, v := range invs {
		out[i] = fmt.Sprintf("%d %s %d %s %s %s %d %d %s %s", v.ID, v.Number, v.CustomerID, v.IssueDate.UTC().Format(time.DateOnly),
			v.DueDate.UTC().Format(time.DateOnly), v.Currency, v.AmountMinor, v.OpenMinor, v.Status, v.WorkflowID)
	}
	return out
}

func impCustomerRows(t *testing.T, gdb *gorm.DB, admID int64) []string {
	t.Helper()
	var cs []models.Customer
	require.NoError(t, gdb.Where("administration_id = ?", admID).Order("external_ref").Find(&cs).Error)
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%d|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", c.ID, c.ExternalRef, c.Name, c.LegalID, c.Language, c.Email,
			c.ProvidedEmail, c.Phone, c.Mobile, c.AddressLine1, c.AddressLine2, c.PostalCode, c.City, c.Country, c.UpdatedAt.UTC().Format(time.RFC3339Nano))
	}
	return out
}

func TestImport(t *testing.T) {
	// Each run has a dev server of its own: its namespaces are all free
	// (go test -count=2 runs this twice).
	impNext.Store(0)
	srv := impDevServer(t, impNamespaces...)
	impNext.Store(0) // a new server: its namespaces are all free again (go test -count=N)
	t.Run("accounting export", func(t *testing.T) {
		testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) { testImportExport(t, impSetup(t, srv, gdb, true)) })
	})
	t.Run("full snapshot", func(t *testing.T) {
		testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) { testImportSnapshot(t, impSetup(t, srv, gdb, true)) })
	})
	t.Run("exports of accounting packages", func(t *testing.T) {
		testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) { testImportPackages(t, impSetup(t, srv, gdb, true)) })
	})
	t.Run("mapping, dry run, payments, languages", func(t *testing.T) {
		testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) { testImportRules(t, impSetup(t, srv, gdb, false)) })
	})
	t.Run("contact persons", func(t *testing.T) {
		testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) { testImportContacts(t, impSetup(t, srv, gdb, false)) })
	})
	t.Run("an invoice booked on another customer moves", func(t *testing.T) {
		testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) { testImportMovesInvoice(t, impSetup(t, srv, gdb, false)) })
	})
	t.Run("two imports of one file at once", func(t *testing.T) {
		testImportConcurrent(t, impSetup(t, srv, testkit.Postgres(t), false))
	})
}

// testImportExport imports a real-looking Dutch/Belgian export (BOM, ";",
// CRLF, decimal commas, five date formats, 400 rows of which 36 are broken, and two with a malformed email)
// into an administration that already knows four of its customers.
func testImportExport(t *testing.T, e *impEnv) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/export_nl.csv")
	require.NoError(t, err)
	parsed := impParse(t, data, e.adm)
	byRef := map[string]importer.Row{}
	byNumber := map[string]importer.Row{}
	for _, r := range parsed.Rows {
		if _, ok := byRef[r.Customer.Ref]; !ok {
			byRef[r.Customer.Ref] = r
		}
		byNumber[r.Invoice.Number] = r
	}

	// D1001 has an open invoice and other data, and gave its accounting
	// address in the portal: updated, provided email cleared.
	d1001 := impCustomerFrom(e.adm.ID, byRef["D1001"].Customer)
	d1001.Name, d1001.Email, d1001.Phone, d1001.Mobile = "Cafe Lambert", "oud@lambert.example", "", ""
	d1001.ProvidedEmail = "Boekhouding@janssens0.be"
	submitted := time.Now().UTC().Add(-time.Hour)
	d1001.ProvidedEmailAt = &submitted
	require.NoError(t, e.db.Create(&d1001).Error)
	now := time.Now().UTC().Truncate(24 * time.Hour)
	old1 := impInvoice(t, e, &d1001, "OLD-1", now, now.AddDate(0, 0, 30), 10000, 10000)
	// D1018 has other data but only a paid invoice: skipped.
	d1018 := impCustomerFrom(e.adm.ID, byRef["D1018"].Customer)
	d1018.Name = "Drukkerij Léon (oude naam)"
	require.NoError(t, e.db.Create(&d1018).Error)
	require.NoError(t, e.db.Create(&models.Invoice{AdministrationID: e.adm.ID, CustomerID: d1018.ID, Number: "OLD-2", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 500, OpenMinor: 0, Status: models.InvoicePaid, Stage: "paid"}).Error)
	// D1015 and D1022 are as in the file; their invoices F2026-0003 and
	// F2026-0004 are running, and the file brings a partial payment and a
	// full one.
	d1015 := impCustomerFrom(e.adm.ID, byRef["D1015"].Customer)
	require.NoError(t, e.db.Create(&d1015).Error)
	r3 := byNumber["F2026-0003"].Invoice
	inv3 := impInvoice(t, e, &d1015, "F2026-0003", r3.IssueDate, r3.DueDate, r3.AmountMinor, r3.AmountMinor)
	d1022 := impCustomerFrom(e.adm.ID, byRef["D1022"].Customer)
	require.NoError(t, e.db.Create(&d1022).Error)
	r4 := byNumber["F2026-0004"].Invoice
	require.Zero(t, r4.OpenMinor)
	inv4 := impInvoice(t, e, &d1022, "F2026-0004", r4.IssueDate, r4.DueDate, r4.AmountMinor, r4.AmountMinor)

	sum := sha256.Sum256(data)
	rep := impRun(t, e, data, false)
	want := domain.ImportReport{
		ImportID: rep.ImportID, Format: "csv", FileSHA256: hex.EncodeToString(sum[:]), Rows: 400,
		Customers:       domain.ImportCustomerCounts{Created: 53, Updated: 1, Unchanged: 2, Skipped: 1},
		Invoices:        domain.ImportInvoiceCounts{Created: 362, Updated: 2, Unchanged: 0, Rejected: 36},
		JourneysStarted: 264,
		Skipped:         []domain.ImportSkippedCustomer{{Line: 13, CustomerRef: "D1018", Reason: "customer has no open invoice"}},
		Ignored:         []importer.IgnoredColumn{},
	}
	for _, r := range parsed.Rejected {
		want.Rejected = append(want.Rejected, domain.ImportRowError{Line: r.Line, Field: r.Field, Value: r.Value, Reason: r.Reason})
	}
	require.Len(t, want.Rejected, 37, "36 rejected rows, one of them with two errors")
	// Two malformed email addresses are warnings: their invoices are
	// imported (without the address).
	for _, w := range parsed.Warnings {
		want.Warnings = append(want.Warnings, domain.ImportRowError{Line: w.Line, Field: w.Field, Value: w.Value, Reason: w.Reason})
	}
	require.Contains(t, want.Warnings, domain.ImportRowError{Line: 145, Field: "email", Value: "jan@@example",
		Reason: "not a valid email address; the customer is chased without email (by letter when an address is known)"})
	require.Len(t, rep.Columns, 16, "every column of the export is read")
	require.Len(t, rep.Lines, 400, "one outcome per data row")
	want.Columns, want.Lines = rep.Columns, rep.Lines
	require.Equal(t, want, rep)
	require.Contains(t, rep.Rejected, domain.ImportRowError{Line: 53, Field: "amount", Value: "-12,50", Reason: "negative amount (credit notes are not imported as invoices)"})
	require.Contains(t, rep.Rejected, domain.ImportRowError{Line: 105, Field: "currency", Value: "XYZ", Reason: "unknown currency XYZ"})
	require.Contains(t, rep.Rejected, domain.ImportRowError{Line: 217, Field: "invoice_number", Value: "F2026-DUP1", Reason: "duplicate invoice number in this file (lines 217, 268)"})

	// The database holds what the report says.
	var nCust, nInv int64
	require.NoError(t, e.db.Model(&models.Customer{}).Where("administration_id = ?", e.adm.ID).Count(&nCust).Error)
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("administration_id = ?", e.adm.ID).Count(&nInv).Error)
	require.EqualValues(t, 57, nCust)
	require.EqualValues(t, 364+2, nInv, "the file's valid invoices, plus OLD-1 and OLD-2")
	var run models.ImportRun
	require.NoError(t, e.db.First(&run, rep.ImportID).Error)
	var stored domain.ImportReport
	require.NoError(t, json.Unmarshal([]byte(run.Report), &stored))
	stored.ImportID = rep.ImportID
	require.Equal(t, rep, stored)
	require.Equal(t, "csv", run.Format)
	require.Equal(t, rep.FileSHA256, run.FileSHA256)

	// Seed 001: updated because it had an open invoice; the imported email
	// equals the provided one, which leaves "to verify".
	var c models.Customer
	require.NoError(t, e.db.First(&c, d1001.ID).Error)
	require.Equal(t, "Café Lambert NV", c.Name)
	require.Equal(t, "boekhouding@janssens0.be", c.Email)
	require.Empty(t, c.ProvidedEmail)
	require.Nil(t, c.ProvidedEmailAt)
	require.Equal(t, "+32474296194", c.Mobile)
	c = models.Customer{} // First adds a loaded struct's primary key to the query
	require.NoError(t, e.db.First(&c, d1018.ID).Error)
	require.Equal(t, "Drukkerij Léon (oude naam)", c.Name, "no open invoice: not updated")
	// A new customer: every channel on, a portal token.
	c = models.Customer{}
	require.NoError(t, e.db.Where("administration_id = ? AND external_ref = ?", e.adm.ID, "D1008").First(&c).Error)
	require.Equal(t, "Van Dam; Zonen & Co", c.Name)
	// 06-06… is not an allocated Dutch mobile range: the phone is kept as
	// written, and no SMS will go to it.
	require.Equal(t, "06-06151891", c.Phone)
	require.Empty(t, c.Mobile)
	require.Equal(t, models.DefaultCustomerSendSettings(), c.CustomerSendSettings)
	require.Len(t, c.PortalToken, 32)

	// A new open invoice runs its journey; one paid in the file has none.
	var inv models.Invoice
	require.NoError(t, e.db.Where("administration_id = ? AND number = ?", e.adm.ID, "F2026-0002").First(&inv).Error)
	require.Equal(t, models.InvoiceOpen, inv.Status)
	require.EqualValues(t, 326873, inv.OpenMinor)
	desc, err := e.tc.DescribeWorkflowExecution(ctx, workflows.InvoiceWorkflowID(e.adm.ID, "F2026-0002"), "")
	require.NoError(t, err)
	require.Contains(t, desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields(), "RelanceInvoice")
	inv = models.Invoice{}
	require.NoError(t, e.db.Where("administration_id = ? AND number = ?", e.adm.ID, "F2026-0012").First(&inv).Error)
	require.Equal(t, models.InvoicePaid, inv.Status)
	require.Empty(t, inv.WorkflowID)
	_, err = e.tc.DescribeWorkflowExecution(ctx, workflows.InvoiceWorkflowID(e.adm.ID, "F2026-0012"), "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "no journey for an invoice paid before the import")

	// The partial payment reached the running journey; the full one ended it.
	inv = models.Invoice{}
	require.NoError(t, e.db.First(&inv, inv3.ID).Error)
	require.EqualValues(t, 92301, inv.OpenMinor)
	// The invoice's timeline shows the import that changed it.
	var imported []models.InvoiceEvent
	require.NoError(t, e.db.Where("invoice_id = ? AND kind = ?", inv3.ID, models.EventImported).Find(&imported).Error)
	require.Len(t, imported, 1)
	require.Contains(t, imported[0].Detail, fmt.Sprintf("open amount %d → 92301", r3.AmountMinor))
	require.Eventually(t, func() bool {
		st, err := app.New(app.Options{Temporal: e.tc}).JourneyState(ctx, inv3.WorkflowID)
		return err == nil && st.OpenMinor == 92301 && st.Status == workflows.StatusOpen
	}, testkit.Patience, 100*time.Millisecond)
	inv = models.Invoice{}
	require.NoError(t, e.db.First(&inv, inv4.ID).Error)
	require.Equal(t, models.InvoicePaid, inv.Status)
	require.Zero(t, inv.OpenMinor)
	res := impWaitOutcome(t, e.tc, inv4.WorkflowID)
	require.Equal(t, workflows.OutcomePaid, res.Outcome)
	// Invoices absent from a normal import are left alone.
	inv = models.Invoice{}
	require.NoError(t, e.db.First(&inv, old1.ID).Error)
	require.Equal(t, models.InvoiceOpen, inv.Status)

	// Importing the same file again changes nothing and starts nothing.
	invBefore, custBefore := impInvoiceRows(t, e.db, e.adm.ID), impCustomerRows(t, e.db, e.adm.ID)
	again := impRun(t, e, data, false)
	want.ImportID = again.ImportID
	want.Customers = domain.ImportCustomerCounts{Unchanged: 56, Skipped: 1}
	want.Invoices = domain.ImportInvoiceCounts{Unchanged: 364, Rejected: 36}
	want.JourneysStarted = 0
	for _, l := range again.Lines {
		require.Contains(t, []domain.LineOutcome{domain.LineUnchanged, domain.LineRejected}, l.Outcome, "line %d", l.Line)
	}
	want.Lines = again.Lines
	require.Equal(t, want, again)
	require.Equal(t, invBefore, impInvoiceRows(t, e.db, e.adm.ID))
	require.Equal(t, custBefore, impCustomerRows(t, e.db, e.adm.ID))
	var runs int64
	require.NoError(t, e.db.Model(&models.ImportRun{}).Where("administration_id = ?", e.adm.ID).Count(&runs).Error)
	require.EqualValues(t, 2, runs)
}

const impHeader = "Factuurnummer;Debiteurnummer;Naam;E-mail;Telefoon;Factuurdatum;Vervaldatum;Bedrag;Openstaand\r\n"

func impCSV(rows ...string) []byte {
	return []byte("\ufeff" + impHeader + strings.Join(rows, "\r\n") + "\r\n")
}

// testImportSnapshot: a full snapshot closes the open invoices it no longer
// lists, a normal import leaves them, and a snapshot with rejected rows
// closes nothing.
func testImportSnapshot(t *testing.T, e *impEnv) {
	due := time.Now().UTC().AddDate(0, 0, 40).Format("02-01-2006")
	issue := time.Now().UTC().Format("02-01-2006")
	s1 := "S-1;K1;Klant Een;een@example.nl;06 12345678;" + issue + ";" + due + ";1.210,00;1.210,00"
	s2 := "S-2;K1;Klant Een;een@example.nl;06 12345678;" + issue + ";" + due + ";99,95;99,95"
	s3 := "S-3;K2;Klant Twee;;;" + issue + ";" + due + ";12,50;12,50"
	rep := impRun(t, e, impCSV(s1, s2, s3), false)
	require.Equal(t, domain.ImportInvoiceCounts{Created: 3}, rep.Invoices)
	require.Equal(t, 3, rep.JourneysStarted)

	rep = impRun(t, e, impCSV(s1), false)
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1}, rep.Invoices)

	rep = impRun(t, e, impCSV(s1, "S-9;K1;Klant Een;een@example.nl;06 12345678;"+issue+";"+due+";-5,00;"), true)
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1, Rejected: 1}, rep.Invoices)
	require.Len(t, rep.Notes, 1)
	require.Contains(t, rep.Notes[0], "full snapshot not applied")

	rep = impRun(t, e, impCSV(s1), true)
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1, ClosedAbsent: 2}, rep.Invoices)
	require.True(t, rep.FullSnapshot)
	for _, n := range []string{"S-2", "S-3"} {
		var inv models.Invoice
		require.NoError(t, e.db.Where("administration_id = ? AND number = ?", e.adm.ID, n).First(&inv).Error)
		require.Equal(t, models.InvoicePaid, inv.Status)
		require.Zero(t, inv.OpenMinor)
		require.Equal(t, workflows.OutcomePaid, impWaitOutcome(t, e.tc, inv.WorkflowID).Outcome)
	}
	var inv models.Invoice
	require.NoError(t, e.db.Where("administration_id = ? AND number = ?", e.adm.ID, "S-1").First(&inv).Error)
	require.Equal(t, models.InvoiceOpen, inv.Status)

	// The snapshot again: nothing left to close.
	rep = impRun(t, e, impCSV(s1), true)
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1}, rep.Invoices)
}

// testImportConcurrent runs two imports of the same export at once: every
// row is created once and every journey started once.
func testImportConcurrent(t *testing.T, e *impEnv) {
	data, err := os.ReadFile("testdata/export_nl.csv")
	require.NoError(t, err)
	parsed := impParse(t, data, e.adm)
	var wg sync.WaitGroup
	reps := make([]domain.ImportReport, 2)
	errs := make([]error, 2)
	for i := range reps {
		wg.Go(func() {
			reps[i], errs[i] = app.New(app.Options{DB: e.db, Temporal: e.tc}).Import(context.Background(), e.adm, parsed, domain.ImportOptions{Format: "csv"})
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	sumInv := func(f func(domain.ImportReport) int) int { return f(reps[0]) + f(reps[1]) }
	require.Equal(t, 364, sumInv(func(r domain.ImportReport) int { return r.Invoices.Created }))
	require.Equal(t, 364, sumInv(func(r domain.ImportReport) int { return r.Invoices.Unchanged }))
	require.Zero(t, sumInv(func(r domain.ImportReport) int { return r.Invoices.Updated }))
	require.Equal(t, 57, sumInv(func(r domain.ImportReport) int { return r.Customers.Created }))
	require.Equal(t, 57, sumInv(func(r domain.ImportReport) int { return r.Customers.Unchanged }))
	require.Equal(t, 265, sumInv(func(r domain.ImportReport) int { return r.JourneysStarted }))
	t.Logf("import 1: %+v %+v; import 2: %+v %+v", reps[0].Customers, reps[0].Invoices, reps[1].Customers, reps[1].Invoices)

	var nCust, nInv int64
	require.NoError(t, e.db.Model(&models.Customer{}).Where("administration_id = ?", e.adm.ID).Count(&nCust).Error)
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("administration_id = ?", e.adm.ID).Count(&nInv).Error)
	require.EqualValues(t, 57, nCust)
	require.EqualValues(t, 364, nInv)
	query := fmt.Sprintf("RelanceAdministration = '%s'", workflows.AdministrationKey(e.adm.ID))
	require.Eventually(t, func() bool {
		res, err := e.tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		return err == nil && res.GetCount() == 265
	}, testkit.Patience, 200*time.Millisecond)
}

// testImportContacts: the contact columns create the customer's contact
// person and copy; the next import updates the contacts it wrote (an
// empty cell changes nothing), keeps the roles an admin gave them, and
// never touches the admin's own contacts.
func testImportContacts(t *testing.T, e *impEnv) {
	ctx := context.Background()
	svc := app.New(app.Options{DB: e.db, Temporal: e.tc})
	head := "Factuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Bedrag;Contactpersoon;E-mail contactpersoon;Telefoon contactpersoon;CC\n"
	due := time.Now().UTC().AddDate(0, 0, 20).Format("02-01-2006")
	file := func(contact, cc string) []byte {
		return []byte(head + "C-1;D1;Janssens BV;01-11-2026;" + due + ";100,00;An Peeters;" + contact + ";09 123 45 67;" + cc + "\n" +
			"C-2;D1;Janssens BV;01-11-2026;" + due + ";250,00;An Peeters;" + contact + ";09 123 45 67;" + cc + "\n")
	}
	contacts := func() []models.Contact {
		var cs []models.Contact
		require.NoError(t, e.db.Order("id").Find(&cs).Error)
		return cs
	}

	rep := impRun(t, e, file("an@janssens.example", "directie@janssens.example"), false)
	require.Equal(t, 1, rep.Customers.Created)
	cs := contacts()
	require.Len(t, cs, 2)
	all := models.ContactRoles{policy.RoleBilling, policy.RoleReminders, policy.RoleCollection}
	require.Equal(t, "An Peeters", cs[0].Name)
	require.Equal(t, "an@janssens.example", cs[0].Email)
	require.Equal(t, "09 123 45 67", cs[0].Phone)
	require.Equal(t, all, cs[0].Roles)
	require.False(t, cs[0].CC)
	require.Equal(t, "import", cs[0].Source)
	require.Equal(t, "directie@janssens.example", cs[1].Email)
	require.True(t, cs[1].CC)
	require.Equal(t, all, cs[1].Roles)

	// The admin narrows the imported contact to invoices and adds a
	// contact of their own.
	var cust models.Customer
	require.NoError(t, e.db.First(&cust, cs[0].CustomerID).Error)
	billing := []string{"billing"}
	_, err := svc.UpdateContact(ctx, &cust, cs[0].ID, domain.ContactInput{Roles: &billing})
	require.NoError(t, err)
	ap, reminders := "ap@janssens.example", []string{"reminders"}
	_, err = svc.CreateContact(ctx, &cust, domain.ContactInput{Email: &ap, Roles: &reminders})
	require.NoError(t, err)
	require.NoError(t, e.db.Model(&models.Contact{}).Where("id = ?", cs[0].ID).Update("bounced_email", "an@janssens.example").Error)

	// The accounting software now has another address for An, and no copy.
	rep = impRun(t, e, file("an.peeters@janssens.example", ""), false)
	require.Equal(t, 1, rep.Customers.Updated)
	after := contacts()
	require.Len(t, after, 3)
	require.Equal(t, "an.peeters@janssens.example", after[0].Email)
	require.Empty(t, after[0].BouncedEmail, "a new address is used again")
	require.Equal(t, models.ContactRoles{policy.RoleBilling}, after[0].Roles, "the admin's roles stay")
	require.Equal(t, cs[1].Email, after[1].Email, "an empty cell erases nothing")
	require.Equal(t, ap, after[2].Email)
	require.Equal(t, "api", after[2].Source)

	// The same file again changes nothing; a file naming the admin's
	// contact in copy does not add it twice.
	rep = impRun(t, e, file("an.peeters@janssens.example", ""), false)
	require.Equal(t, 1, rep.Customers.Unchanged)
	rep = impRun(t, e, file("an.peeters@janssens.example", "AP@janssens.example"), false)
	require.Equal(t, 1, rep.Customers.Unchanged)
	require.Len(t, contacts(), 3)
}

// testImportMovesInvoice: the accounting software books an invoice on
// another customer (a correction) between two imports. The invoice moves
// to that customer — a new one or one Relance knows — so that its next
// reminders (and its customer's bundle) are the new customer's; the move is
// on the invoice's timeline, and the journey is told to re-plan.
func testImportMovesInvoice(t *testing.T, e *impEnv) {
	file := func(rows ...string) []byte {
		return []byte("Factuurnummer;Debiteurnummer;Naam;E-mail;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand\n" + strings.Join(rows, "\n") + "\n")
	}
	first := impRun(t, e, file(
		"M-1;OLD;Old Customer BV;old@example.nl;01-10-2026;15-10-2026;EUR;100,00;100,00",
		"M-2;OLD;Old Customer BV;old@example.nl;01-10-2026;15-10-2026;EUR;50,00;50,00"), false)
	require.Equal(t, 2, first.Invoices.Created)
	var old models.Customer
	require.NoError(t, e.db.Where("administration_id = ? AND external_ref = ?", e.adm.ID, "OLD").First(&old).Error)
	invoice := func(number string) models.Invoice {
		var inv models.Invoice
		require.NoError(t, e.db.Where("administration_id = ? AND number = ?", e.adm.ID, number).First(&inv).Error)
		return inv
	}
	require.Equal(t, old.ID, invoice("M-1").CustomerID)

	// M-1 is now booked on a customer Relance does not know yet.
	second := impRun(t, e, file(
		"M-1;NEW;New Customer BV;new@example.nl;01-10-2026;15-10-2026;EUR;100,00;100,00",
		"M-2;OLD;Old Customer BV;old@example.nl;01-10-2026;15-10-2026;EUR;50,00;50,00"), false)
	var moved models.Customer
	require.NoError(t, e.db.Where("administration_id = ? AND external_ref = ?", e.adm.ID, "NEW").First(&moved).Error)
	require.Equal(t, moved.ID, invoice("M-1").CustomerID, "the invoice follows the file's customer")
	require.Equal(t, old.ID, invoice("M-2").CustomerID)
	require.Equal(t, 1, second.Invoices.Updated)
	require.Equal(t, 1, second.Invoices.Unchanged)
	var ev models.InvoiceEvent
	require.NoError(t, e.db.Where("invoice_id = ? AND kind = ?", invoice("M-1").ID, models.EventImported).Order("id DESC").First(&ev).Error)
	require.Contains(t, ev.Detail, fmt.Sprintf("customer %d → %d", old.ID, moved.ID))

	// Booked back on the old customer: it moves back; the same file again changes nothing.
	back := file(
		"M-1;OLD;Old Customer BV;old@example.nl;01-10-2026;15-10-2026;EUR;100,00;100,00",
		"M-2;OLD;Old Customer BV;old@example.nl;01-10-2026;15-10-2026;EUR;50,00;50,00")
	third := impRun(t, e, back, false)
	require.Equal(t, old.ID, invoice("M-1").CustomerID)
	require.Equal(t, 1, third.Invoices.Updated)
	again := impRun(t, e, back, false)
	require.Equal(t, 2, again.Invoices.Unchanged)
	require.Zero(t, again.Invoices.Updated)
}
