package importer

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// ColumnDoc documents one column (CSV header name, JSON key), so the README
// and the OpenAPI document are generated from the code that reads the files
// and cannot drift from it.
type ColumnDoc struct {
	// Name is the canonical column name.
	Name string
	// Aliases are other header names accepted for the column, as real Dutch,
	// French and English exports write them (compared case-insensitively,
	// accents dropped, spaces and punctuation read as "_").
	Aliases []string
	// Required says whether the column must be present and non-empty.
	Required bool
	// Description says what the column holds and how it is read.
	Description string
	// Example is a typical value.
	Example string
}

// colID indexes a column; its order is the order of errors within a row.
type colID int

const (
	colInvoiceNumber colID = iota
	colCustomerRef
	colCustomerName
	colIssueDate
	colDueDate
	colAmount
	colAmountMinor
	colOpenAmount
	colOpenAmountMinor
	colCurrency
	colEmail
	colPhone
	colAddress1
	colAddress2
	colPostalCode
	colCity
	colCountry
	colLanguage
	colLegalID
	numCols
)

// columns is the column table; index = colID.
var columns = [numCols]ColumnDoc{
	colInvoiceNumber: {
		Name:        "invoice_number",
		Aliases:     []string{"factuurnummer", "factuurnr", "factuur", "numero_facture", "numero_de_facture", "n_facture", "facture", "invoice", "invoice_no", "invoice_nr"},
		Required:    true,
		Description: "Invoice number, unique within the file; a number found on several rows rejects all of them.",
		Example:     "F2026-0042",
	},
	colCustomerRef: {
		Name:        "customer_ref",
		Aliases:     []string{"debiteurnummer", "debiteur", "klantnummer", "klantnr", "code_client", "numero_client", "customer_id", "customer_number", "customer_code", "debtor_number"},
		Required:    true,
		Description: "The customer's reference (debtor number) in the accounting software; rows with the same reference must carry the same customer data.",
		Example:     "D10023",
	},
	colCustomerName: {
		Name:        "customer_name",
		Aliases:     []string{"naam", "klantnaam", "debiteurnaam", "nom", "nom_client", "raison_sociale", "name", "company_name"},
		Required:    true,
		Description: "The customer's name as printed on letters.",
		Example:     "Bakkerij Janssens BV",
	},
	colIssueDate: {
		Name:        "issue_date",
		Aliases:     []string{"factuurdatum", "date_facture", "date_de_facture", "invoice_date"},
		Required:    true,
		Description: "Invoice date: 2006-01-02, 02-01-2006, 02/01/2006, 02.01.2006, 2/1/2006, 20060102 or 2006/01/02, an optional time is dropped; day first unless the import says MDY.",
		Example:     "15-01-2026",
	},
	colDueDate: {
		Name:        "due_date",
		Aliases:     []string{"vervaldatum", "vervaldag", "echeance", "date_echeance", "date_d_echeance", "payment_due_date"},
		Required:    true,
		Description: "Due date, same formats as issue_date; not before issue_date. Journey steps are counted from it.",
		Example:     "14-02-2026",
	},
	colAmount: {
		Name:        "amount",
		Aliases:     []string{"bedrag", "factuurbedrag", "montant", "montant_ttc", "total", "total_amount", "invoice_amount"},
		Required:    true,
		Description: "Invoice total including VAT in major units: 1234.56, 1.234,56, 1 234,56, € 12,50; negative amounts (credit notes) are rejected. Required unless amount_minor is given.",
		Example:     "1.234,56",
	},
	colAmountMinor: {
		Name:        "amount_minor",
		Description: "Invoice total as an integer in minor units (cents); instead of amount.",
		Example:     "123456",
	},
	colOpenAmount: {
		Name:        "open_amount",
		Aliases:     []string{"openstaand", "openstaand_bedrag", "saldo", "solde", "reste_a_payer", "montant_du", "outstanding", "balance"},
		Description: "Amount still to be paid, same format as amount, between 0 and amount; 0 ends the journey. Defaults to amount.",
		Example:     "234,56",
	},
	colOpenAmountMinor: {
		Name:        "open_amount_minor",
		Description: "Open amount as an integer in minor units; instead of open_amount.",
		Example:     "23456",
	},
	colCurrency: {
		Name:        "currency",
		Aliases:     []string{"valuta", "munt", "devise"},
		Description: "ISO 4217 code (EUR, USD, JPY, ...); amounts are read with its number of decimals. Defaults to the administration's currency.",
		Example:     "EUR",
	},
	colEmail: {
		Name:        "email",
		Aliases:     []string{"e_mail", "emailadres", "email_address", "courriel", "mail"},
		Description: "One bare email address (no display name, no list).",
		Example:     "boekhouding@janssens.be",
	},
	colPhone: {
		Name:        "phone",
		Aliases:     []string{"telefoon", "telefoonnummer", "mobiel", "gsm", "telephone", "tel", "mobile", "phone_number"},
		Description: "Phone number as written; a mobile number enables SMS.",
		Example:     "+32 470 12 34 56",
	},
	colAddress1: {
		Name:        "address_line1",
		Aliases:     []string{"adres", "straat", "adresse", "rue", "street", "address", "address1"},
		Description: "Street and number.",
		Example:     "Kerkstraat 12",
	},
	colAddress2: {
		Name:        "address_line2",
		Aliases:     []string{"adres2", "adresse2", "address2"},
		Description: "Second address line (building, PO box).",
		Example:     "Bus 3",
	},
	colPostalCode: {
		Name:        "postal_code",
		Aliases:     []string{"postcode", "code_postal", "zip", "zip_code", "zipcode"},
		Description: "Postal code.",
		Example:     "9000",
	},
	colCity: {
		Name:        "city",
		Aliases:     []string{"plaats", "woonplaats", "gemeente", "ville", "localite", "town"},
		Description: "City.",
		Example:     "Gent",
	},
	colCountry: {
		Name:        "country",
		Aliases:     []string{"land", "landcode", "pays", "country_code"},
		Description: "ISO 3166-1 alpha-2 country code; defaults to the administration's country.",
		Example:     "BE",
	},
	colLanguage: {
		Name:        "language",
		Aliases:     []string{"taal", "langue", "lang"},
		Description: "Language of the customer's messages: nl, fr, en or de (a region suffix such as nl-BE is accepted); defaults to the administration's language.",
		Example:     "nl",
	},
	colLegalID: {
		Name:        "legal_id",
		Aliases:     []string{"kvk", "kvk_nummer", "ondernemingsnummer", "btw", "btw_nummer", "siren", "siret", "tva", "numero_tva", "vat", "vat_number", "company_number"},
		Description: "Company registration or VAT number, as written.",
		Example:     "BE0123456789",
	},
}

// Columns documents every column in the order errors are reported, for the
// README and the OpenAPI description of the import endpoint.
func Columns() []ColumnDoc {
	out := make([]ColumnDoc, len(columns))
	for i, c := range columns {
		c.Aliases = append([]string(nil), c.Aliases...)
		out[i] = c
	}
	return out
}

// colByName maps every normalized name and alias to its column.
var colByName = func() map[string]colID {
	m := make(map[string]colID)
	for i, c := range columns {
		m[c.Name] = colID(i)
		for _, a := range c.Aliases {
			m[a] = colID(i)
		}
	}
	return m
}()

// normalizeName turns a header cell or JSON key into the form aliases are
// written in: lower case, accents dropped, every run of characters other
// than letters and digits replaced by one "_", none at the ends.
func normalizeName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
		if out, _, err := transform.String(t, s); err == nil {
			s = out
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	pendingSep := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		pendingSep = true
	}
	return b.String()
}

// suggest returns the known name closest to an unknown one, or "" when none
// is close enough to be a likely typo.
func suggest(name string) string {
	if len(name) > 40 { // longer than any name: not a typo of one
		return ""
	}
	best, bestD := "", 3
	for known := range colByName {
		if d := editDistance(name, known, 3); d < bestD || (d == bestD && d < 3 && known < best) {
			best, bestD = known, d
		}
	}
	if best == "" {
		return ""
	}
	return columns[colByName[best]].Name
}

// editDistance is the Levenshtein distance of a and b, or max when it is at
// least max (names are short; this runs only on unknown columns).
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(rb)], max)
}
