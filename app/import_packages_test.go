package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// pkgExport is a real-looking export of one accounting package, imported as
// it is into an administration of the package's country and language.
type pkgExport struct {
	file              string
	country, language string
	timeZone          string
	rows              int
	customers         int
	invoices          int
	journeys          int // open invoices
	warnings          []string
	ignored           []string
	columns           map[string]string // field → column, by alias
}

var pkgExports = []pkgExport{
	{
		// Exact Online (NL): BOM, ";", CRLF, decimal commas with dotted
		// thousands, dd-mm-yyyy, a country written as a name.
		file: "exact_online_nl.csv", country: "NL", language: "nl", timeZone: "Europe/Amsterdam",
		rows: 7, customers: 4, invoices: 7, journeys: 6,
		warnings: []string{
			"2 phone 020 123 4567",
			"6 email jansen@@transport,nl",
			"6 phone 06 1234 5678 99",
		},
		ignored: []string{"Omschrijving", "Dagboek", "Kostenplaats"},
		columns: map[string]string{"customer_ref": "Relatiecode", "customer_name": "Naam", "invoice_number": "Factuurnummer",
			"open_amount": "Openstaand", "legal_id": "Btw-nummer", "phone": "Telefoon"},
	},
	{
		// Sage 100 (FR): Windows-1252, ";", "1 234,56", dd/mm/yyyy,
		// countries as French names, an address complement.
		file: "sage_fr.csv", country: "FR", language: "fr", timeZone: "Europe/Paris",
		rows: 5, customers: 3, invoices: 5, journeys: 4,
		warnings: []string{"4 phone 04 78 12 34 56"},
		ignored:  []string{"Libellé écriture", "Compte général", "Mode de règlement"},
		columns: map[string]string{"customer_ref": "Code tiers", "customer_name": "Intitulé", "invoice_number": "N° pièce",
			"issue_date": "Date pièce", "due_date": "Échéance", "amount": "Montant TTC", "open_amount": "Solde", "address_line2": "Complément"},
	},
	{
		// DATEV OPOS (DE): UTF-8, ";", dd.mm.yyyy, "Offener Betrag".
		file: "datev_de.csv", country: "DE", language: "de", timeZone: "Europe/Berlin",
		rows: 4, customers: 3, invoices: 4, journeys: 4,
		warnings: []string{"4 phone 030 1234567"},
		ignored:  []string{"Kostenstelle", "Skonto %", "Mahnstufe"},
		columns: map[string]string{"customer_ref": "Konto", "customer_name": "Name", "invoice_number": "Rechnungs-Nr.",
			"due_date": "Fälligkeit", "open_amount": "Offener Betrag", "currency": "WKZ", "address_line1": "Straße", "postal_code": "PLZ", "legal_id": "USt-IdNr."},
	},
	{
		// Snelstart (BE): Excel "Unicode text", UTF-16 with BOM, tabs,
		// d/mm/yyyy, languages NL and FR.
		file: "snelstart_be.txt", country: "BE", language: "nl", timeZone: "Europe/Brussels",
		rows: 3, customers: 2, invoices: 3, journeys: 3,
		warnings: nil,
		ignored:  []string{"Grootboekrekening"},
		columns: map[string]string{"customer_ref": "Relatiecode", "amount": "Factuurbedrag", "open_amount": "Openstaand saldo",
			"phone": "GSM", "city": "Gemeente", "legal_id": "Ondernemingsnummer", "language": "Taal"},
	},
	{
		// Lexware (DE) as an .xlsx workbook: a title row above the header,
		// dates as date cells, amounts as number cells, languages as names.
		file: "lexware_de.xlsx", country: "DE", language: "de", timeZone: "Europe/Berlin",
		rows: 3, customers: 2, invoices: 3, journeys: 3,
		warnings: nil,
		ignored:  []string{"Zahlungsart", "Bemerkung"},
		columns: map[string]string{"customer_ref": "Kundennummer", "customer_name": "Kunde", "invoice_number": "Rechnungsnr.",
			"issue_date": "Rechnungsdatum", "due_date": "Fällig am", "amount": "Bruttobetrag", "phone": "Mobil", "language": "Sprache"},
	},
}

// pkgAdministration creates an administration of the export's country.
func pkgAdministration(t *testing.T, gdb *gorm.DB, orgID int64, name, country, language, tz string) *models.Administration {
	t.Helper()
	adm := &models.Administration{OrganizationID: orgID, Name: name, Country: country, TimeZone: tz,
		Currency: "EUR", Language: language, AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(adm).Error)
	return adm
}

func pkgImport(t *testing.T, svc *app.Service, adm *models.Administration, data []byte, opt domain.ImportOptions) domain.ImportReport {
	t.Helper()
	m, err := svc.ImportMapping(context.Background(), adm.ID)
	require.NoError(t, err)
	parsed, err := domain.ParseFile(data, "", adm, m)
	require.NoError(t, err)
	opt.FileSHA256, opt.Format = parsed.SHA256, parsed.Format
	rep, err := svc.Import(context.Background(), adm, parsed.Result, opt)
	require.NoError(t, err)
	return rep
}

func warningKeys(rep domain.ImportReport) []string {
	var out []string
	for _, w := range rep.Warnings {
		out = append(out, strings.Join([]string{strconv.Itoa(w.Line), w.Field, w.Value}, " "))
	}
	return out
}

// testImportPackages imports the export of each package as it is: exact
// counts, warnings and ignored columns listed, every journey started; a
// second import of it is a no-op. The customer with a malformed email and a
// mobile number that is too long has its invoices imported, and its
// journeys choose the letter.
func testImportPackages(t *testing.T, e *impEnv) {
	svc := app.New(app.Options{DB: e.db, Temporal: e.tc})
	for _, pe := range pkgExports {
		t.Run(pe.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "exports", pe.file))
			require.NoError(t, err)
			adm := pkgAdministration(t, e.db, e.adm.OrganizationID, pe.file, pe.country, pe.language, pe.timeZone)

			rep := pkgImport(t, svc, adm, data, domain.ImportOptions{})
			require.Equal(t, pe.rows, rep.Rows)
			require.Empty(t, rep.Rejected)
			require.Equal(t, domain.ImportCustomerCounts{Created: pe.customers}, rep.Customers)
			require.Equal(t, domain.ImportInvoiceCounts{Created: pe.invoices}, rep.Invoices)
			require.Equal(t, pe.journeys, rep.JourneysStarted)
			require.Equal(t, pe.warnings, warningKeys(rep))
			var ignored []string
			for _, c := range rep.Ignored {
				ignored = append(ignored, c.Column)
			}
			require.Equal(t, pe.ignored, ignored)
			used := map[string]string{}
			for _, c := range rep.Columns {
				used[c.Field] = c.Column
			}
			for field, column := range pe.columns {
				require.Equal(t, column, used[field], "column feeding %s", field)
			}
			require.Len(t, rep.Lines, pe.rows)
			for _, l := range rep.Lines {
				require.Equal(t, domain.LineCreated, l.Outcome)
			}
			var n int64
			require.NoError(t, e.db.Model(&models.Invoice{}).Where("administration_id = ?", adm.ID).Count(&n).Error)
			require.EqualValues(t, pe.invoices, n)

			invoicesBefore := impInvoiceRows(t, e.db, adm.ID)
			again := pkgImport(t, svc, adm, data, domain.ImportOptions{})
			require.Equal(t, domain.ImportCustomerCounts{Unchanged: pe.customers}, again.Customers, "re-import: no-op")
			require.Equal(t, domain.ImportInvoiceCounts{Unchanged: pe.invoices}, again.Invoices, "re-import: no-op")
			require.Zero(t, again.JourneysStarted)
			require.Equal(t, invoicesBefore, impInvoiceRows(t, e.db, adm.ID))
		})
	}

	t.Run("bad contact data: invoices imported, chased by letter", func(t *testing.T) {
		var adm models.Administration
		require.NoError(t, e.db.Where("organization_id = ? AND name = ?", e.adm.OrganizationID, "exact_online_nl.csv").First(&adm).Error)
		var cust models.Customer
		require.NoError(t, e.db.Where("administration_id = ? AND external_ref = ?", adm.ID, "10003").First(&cust).Error)
		require.Empty(t, cust.Email, "the malformed address is not stored")
		require.Equal(t, "06 1234 5678 99", cust.Phone, "the phone is kept as written")
		require.Empty(t, cust.Mobile, "too long: not a mobile")
		var invs []models.Invoice
		require.NoError(t, e.db.Where("customer_id = ?", cust.ID).Order("number").Find(&invs).Error)
		require.Len(t, invs, 2)
		require.Equal(t, int64(7_900_000), invs[0].OpenMinor, "the €79,000 invoice is imported")
		for _, inv := range invs {
			require.Equal(t, models.InvoiceOpen, inv.Status)
			require.NotEmpty(t, inv.WorkflowID)
			require.Eventually(t, func() bool {
				st, err := svc.JourneyState(context.Background(), inv.WorkflowID)
				return err == nil && len(st.Steps) > 0
			}, testkit.Patience, 50*time.Millisecond, "the journey of %s runs and has planned its steps", inv.Number)
		}
		// The channel decision the sending activity makes for every step
		// of the journey: the letter.
		for _, kind := range []policy.StepKind{policy.StepInvoice, policy.StepReminder, policy.StepFinalReminder} {
			d := policy.Decide(kind, adm.ChannelSettings(), cust.ChannelSettings())
			require.False(t, d.Skipped, kind)
			require.Contains(t, d.Channels, policy.ChannelPost, kind)
			require.NotContains(t, d.Channels, policy.ChannelEmail, kind)
		}
		d := policy.Decide(policy.StepSMS, adm.ChannelSettings(), cust.ChannelSettings())
		require.NotContains(t, d.Channels, policy.ChannelSMS)
	})
}

// testImportRules covers a saved column mapping, a dry run, a payment
// recorded in Relance against a stale export, and languages set through
// the API against an export without a language column.
func testImportRules(t *testing.T, e *impEnv) {
	ctx := context.Background()
	svc := app.New(app.Options{DB: e.db, Temporal: e.tc})

	t.Run("column mapping saved once, used later", func(t *testing.T) {
		adm := pkgAdministration(t, e.db, e.adm.OrganizationID, "afas", "NL", "nl", "Europe/Amsterdam")
		data, err := os.ReadFile("testdata/exports/afas_custom_nl.csv")
		require.NoError(t, err)
		before := tableCounts(t, e.db)
		_, err = domain.ParseFile(data, "", adm, nil)
		require.ErrorIs(t, err, importer.ErrHeader, "names no package writes: a required field is missing")
		require.Contains(t, err.Error(), `missing required column "customer_ref"`)

		// Bad mappings are refused whole, nothing saved.
		err = svc.SaveImportMapping(ctx, adm.ID, importer.Mapping{"customer_ref": "Deb. nr.", "debtor_colour": "Kleur"})
		var me *importer.MappingError
		require.ErrorAs(t, err, &me)
		require.True(t, me.Problems[0].Unknown)
		err = svc.SaveImportMapping(ctx, adm.ID, importer.Mapping{"customer_ref": "", "customer_name": "Omschr. debiteur"})
		require.ErrorAs(t, err, &me)
		require.Equal(t, "a required field cannot be left without a column", me.Problems[0].Reason)
		require.Equal(t, before, tableCounts(t, e.db), "nothing written")

		mapping := importer.Mapping{"customer_ref": "Deb. nr.", "customer_name": "Omschr. debiteur", "invoice_number": "Fact.nr",
			"issue_date": "Fact.datum", "due_date": "Verv.datum", "amount": "Bedrag incl.", "open_amount": "Nog open"}
		require.NoError(t, svc.SaveImportMapping(ctx, adm.ID, mapping))
		got, err := svc.ImportMapping(ctx, adm.ID)
		require.NoError(t, err)
		require.Equal(t, mapping, got)

		rep := pkgImport(t, svc, adm, data, domain.ImportOptions{})
		require.Equal(t, domain.ImportInvoiceCounts{Created: 2}, rep.Invoices)
		require.Equal(t, []importer.IgnoredColumn{{Column: "Ouderdom"}}, rep.Ignored)
		for _, c := range rep.Columns {
			require.Equal(t, importer.ByMapping, c.By, c.Field)
			require.Equal(t, mapping[c.Field], c.Column)
		}
		var inv models.Invoice
		require.NoError(t, e.db.Where("administration_id = ? AND number = ?", adm.ID, "A-1002").First(&inv).Error)
		require.Equal(t, int64(12500), inv.OpenMinor)
		again := pkgImport(t, svc, adm, data, domain.ImportOptions{})
		require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 2}, again.Invoices, "the saved mapping is used by every later import")
	})

	t.Run("dry run writes nothing", func(t *testing.T) {
		adm := pkgAdministration(t, e.db, e.adm.OrganizationID, "dry", "NL", "nl", "Europe/Amsterdam")
		data, err := os.ReadFile("testdata/exports/exact_online_nl.csv")
		require.NoError(t, err)
		before := tableCounts(t, e.db)
		dry := pkgImport(t, svc, adm, data, domain.ImportOptions{DryRun: true})
		require.Equal(t, before, tableCounts(t, e.db), "row counts of every table unchanged")
		require.True(t, dry.DryRun)
		require.Zero(t, dry.ImportID)
		require.Zero(t, dry.JourneysStarted)
		require.Equal(t, 6, dry.JourneysToStart)

		real := pkgImport(t, svc, adm, data, domain.ImportOptions{})
		require.Equal(t, real.Customers, dry.Customers, "the dry run says what the import does")
		require.Equal(t, real.Invoices, dry.Invoices)
		require.Equal(t, real.Warnings, dry.Warnings)
		require.Equal(t, real.Lines, dry.Lines)
		require.Equal(t, dry.JourneysToStart, real.JourneysStarted)
	})

	t.Run("a payment recorded in Relance wins over an older export", func(t *testing.T) {
		adm := pkgAdministration(t, e.db, e.adm.OrganizationID, "paid", "NL", "nl", "Europe/Amsterdam")
		head := "factuurnummer;debiteurnummer;naam;factuurdatum;vervaldatum;bedrag;openstaand\n"
		file := []byte(head + "P-1;K1;Klant Een;2026-01-05;2026-02-04;500,00;500,00\nP-2;K1;Klant Een;2026-01-05;2026-02-04;80,00;80,00\n")
		pkgImport(t, svc, adm, file, domain.ImportOptions{})
		var inv models.Invoice
		require.NoError(t, e.db.Where("administration_id = ? AND number = ?", adm.ID, "P-1").First(&inv).Error)
		_, err := svc.RegisterPayment(ctx, inv.ID, domain.PaymentInput{AmountMinor: 50000, Currency: "EUR", PaidAt: inv.IssueDate, Reference: "bank-1"})
		require.NoError(t, err)

		rep := pkgImport(t, svc, adm, file, domain.ImportOptions{})
		require.Equal(t, domain.ImportInvoiceCounts{Unchanged: 2, KeptRelancePayment: 1}, rep.Invoices)
		require.Equal(t, domain.ImportLine{Line: 2, InvoiceNumber: "P-1", CustomerRef: "K1", Outcome: domain.LineKeptPayment, Customer: "unchanged", Note: domain.NoteKeptPayment}, rep.Lines[0])
		require.NoError(t, e.db.First(&inv, inv.ID).Error)
		require.Equal(t, models.InvoicePaid, inv.Status, "not reopened")
		require.Zero(t, inv.OpenMinor)

		// The accounting software moves on (the payment bounced and was
		// booked back, with reminder costs): that file is newer and wins.
		newer := []byte(head + "P-1;K1;Klant Een;2026-01-05;2026-02-04;515,00;515,00\nP-2;K1;Klant Een;2026-01-05;2026-02-04;80,00;80,00\n")
		rep = pkgImport(t, svc, adm, newer, domain.ImportOptions{})
		require.Equal(t, domain.ImportInvoiceCounts{Updated: 1, Unchanged: 1}, rep.Invoices)
		require.NoError(t, e.db.First(&inv, inv.ID).Error)
		require.Equal(t, models.InvoiceOpen, inv.Status)
		require.Equal(t, int64(51500), inv.OpenMinor)
	})

	t.Run("languages set through the API survive a re-import without a language column", func(t *testing.T) {
		adm := pkgAdministration(t, e.db, e.adm.OrganizationID, "lang", "BE", "nl", "Europe/Brussels")
		withLang := []byte("factuurnummer;debiteurnummer;naam;factuurdatum;vervaldatum;bedrag;taal;plaats\n" +
			"L-1;K1;Client Un;2026-01-05;2026-02-04;10,00;fr;Liège\nL-2;K2;Kunde Zwei;2026-01-05;2026-02-04;20,00;nl;Eupen\n")
		pkgImport(t, svc, adm, withLang, domain.ImportOptions{})
		var k2 models.Customer
		require.NoError(t, e.db.Where("administration_id = ? AND external_ref = ?", adm.ID, "K2").First(&k2).Error)
		de := "de"
		require.NoError(t, svc.PatchCustomer(ctx, &k2, domain.CustomerPatch{Language: &de}))

		// The export without a language (and without a city) column: the
		// cities and languages stay, the name change applies.
		noLang := []byte("factuurnummer;debiteurnummer;naam;factuurdatum;vervaldatum;bedrag\n" +
			"L-1;K1;Client Un SA;2026-01-05;2026-02-04;10,00\nL-2;K2;Kunde Zwei;2026-01-05;2026-02-04;20,00\n")
		rep := pkgImport(t, svc, adm, noLang, domain.ImportOptions{})
		require.Equal(t, domain.ImportCustomerCounts{Updated: 1, Unchanged: 1}, rep.Customers)
		var cs []models.Customer
		require.NoError(t, e.db.Where("administration_id = ?", adm.ID).Order("external_ref").Find(&cs).Error)
		require.Equal(t, "fr", cs[0].Language)
		require.Equal(t, "Client Un SA", cs[0].Name)
		require.Equal(t, "Liège", cs[0].City)
		require.Equal(t, "de", cs[1].Language, "set through the API, kept")
		require.Equal(t, "Eupen", cs[1].City)
	})

	t.Run("the customer's type comes from a Klanttype or B2B/B2C column", func(t *testing.T) {
		adm := pkgAdministration(t, e.db, e.adm.OrganizationID, "type", "NL", "nl", "Europe/Amsterdam")
		file := []byte("factuurnummer;debiteurnummer;naam;factuurdatum;vervaldatum;bedrag;Klanttype\n" +
			"T-1;K1;Jan Jansen;2026-01-05;2026-02-04;10,00;Particulier\nT-2;K2;Jansen BV;2026-01-05;2026-02-04;20,00;Zakelijk\n" +
			"T-3;K3;Onbekend;2026-01-05;2026-02-04;30,00;Factuur\n")
		rep := pkgImport(t, svc, adm, file, domain.ImportOptions{})
		require.Len(t, rep.Warnings, 1, "an unknown type is a warning")
		types := func() []models.CustomerType {
			var cs []models.Customer
			require.NoError(t, e.db.Where("administration_id = ?", adm.ID).Order("external_ref").Find(&cs).Error)
			var out []models.CustomerType
			for _, c := range cs {
				out = append(out, c.Type)
			}
			return out
		}
		require.Equal(t, []models.CustomerType{models.CustomerConsumer, models.CustomerBusiness, models.CustomerBusiness}, types())
		// The next export says B2B/B2C; without the column the types stay.
		b2b := []byte("factuurnummer;debiteurnummer;naam;factuurdatum;vervaldatum;bedrag;B2B/B2C\n" +
			"T-1;K1;Jan Jansen;2026-01-05;2026-02-04;10,00;B2B\nT-2;K2;Jansen BV;2026-01-05;2026-02-04;20,00;B2B\nT-3;K3;Onbekend;2026-01-05;2026-02-04;30,00;B2C\n")
		rep = pkgImport(t, svc, adm, b2b, domain.ImportOptions{})
		require.Equal(t, domain.ImportCustomerCounts{Updated: 2, Unchanged: 1}, rep.Customers)
		require.Equal(t, []models.CustomerType{models.CustomerBusiness, models.CustomerBusiness, models.CustomerConsumer}, types())
		none := []byte("factuurnummer;debiteurnummer;naam;factuurdatum;vervaldatum;bedrag\n" +
			"T-1;K1;Jan Jansen;2026-01-05;2026-02-04;10,00\nT-2;K2;Jansen BV;2026-01-05;2026-02-04;20,00\nT-3;K3;Onbekend;2026-01-05;2026-02-04;30,00\n")
		rep = pkgImport(t, svc, adm, none, domain.ImportOptions{})
		require.Equal(t, domain.ImportCustomerCounts{Unchanged: 3}, rep.Customers)
		require.Equal(t, []models.CustomerType{models.CustomerBusiness, models.CustomerBusiness, models.CustomerConsumer}, types())
	})
}

// tableCounts counts the rows of every table of the schema.
func tableCounts(t *testing.T, gdb *gorm.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range models.All() {
		stmt := &gorm.Statement{DB: gdb}
		require.NoError(t, stmt.Parse(m))
		var n int64
		require.NoError(t, gdb.Table(stmt.Schema.Table).Count(&n).Error)
		out[stmt.Schema.Table] = n
	}
	var n int64
	if err := gdb.Table("schema_migrations").Count(&n).Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		require.NoError(t, err)
	}
	out["schema_migrations"] = n
	return out
}
