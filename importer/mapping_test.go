package importer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAliasesAreUnique: every alias is written as normalizeName writes
// header names, and names one column only (a second column claiming it
// would silently win in colByName).
func TestAliasesAreUnique(t *testing.T) {
	owner := map[string]string{}
	for _, c := range Columns() {
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			require.Equal(t, n, normalizeName(n), "alias %q of %s is not in normalized form", n, c.Name)
			prev, dup := owner[n]
			require.False(t, dup, "%q is an alias of both %s and %s", n, prev, c.Name)
			owner[n] = c.Name
		}
	}
}

// TestPackageHeaders: header rows as the accounting packages write them are
// read without a mapping.
func TestPackageHeaders(t *testing.T) {
	tests := map[string]string{
		"Exact Online (NL)": "Relatiecode;Naam;Factuurnummer;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand;Omschrijving;E-mail;Telefoon;Adres;Postcode;Plaats;Land",
		"Twinfield (NL)":    "Relatie;Naam relatie;Factuurnummer;Factuurdatum;Vervaldatum;Valuta;Bedrag (valuta);Openstaand bedrag;Dagboek",
		"AFAS (NL)":         "Debiteur;Naam debiteur;Factuurnr.;Factuurdatum;Vervaldatum;Bedrag factuur;Saldo;E-mailadres;Mobiel nr.",
		"Snelstart (BE)":    "Relatiecode;Naam;Factuurnummer;Factuurdatum;Vervaldatum;Factuurbedrag;Openstaand saldo;GSM;Gemeente;Ondernemingsnummer;Taal",
		"Yuki (NL)":         "Relatie;Bedrijfsnaam;Factuurnummer;Datum;Vervaldatum;Bedrag;Restant;Dagen over vervaldatum",
		"Sage 100 (FR)":     "Code tiers;Intitulé;N° pièce;Date pièce;Échéance;Montant TTC;Solde;Devise;E-mail;Téléphone;Code postal;Ville;Pays;SIRET",
		"Cegid (FR)":        "Tiers;Libellé tiers;N° facture;Date de pièce;Date d'échéance;Montant TTC;Montant restant;CP;Commune",
		"EBP (FR)":          "Code client;Nom;N° document;Date document;Date échéance;Montant TTC;Reste à régler;Téléphone portable",
		"Pennylane (FR)":    "Numéro de facture;Client;Identifiant client;Date de facture;Date d'échéance;Montant TTC;Montant restant dû;Devise;Email du client",
		"DATEV OPOS (DE)":   "Konto;Name;Rechnungs-Nr.;Belegdatum;Fälligkeit;Betrag;Offener Betrag;WKZ;USt-IdNr.;Straße;PLZ;Ort",
		"Lexware (DE)":      "Kundennummer;Kunde;Rechnungsnr.;Rechnungsdatum;Fällig am;Bruttobetrag;Offener Betrag;Mobil;Sprache",
		"English":           "Debtor code;Debtor name;Invoice no;Document date;Due date;Gross amount;Balance due;Post code",
	}
	for name, hdr := range tests {
		t.Run(name, func(t *testing.T) {
			n := strings.Count(hdr, ";") + 1
			_, err := compiled{}.resolveCopy(strings.Split(hdr, ";"))
			require.NoError(t, err, "%d columns", n)
		})
	}
	// Identifiant client is the reference when the name is in "Client".
	h, err := compiled{}.resolveCopy(strings.Split(tests["Pennylane (FR)"], ";"))
	require.NoError(t, err)
	require.Contains(t, h.uses, ColumnUse{Field: "customer_name", Column: "Client", By: ByAlias})
}

// resolveCopy resolves a header with a zero mapping.
func (cm compiled) resolveCopy(names []string) (header, error) { return cm.resolve(names, 1, "column") }

func TestCheckMapping(t *testing.T) {
	tests := []struct {
		name string
		m    Mapping
		want []MappingProblem
	}{
		{"empty", Mapping{}, nil},
		{"valid, any spelling of the field", Mapping{"Customer ref": "Deb. nr.", "open_amount": "Nog open", "language": ""}, nil},
		{"unknown field", Mapping{"debtor_colour": "Kleur"}, []MappingProblem{{Field: "debtor_colour", Unknown: true, Reason: "unknown field; fields are " + strings.Join(Fields(), ", ")}}},
		{"typo of a field", Mapping{"custmer_ref": "Nr"}, []MappingProblem{{Field: "custmer_ref", Unknown: true, Reason: `unknown field (did you mean "customer_ref"?)`}}},
		{"an alias is not a field", Mapping{"factuurnummer": "Nr"}, []MappingProblem{{Field: "factuurnummer", Unknown: true, Reason: `unknown field (did you mean "invoice_number"?)`}}},
		{"required field without a column", Mapping{"amount": "  "}, []MappingProblem{{Field: "amount", Reason: "a required field cannot be left without a column"}}},
		{"one column for two fields", Mapping{"amount": "Bedrag", "open_amount": "bedrag"}, []MappingProblem{{Field: "open_amount", Reason: `column "bedrag" is already mapped to "amount"`}}},
		{"a field twice", Mapping{"amount": "A", "Amount": "B"}, []MappingProblem{{Field: "amount", Reason: `field "amount" is mapped twice`}}},
		{"no letter", Mapping{"city": "--"}, []MappingProblem{{Field: "city", Reason: `column name "--" has no letter or digit`}}},
		{"both amounts", Mapping{"amount": "A", "amount_minor": "B"}, []MappingProblem{{Field: "amount_minor", Reason: reasonBothAmount}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMapping(tt.m)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrMapping)
			var me *MappingError
			require.ErrorAs(t, err, &me)
			require.Equal(t, tt.want, me.Problems)
		})
	}
}

func TestMappingInParse(t *testing.T) {
	in := "Deb. nr.;Omschr. debiteur;Fact.nr;Fact.datum;Verv.datum;Bedrag incl.;Saldo;Nog open;Taal\n" +
		"2001;Kwekerij Groen;A-1;02-01-2026;01-02-2026;1.500,00;999;1.000,00;fr\n"
	m := Mapping{"customer_ref": "Deb. nr.", "customer_name": "omschr debiteur", "invoice_number": "FACT.NR", "issue_date": "Fact.datum",
		"due_date": "Verv.datum", "amount": "Bedrag incl.", "open_amount": "Nog open", "language": ""}
	res := parseCSV(t, in, Options{DefaultCurrency: "EUR", DefaultLanguage: "nl", Mapping: m})
	require.Empty(t, res.Rejected)
	row := res.Rows[0]
	require.Equal(t, "2001", row.Customer.Ref)
	require.Equal(t, int64(100000), row.Invoice.OpenMinor, "the mapped column, not Saldo (an alias of open_amount)")
	require.Equal(t, "nl", row.Customer.Language, "language mapped to nothing: never read")
	require.False(t, row.Given.Has("language"))
	require.Equal(t, []IgnoredColumn{{Column: "Saldo", DidYouMean: "open_amount"}, {Column: "Taal", DidYouMean: "language"}}, res.Ignored)
	require.Equal(t, ColumnUse{Field: "invoice_number", Column: "Fact.nr", By: ByMapping}, res.Columns[0])

	// A mapped column the file lacks: the required field is missing, and
	// the message says where the mapping looked.
	_, err := ParseCSV(strings.NewReader(strings.Replace(in, "Deb. nr.", "Debiteur nr", 1)), Options{DefaultCurrency: "EUR", Mapping: m})
	require.ErrorIs(t, err, ErrHeader)
	require.ErrorContains(t, err, `missing required field "customer_ref": the column mapping reads it from "Deb. nr.", which this file does not have`)

	// An invalid mapping fails every parse, before the file is read.
	for _, parse := range []func() error{
		func() error {
			_, err := ParseCSV(strings.NewReader(in), Options{Mapping: Mapping{"x": "y"}})
			return err
		},
		func() error {
			_, err := ParseJSON(strings.NewReader(`{"rows": []}`), Options{Mapping: Mapping{"x": "y"}})
			return err
		},
		func() error {
			_, err := ParseXLSX(strings.NewReader("PK\x03\x04"), Options{Mapping: Mapping{"x": "y"}})
			return err
		},
	} {
		require.ErrorIs(t, parse(), ErrMapping)
	}

	// JSON keys are mapped the same way.
	js := `{"rows": [{"Deb. nr.": "2001", "Omschr. debiteur": "K", "Fact.nr": "A-1", "Fact.datum": "2026-01-02", "Verv.datum": "2026-02-01", "Bedrag incl.": 15, "Nog open": 10, "Saldo": 1}]}`
	jres, err := ParseJSON(strings.NewReader(js), Options{DefaultCurrency: "EUR", Mapping: m})
	require.NoError(t, err)
	require.Empty(t, jres.Rejected)
	require.Equal(t, int64(1000), jres.Rows[0].Invoice.OpenMinor)
	require.Equal(t, []IgnoredColumn{{Column: "Saldo", DidYouMean: "open_amount"}}, jres.Ignored)
}

// TestWarnings: bad contact data is a warning, listed once per customer,
// and the row is kept; a landline is a warning too (no SMS).
func TestWarnings(t *testing.T) {
	in := "factuurnummer;klantnummer;naam;factuurdatum;vervaldatum;bedrag;email;telefoon;land\n" +
		"F1;K1;Jansen;2026-01-01;2026-01-31;10;jansen@@transport,nl;06 1234 5678 99;NL\n" +
		"F2;K1;Jansen;2026-01-02;2026-02-01;10;jansen@@transport,nl;06 1234 5678 99;NL\n" +
		"F3;K2;Smit;2026-01-02;2026-02-01;10;smit@example.nl;020 123 4567;NL\n" +
		"F4;K3;Bos;2026-01-02;2026-02-01;10;bos@example.nl;+31 6 12345678;NL\n"
	res := parseCSV(t, in, optsEUR)
	require.Empty(t, res.Rejected)
	require.Len(t, res.Rows, 4)
	var got []string
	for _, w := range res.Warnings {
		got = append(got, itoa(w.Line)+" "+w.Field+" "+w.Value)
	}
	require.Equal(t, []string{"2 email jansen@@transport,nl", "2 phone 06 1234 5678 99", "4 phone 020 123 4567"}, got)
	require.Contains(t, res.Warnings[1].Reason, "not a valid phone number in NL")
	require.Contains(t, res.Warnings[2].Reason, "not a mobile number")
	require.Empty(t, res.Rows[0].Customer.Email)
	require.Equal(t, "06 1234 5678 99", res.Rows[0].Customer.Phone)
}
