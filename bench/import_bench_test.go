package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

var importRows = flag.Int("bench.rows", 10000, "invoices in the export BenchmarkImport imports")

// BenchmarkImport imports a generated 10,000-invoice export (the Dutch
// layout most of Relance's customers' accounting packages write) into a new
// administration: domain.ParseFile then app.Import, with a real dev
// server, so every open invoice's journey is started (no worker runs: the
// server does starts only, as for the bare rate). Then it imports the same
// file again (nothing changes, nothing starts) and measures the bare
// StartWorkflow rate of the same server, half before and half after the
// import. Reported: rows/s and journeys/s of the first import, their ratio
// to the bare rate (goal: rows/s >= 70% of it), the re-import's rows/s.
func BenchmarkImport(b *testing.B) {
	data := dutchExport(*importRows)
	for _, db := range []struct {
		name string
		open func(testing.TB) *gorm.DB
	}{{"postgres", testkit.Postgres}, {"sqlite", testkit.SQLite}} {
		b.Run(db.name, func(b *testing.B) {
			// A server of its own: the administrations of both databases
			// have ID 1, hence the same workflow IDs.
			tc := devServer(b)
			gdb := db.open(b)
			var rows, journeys, bare, parseMS, reimport float64
			b.ResetTimer()
			for it := range b.N {
				b.StopTimer()
				adm := newAdministration(b, gdb, fmt.Sprintf("Import-%s-%d", db.name, it))
				half := 1500
				dBare := bareStarts(b, tc, fmt.Sprintf("bare-imp-%s-%d-a", db.name, it), half)
				b.StartTimer()

				t0 := time.Now()
				parsed, err := domain.ParseFile(data, "", adm, nil)
				require.NoError(b, err)
				parsed1 := time.Since(t0)
				rep, err := app.New(app.Options{DB: gdb, Temporal: tc}).Import(context.Background(), adm, parsed.Result, domain.ImportOptions{
					FileSHA256: parsed.SHA256, Format: parsed.Format, Logger: quiet(),
				})
				d := time.Since(t0)
				b.StopTimer()
				require.NoError(b, err)
				require.Empty(b, rep.Rejected)
				require.Equal(b, *importRows, rep.Invoices.Created)
				require.Equal(b, openRows(*importRows), rep.JourneysStarted)
				// Counted by the server too: app.StartJourney cannot tell
				// a new journey from a running one (see docs/benchmarks.md).
				require.Eventually(b, func() bool {
					res, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
						Query: fmt.Sprintf("%s = %q", workflows.AttrAdministration.GetName(), workflows.AdministrationKey(adm.ID)),
					})
					return err == nil && res.GetCount() == int64(openRows(*importRows))
				}, time.Minute, 200*time.Millisecond, "journeys on the server")

				// The same file again: idempotent, and the cheap path.
				t1 := time.Now()
				again, err := domain.ParseFile(data, "", adm, nil)
				require.NoError(b, err)
				rep2, err := app.New(app.Options{DB: gdb, Temporal: tc}).Import(context.Background(), adm, again.Result, domain.ImportOptions{
					FileSHA256: again.SHA256, Format: again.Format, Logger: quiet(),
				})
				d2 := time.Since(t1)
				require.NoError(b, err)
				require.Equal(b, *importRows, rep2.Invoices.Unchanged)
				require.Zero(b, rep2.JourneysStarted)

				dAfter := bareStarts(b, tc, fmt.Sprintf("bare-imp-%s-%d-b", db.name, it), half)
				b.Logf("%s: parsed %d rows in %s, imported in %s (%d journeys started); re-import %s; bare starts %.0f/s before, %.0f/s after",
					db.name, *importRows, parsed1.Round(time.Millisecond), d.Round(time.Millisecond), rep.JourneysStarted,
					d2.Round(time.Millisecond), perSecond(half, dBare), perSecond(half, dAfter))
				dBare += dAfter
				rows += perSecond(*importRows, d)
				journeys += perSecond(rep.JourneysStarted, d)
				bare += perSecond(2*half, dBare)
				parseMS += float64(parsed1.Milliseconds())
				reimport += perSecond(*importRows, d2)
				b.StartTimer()
			}
			b.StopTimer()
			k := float64(b.N)
			b.ReportMetric(rows/k, "rows/s")
			b.ReportMetric(journeys/k, "journeys/s")
			b.ReportMetric(bare/k, "bare_starts/s")
			b.ReportMetric(rows/bare, "rows/bare")
			b.ReportMetric(journeys/bare, "journeys/bare")
			b.ReportMetric(parseMS/k, "parse_ms")
			b.ReportMetric(reimport/k, "reimport_rows/s")
		})
	}
}

// openRows is how many of the first n generated rows are open (every tenth
// row is paid).
func openRows(n int) int { return n - (n+6)/10 }

// exportHeader is a Dutch accounting package's open-items export header.
const exportHeader = "Factuurnummer;Debiteurnummer;Naam;Adres;Postcode;Plaats;Land;Taal;E-mail;Telefoon;BTW-nummer;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand"

// dutchExport generates an export of n invoices for n/5 customers, as Dutch
// and Belgian packages write it: UTF-8 with a BOM, ";" separators, CRLF,
// decimal commas with thousands dots, dd-mm-yyyy dates, quoted fields where
// needed. Row i is paid when i%10 == 3, partly paid when i%10 == 5, else
// fully open; amounts, dates and customers vary deterministically.
func dutchExport(n int) []byte {
	type customer struct{ ref, name, address, postcode, city, country, lang, email, phone, vat string }
	prefixes := []string{"Bakkerij", "Garage", "Brouwerij", "Drukkerij", "Apotheek", "Transport", "Boekhandel", "Bouwbedrijf", "Café", "Schilderwerken"}
	names := []string{"Janssens", "Peeters", "Maes", "Jacobs", "Mertens", "Willems", "De Smet", "Dubois", "Lambert", "Van den Berg", "Vermeulen", "de Vries"}
	suffixes := []string{"BV", "NV", "bv", "VOF", ""}
	streets := []string{"Kerkstraat", "Stationsstraat", "Dorpsstraat", "Molenweg", "Markt", "Rue de la Gare"}
	nl := [][2]string{{"1012 AB", "Amsterdam"}, {"3011 BD", "Rotterdam"}, {"3511 LN", "Utrecht"}, {"9711 LM", "Groningen"}}
	be := [][2]string{{"9000", "Gent"}, {"2000", "Antwerpen"}, {"1000", "Brussel"}, {"3000", "Leuven"}}
	r := uint32(2026)
	next := func(k int) int {
		r = r*1664525 + 1013904223
		return int((r >> 8) % uint32(k))
	}
	custs := make([]customer, max(n/5, 1))
	for i := range custs {
		c := customer{
			ref:     fmt.Sprintf("D%05d", 10001+i),
			name:    strings.TrimSpace(fmt.Sprintf("%s %s %s", prefixes[next(len(prefixes))], names[next(len(names))], suffixes[next(len(suffixes))])),
			address: fmt.Sprintf("%s %d", streets[next(len(streets))], 1+next(250)),
		}
		if i%3 == 0 {
			pc := be[next(len(be))]
			c.postcode, c.city, c.country, c.lang = pc[0], pc[1], "BE", []string{"nl", "fr"}[next(2)]
			c.phone = fmt.Sprintf("+32 47%d %02d %02d %02d", next(10), next(100), next(100), next(100))
			c.vat = fmt.Sprintf("BE0%09d", next(1000000000))
		} else {
			pc := nl[next(len(nl))]
			c.postcode, c.city, c.country, c.lang = pc[0], pc[1], "NL", "nl"
			c.phone = fmt.Sprintf("06-%08d", next(100000000))
			c.vat = fmt.Sprintf("NL%09dB01", next(1000000000))
		}
		if i%7 != 6 { // one in seven has no email: letters
			c.email = fmt.Sprintf("administratie@%s%d.example", strings.ToLower(strings.ReplaceAll(names[i%len(names)], " ", "")), i)
		}
		if i%50 == 1 {
			c.name = fmt.Sprintf("%s; Zonen & Co", c.name) // quoted: holds the separator
		}
		custs[i] = c
	}
	money := func(minor int64) string {
		s := strconv.FormatInt(minor/100, 10)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "." + s[i:]
		}
		return fmt.Sprintf("%s,%02d", s, minor%100)
	}
	quote := func(f string) string {
		if strings.ContainsAny(f, ";\"\r\n") {
			return `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		return f
	}
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	buf.WriteString("\ufeff" + exportHeader + "\r\n")
	for i := range n {
		c := custs[(i*7)%len(custs)]
		issue := base.AddDate(0, 0, -(i % 120))
		due := issue.AddDate(0, 0, []int{14, 30, 30, 60}[i%4])
		amount := int64(1500 + next(2500000))
		open := amount
		switch i % 10 {
		case 3:
			open = 0
		case 5:
			open = amount / 2
		}
		fields := []string{fmt.Sprintf("F2026-%06d", i+1), c.ref, c.name, c.address, c.postcode, c.city, c.country, c.lang,
			c.email, c.phone, c.vat, issue.Format("02-01-2006"), due.Format("02-01-2006"), "EUR", money(amount), money(open)}
		for k, f := range fields {
			if k > 0 {
				buf.WriteByte(';')
			}
			buf.WriteString(quote(f))
		}
		buf.WriteString("\r\n")
	}
	return buf.Bytes()
}

// TestDutchExport checks the generator the import benchmark relies on: the
// importer reads every row, rejects none, and sees the paid rows as paid.
func TestDutchExport(t *testing.T) {
	const n = 10000
	data := dutchExport(n)
	adm := &models.Administration{Currency: "EUR", Country: "NL", Language: "nl"}
	parsed, err := domain.ParseFile(data, "", adm, nil)
	require.NoError(t, err)
	require.Equal(t, domain.FormatCSV, parsed.Format)
	require.Empty(t, parsed.Result.Rejected)
	require.Len(t, parsed.Result.Rows, n)
	open, refs, quoted := 0, map[string]bool{}, 0
	for _, row := range parsed.Result.Rows {
		if row.Invoice.OpenMinor > 0 {
			open++
		}
		if strings.HasSuffix(row.Customer.Name, "; Zonen & Co") {
			quoted++
		}
		require.Equal(t, "EUR", row.Invoice.Currency)
		require.LessOrEqual(t, row.Invoice.OpenMinor, row.Invoice.AmountMinor)
		refs[row.Customer.Ref] = true
	}
	require.Equal(t, openRows(n), open)
	require.Len(t, refs, n/5)
	require.Positive(t, quoted, "names holding the separator survive quoting")
}
