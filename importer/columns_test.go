package importer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestColumnsTable(t *testing.T) {
	docs := Columns()
	require.Len(t, docs, int(numCols))
	seen := map[string]string{}
	var required []string
	for _, d := range docs {
		require.NotEmpty(t, d.Description, d.Name)
		require.NotEmpty(t, d.Example, d.Name)
		for _, n := range append([]string{d.Name}, d.Aliases...) {
			require.Equal(t, n, normalizeName(n), "names are stored normalized")
			require.Empty(t, seen[n], "%q is both %s and %s", n, seen[n], d.Name)
			seen[n] = d.Name
		}
		if d.Required {
			required = append(required, d.Name)
		}
	}
	require.Equal(t, []string{"invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount"}, required)

	docs[0].Aliases[0] = "changed"
	require.Equal(t, "factuurnummer", Columns()[0].Aliases[0], "Columns returns a copy")
}

// TestColumnExamples parses a file made of every column's name and example,
// so the documentation cannot show a value the importer refuses.
func TestColumnExamples(t *testing.T) {
	var names, examples []string
	var all FieldSet
	for _, d := range Columns() {
		if strings.HasSuffix(d.Name, "_minor") {
			continue
		}
		names = append(names, d.Name)
		all.add(colByName[d.Name])
		examples = append(examples, d.Example)
	}
	res := parseCSV(t, strings.Join(names, ";")+"\n"+strings.Join(examples, ";")+"\n", Options{})
	require.Empty(t, res.Rejected)
	require.Equal(t, Row{Line: 2,
		Customer: CustomerRow{Ref: "D10023", Name: "Bakkerij Janssens BV", Email: "boekhouding@janssens.be", Phone: "+32 470 12 34 56",
			AddressLine1: "Kerkstraat 12", AddressLine2: "Bus 3", PostalCode: "9000", City: "Gent", Country: "BE", Language: "nl", LegalID: "BE0123456789", Type: "consumer",
			ContactName: "An Peeters", ContactEmail: "an.peeters@janssens.be", ContactPhone: "+32 9 123 45 67", CCEmail: "directie@janssens.be"},
		Invoice: InvoiceRow{Number: "F2026-0042", IssueDate: day(2026, 1, 15), DueDate: day(2026, 2, 14), Currency: "EUR", AmountMinor: 123456, OpenMinor: 23456},
		Given:   all,
	}, res.Rows[0])
}

func TestNormalizeAndSuggest(t *testing.T) {
	for in, want := range map[string]string{
		" Factuurnummer ":  "factuurnummer",
		"E-mail":           "e_mail",
		"Date d'échéance":  "date_d_echeance",
		"Reste à payer":    "reste_a_payer",
		"N° facture":       "n_facture",
		"Invoice  Number.": "invoice_number",
		"ÉCHÉANCE":         "echeance",
	} {
		require.Equal(t, want, normalizeName(in), in)
	}
	require.Equal(t, "amount", suggest("amout"))
	require.Equal(t, "due_date", suggest("vervaldatun"))
	require.Equal(t, "customer_name", suggest("nam"))
	require.Empty(t, suggest("kostenplaats"))
}

// TestCustomerTypeColumn: the usual column names and values of business
// and consumer customers are read; an unknown value is a warning, not a
// rejection, and leaves the field not given.
func TestCustomerTypeColumn(t *testing.T) {
	for _, header := range []string{"Type", "Klanttype", "B2B/B2C", "Type de client", "Kundentyp", "customer_type"} {
		in := minimalHeader + ";" + header + "\n" +
			"F1;K1;Klant;2026-01-01;2026-02-01;10;B2C\n" +
			"F2;K2;Bedrijf;2026-01-01;2026-02-01;10;Zakelijk\n" +
			"F3;K3;Client;2026-01-01;2026-02-01;10;Particulier\n" +
			"F4;K4;Firma;2026-01-01;2026-02-01;10;Unternehmen\n" +
			"F5;K5;Other;2026-01-01;2026-02-01;10;Factuur\n" +
			"F6;K6;Blank;2026-01-01;2026-02-01;10;\n"
		res := parseCSV(t, in, Options{DefaultCurrency: "EUR"})
		require.Empty(t, res.Rejected, header)
		require.Len(t, res.Rows, 6, header)
		got := []string{}
		for _, r := range res.Rows {
			got = append(got, r.Customer.Type)
		}
		require.Equal(t, []string{"consumer", "business", "consumer", "business", "", ""}, got, header)
		require.True(t, res.Rows[0].Given.Has("customer_type"))
		require.False(t, res.Rows[4].Given.Has("customer_type"), "an unknown type is not given")
		require.False(t, res.Rows[5].Given.Has("customer_type"), "an empty cell is not given")
		require.Len(t, res.Warnings, 1, header)
		require.Equal(t, "customer_type", res.Warnings[0].Field)
		require.Equal(t, "Factuur", res.Warnings[0].Value)
	}
}
