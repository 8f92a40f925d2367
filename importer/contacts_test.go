package importer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContactColumns: the contact person and copy columns of the common
// exports are recognised; a malformed address is a warning that leaves the
// field out (the invoice is kept), and two rows of one customer that name
// different contacts are refused like any other customer data.
func TestContactColumns(t *testing.T) {
	res := parseCSV(t, "Factuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Bedrag;Contactpersoon;E-mail contactpersoon;Telefoon contactpersoon;CC\n"+
		"F1;D1;Janssens BV;01-11-2026;01-12-2026;100,00;An Peeters;an@janssens.be;09 123 45 67;directie@janssens.be\n"+
		"F2;D2;Peeters NV;01-11-2026;01-12-2026;100,00;Jan;not an address;;boss@peeters.be, other@peeters.be\n"+
		"F3;D1;Janssens BV;01-11-2026;01-12-2026;100,00;An Peeters;AN@janssens.be;09 123 45 67;directie@janssens.be\n"+
		"F4;D1;Janssens BV;01-11-2026;01-12-2026;100,00;An Peeters;someone@janssens.be;09 123 45 67;directie@janssens.be\n", Options{DefaultCurrency: "EUR"})
	require.Len(t, res.Rows, 3)
	c := res.Rows[0].Customer
	require.Equal(t, "An Peeters", c.ContactName)
	require.Equal(t, "an@janssens.be", c.ContactEmail)
	require.Equal(t, "09 123 45 67", c.ContactPhone)
	require.Equal(t, "directie@janssens.be", c.CCEmail)
	require.True(t, res.Rows[0].Given.Has("contact_email"))
	require.True(t, res.Rows[0].Given.Has("cc_email"))

	bad := res.Rows[1]
	require.Equal(t, "Jan", bad.Customer.ContactName)
	require.Empty(t, bad.Customer.ContactEmail)
	require.Empty(t, bad.Customer.CCEmail)
	require.False(t, bad.Given.Has("contact_email"))
	require.False(t, bad.Given.Has("cc_email"))
	var fields []string
	for _, w := range res.Warnings {
		if w.Line == 3 {
			fields = append(fields, w.Field)
		}
	}
	require.ElementsMatch(t, []string{"contact_email", "cc_email"}, fields)

	require.Equal(t, "F3", res.Rows[2].Invoice.Number, "the same address in another case is the same contact")
	require.Len(t, res.Rejected, 1)
	require.Equal(t, 5, res.Rejected[0].Line)
	require.Equal(t, "contact_email", res.Rejected[0].Field)
}
