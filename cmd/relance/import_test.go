package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/config"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// TestImportCommand runs `relance import` against PostgreSQL and a real
// Temporal dev server: the report, the rows, the journeys, and a second run
// that changes nothing.
func TestImportCommand(t *testing.T) {
	gdb, url := testkit.PostgresWithURL(t)
	srv, tc := testkit.DevServer(t)
	org := models.Organization{Name: "CLI", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	adm := models.Administration{OrganizationID: org.ID, Name: "CLI BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(&adm).Error)

	dir := t.TempDir()
	file := filepath.Join(dir, "export.csv")
	csv := "\ufeffFactuurnummer;Debiteurnummer;Naam;E-mail;Factuurdatum;Vervaldatum;Bedrag;Openstaand\r\n" +
		"F-1;D1;Bakkerij Jansen;info@jansen.example;01-11-2026;01-12-2026;1.234,56;1.234,56\r\n" +
		"F-2;D1;Bakkerij Jansen;info@jansen.example;02-11-2026;02-12-2026;100,00;0,00\r\n" +
		"F-3;D2;Smit;smit@example;03-11-2026;03-12-2026;-5,00;-5,00\r\n"
	require.NoError(t, os.WriteFile(file, []byte(csv), 0o600))

	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.DatabaseURL = url
	cfg.Temporal.Address = srv.FrontendHostPort()
	cfg.Temporal.Namespace = "default"
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	report := filepath.Join(dir, "report.json")
	args := []string{file, "--administration", strconv.FormatInt(adm.ID, 10), "--report", report}
	require.NoError(t, runImport(ctx, cfg, log, args))

	var rep domain.ImportReport
	data, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Equal(t, 3, rep.Rows)
	require.Equal(t, domain.ImportInvoiceCounts{Created: 2, Rejected: 1}, rep.Invoices)
	require.Equal(t, 1, rep.JourneysStarted, "the paid invoice has no journey")
	require.Len(t, rep.Rejected, 2, "amount and open amount of line 4 (its bad email alone would be a warning)")
	require.Equal(t, 4, rep.Rejected[0].Line)
	require.Empty(t, rep.Warnings, "a rejected row has no warnings")
	var inv models.Invoice
	require.NoError(t, gdb.Where("administration_id = ? AND number = ?", adm.ID, "F-1").First(&inv).Error)
	require.EqualValues(t, 123456, inv.OpenMinor)
	_, err = tc.DescribeWorkflowExecution(ctx, workflows.InvoiceWorkflowID(adm.ID, "F-1"), "")
	require.NoError(t, err)

	// Flags may come first; the same file again changes nothing.
	require.NoError(t, runImport(ctx, cfg, log, []string{"--report", report, "--administration", strconv.FormatInt(adm.ID, 10), file}))
	data, err = os.ReadFile(report)
	require.NoError(t, err)
	rep = domain.ImportReport{}
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 2, Rejected: 1}, rep.Invoices)
	require.Zero(t, rep.JourneysStarted)

	// Bad invocations say what is wrong and import nothing.
	require.ErrorContains(t, runImport(ctx, cfg, log, []string{file}), "usage")
	require.ErrorContains(t, runImport(ctx, cfg, log, []string{"--administration", "999999", file}), "administration 999999")
	small := cfg
	small.MaxImportBytes = 10
	require.ErrorContains(t, runImport(ctx, small, log, []string{"--administration", "1", file}), "RELANCE_MAX_IMPORT_BYTES")
	png := filepath.Join(dir, "logo.csv")
	require.NoError(t, os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o600))
	err = runImport(ctx, cfg, log, []string{"--administration", strconv.FormatInt(adm.ID, 10), png})
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "not a CSV"), "%v", err)
	var runs int64
	require.NoError(t, gdb.Model(&models.ImportRun{}).Where("administration_id = ?", adm.ID).Count(&runs).Error)
	require.EqualValues(t, 2, runs, "the failed runs left nothing")

	// An export with names no package writes: --map, saved for later.
	custom := filepath.Join(dir, "afas.csv")
	require.NoError(t, os.WriteFile(custom, []byte("Deb. nr.;Omschr. debiteur;Fact.nr;Fact.datum;Verv.datum;Bedrag incl.;Ouderdom\n"+
		"D9;Kwekerij Groen;A-1;02-11-2026;02-12-2026;1.500,00;3\n"), 0o600))
	admArg := strconv.FormatInt(adm.ID, 10)
	err = runImport(ctx, cfg, log, []string{custom, "--administration", admArg})
	require.ErrorContains(t, err, `missing required column "customer_ref"`)
	require.ErrorContains(t, err, "nothing was imported")
	err = runImport(ctx, cfg, log, []string{custom, "--administration", admArg, "--map", "debtor_colour=Kleur"})
	require.ErrorContains(t, err, `debtor_colour: unknown field`)

	// A dry run needs no Temporal and writes nothing; its report as CSV.
	offline := cfg
	offline.Temporal.Address = "127.0.0.1:1"
	before := countRows(t, gdb)
	csvReport := filepath.Join(dir, "report.csv")
	mapping := filepath.Join(dir, "mapping.txt")
	require.NoError(t, os.WriteFile(mapping, []byte("# AFAS report 'Openstaande posten'\ncustomer_name=Omschr. debiteur\ninvoice_number=Fact.nr\n"), 0o600))
	require.NoError(t, runImport(ctx, offline, log, []string{custom, "--administration", admArg, "--dry-run", "--save-mapping", "--report", csvReport,
		"--mapping", mapping, "--map", "customer_ref=Deb. nr.,issue_date=Fact.datum", "--map", "due_date=Verv.datum,amount=Bedrag incl."}))
	require.Equal(t, before, countRows(t, gdb), "a dry run writes nothing, not even the mapping")
	out, err := os.ReadFile(csvReport)
	require.NoError(t, err)
	require.Contains(t, string(out), "record,line,invoice_number,customer_ref,outcome,customer,field,value,reason\n")
	require.Contains(t, string(out), "count,,,,,,invoices.created,1,\n")
	require.Contains(t, string(out), "count,,,,,,journeys_to_start,1,\n")
	require.Contains(t, string(out), "column,,,,,,customer_ref,Deb. nr.,mapping\n")
	require.Contains(t, string(out), "ignored_column,,,,,,,Ouderdom,\n")
	require.Contains(t, string(out), "row,2,A-1,D9,created,created,,,\n")

	// The same, for real, saving the mapping; the next import uses it.
	require.NoError(t, runImport(ctx, cfg, log, []string{custom, "--administration", admArg, "--save-mapping", "--report", report,
		"--mapping", mapping, "--map", "customer_ref=Deb. nr.,issue_date=Fact.datum", "--map", "due_date=Verv.datum,amount=Bedrag incl."}))
	require.NoError(t, runImport(ctx, cfg, log, []string{custom, "--administration", admArg, "--report", report}))
	data, err = os.ReadFile(report)
	require.NoError(t, err)
	rep = domain.ImportReport{}
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 1}, rep.Invoices, "the saved mapping is used")
}

// countRows counts the rows of every table.
func countRows(t *testing.T, gdb *gorm.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range models.All() {
		stmt := &gorm.Statement{DB: gdb}
		require.NoError(t, stmt.Parse(m))
		var n int64
		require.NoError(t, gdb.Table(stmt.Schema.Table).Count(&n).Error)
		out[stmt.Schema.Table] = n
	}
	return out
}
