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
	colCustomerType
	colContactName
	colContactEmail
	colContactPhone
	colCCEmail
	numCols
)

// columns is the column table; index = colID.
var columns = [numCols]ColumnDoc{
	colInvoiceNumber: {
		Name:        "invoice_number",
		Aliases:     []string{"factuurnummer", "factuurnr", "factuur_nr", "factuur", "numero_facture", "numero_de_facture", "n_facture", "no_facture", "num_facture", "facture", "n_piece", "numero_piece", "numero_de_piece", "num_piece", "piece", "n_document", "numero_document", "no_document", "rechnungsnummer", "rechnungsnr", "rechnungs_nr", "rechnung_nr", "re_nr", "belegnummer", "belegnr", "belegfeld_1", "invoice", "invoice_no", "invoice_nr", "document_number"},
		Required:    true,
		Description: "Invoice number, unique within the file; a number found on several rows rejects all of them.",
		Example:     "F2026-0042",
	},
	colCustomerRef: {
		Name:        "customer_ref",
		Aliases:     []string{"debiteurnummer", "debiteurnr", "debiteur", "debiteurcode", "code_debiteur", "relatiecode", "relatienummer", "relatienr", "relatie", "klantnummer", "klantnr", "klantcode", "code_client", "numero_client", "n_client", "identifiant_client", "id_client", "reference_client", "ref_client", "compte_client", "code_tiers", "tiers", "compte_tiers", "numero_tiers", "debitorennummer", "debitorennr", "debitor", "debitorenkonto", "konto", "kontonummer", "kundennummer", "kundennr", "kunden_nr", "customer_id", "customer_number", "customer_code", "customer_no", "debtor_number", "debtor_code", "debtor", "relation_code", "account_code"},
		Required:    true,
		Description: "The customer's reference (debtor number) in the accounting software; rows with the same reference must carry the same customer data.",
		Example:     "D10023",
	},
	colCustomerName: {
		Name:        "customer_name",
		Aliases:     []string{"naam", "klantnaam", "debiteurnaam", "naam_debiteur", "relatienaam", "naam_relatie", "bedrijfsnaam", "nom", "nom_client", "nom_du_client", "raison_sociale", "intitule", "intitule_tiers", "libelle_tiers", "nom_tiers", "client", "kunde", "kundenname", "debitorenname", "debitor_name", "firma", "firmenname", "name", "customer", "company_name", "account_name", "debtor_name", "relation_name"},
		Required:    true,
		Description: "The customer's name as printed on letters.",
		Example:     "Bakkerij Janssens BV",
	},
	colIssueDate: {
		Name:        "issue_date",
		Aliases:     []string{"factuurdatum", "datum_factuur", "documentdatum", "boekstukdatum", "datum", "date_facture", "date_de_facture", "date_piece", "date_de_piece", "date_document", "date_d_emission", "rechnungsdatum", "belegdatum", "invoice_date", "document_date", "date"},
		Required:    true,
		Description: "Invoice date: 2006-01-02, 02-01-2006, 02/01/2006, 02.01.2006, 2/1/2006, 20060102 or 2006/01/02, an optional time is dropped; day first unless the import says MDY.",
		Example:     "15-01-2026",
	},
	colDueDate: {
		Name:        "due_date",
		Aliases:     []string{"vervaldatum", "vervaldag", "vervaldatum_factuur", "uiterste_betaaldatum", "echeance", "date_echeance", "date_d_echeance", "date_limite_de_paiement", "falligkeit", "falligkeitsdatum", "fallig_am", "faellig_am", "faelligkeit", "zahlungsziel", "due", "payment_due_date", "due_on"},
		Required:    true,
		Description: "Due date, same formats as issue_date; not before issue_date. Journey steps are counted from it.",
		Example:     "14-02-2026",
	},
	colAmount: {
		Name:        "amount",
		Aliases:     []string{"bedrag", "factuurbedrag", "bedrag_factuur", "bedrag_incl_btw", "bedrag_valuta", "totaal", "totaal_incl_btw", "montant", "montant_ttc", "montant_facture", "total_ttc", "betrag", "rechnungsbetrag", "bruttobetrag", "brutto", "betrag_brutto", "total", "total_amount", "invoice_amount", "amount_incl_vat", "gross_amount"},
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
		Aliases:     []string{"openstaand", "openstaand_bedrag", "openstaand_saldo", "nog_te_betalen", "restant", "restantbedrag", "saldo", "solde", "solde_du", "reste_a_payer", "reste_du", "reste_a_regler", "montant_restant", "montant_restant_du", "montant_du", "offener_betrag", "offen", "offener_saldo", "restbetrag", "outstanding", "outstanding_amount", "balance", "balance_due", "remaining_amount", "amount_due", "amount_outstanding"},
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
		Aliases:     []string{"valuta", "valutacode", "munt", "devise", "code_devise", "wahrung", "wkz", "currency_code"},
		Description: "ISO 4217 code (EUR, USD, JPY, ...); amounts are read with its number of decimals. Defaults to the administration's currency.",
		Example:     "EUR",
	},
	colEmail: {
		Name:        "email",
		Aliases:     []string{"e_mail", "emailadres", "e_mailadres", "email_adres", "mailadres", "email_address", "e_mail_address", "courriel", "adresse_email", "adresse_e_mail", "email_du_client", "e_mail_adresse", "mail"},
		Description: "One bare email address (no display name, no list).",
		Example:     "boekhouding@janssens.be",
	},
	colPhone: {
		Name:        "phone",
		Aliases:     []string{"telefoon", "telefoonnummer", "telefoonnr", "mobiel", "mobiel_nummer", "mobiel_nr", "mobielnummer", "gsm", "gsm_nummer", "telephone", "tel", "telephone_portable", "portable", "mobile", "telefon", "telefonnummer", "mobil", "mobiltelefon", "handy", "phone_number", "mobile_phone", "mobile_number", "cell"},
		Description: "Phone number as written; a mobile number enables SMS.",
		Example:     "+32 470 12 34 56",
	},
	colAddress1: {
		Name:        "address_line1",
		Aliases:     []string{"adres", "straat", "straat_en_huisnummer", "adresregel_1", "adresse", "adresse_1", "rue", "strasse", "straße", "anschrift", "street", "address", "address1", "address_line_1"},
		Description: "Street and number.",
		Example:     "Kerkstraat 12",
	},
	colAddress2: {
		Name:        "address_line2",
		Aliases:     []string{"adres2", "adres_2", "adresregel_2", "adresse2", "adresse_2", "complement", "complement_d_adresse", "complement_adresse", "adresszusatz", "address2", "address_line_2"},
		Description: "Second address line (building, PO box).",
		Example:     "Bus 3",
	},
	colPostalCode: {
		Name:        "postal_code",
		Aliases:     []string{"postcode", "pc", "code_postal", "cp", "plz", "postleitzahl", "zip", "zip_code", "zipcode", "post_code", "postal"},
		Description: "Postal code.",
		Example:     "9000",
	},
	colCity: {
		Name:        "city",
		Aliases:     []string{"plaats", "woonplaats", "vestigingsplaats", "gemeente", "stad", "ville", "localite", "commune", "ort", "stadt", "town"},
		Description: "City.",
		Example:     "Gent",
	},
	colCountry: {
		Name:        "country",
		Aliases:     []string{"land", "landcode", "pays", "code_pays", "country_code", "landerkennzeichen"},
		Description: "ISO 3166-1 alpha-2 country code; defaults to the administration's country.",
		Example:     "BE",
	},
	colLanguage: {
		Name:        "language",
		Aliases:     []string{"taal", "correspondentietaal", "langue", "langue_de_correspondance", "sprache", "korrespondenzsprache", "lang"},
		Description: "Language of the customer's messages: nl, fr, en or de (a region suffix such as nl-BE is accepted); defaults to the administration's language.",
		Example:     "nl",
	},
	colLegalID: {
		Name:        "legal_id",
		Aliases:     []string{"kvk", "kvk_nummer", "kvk_nr", "ondernemingsnummer", "btw", "btw_nummer", "btw_nr", "siren", "siret", "numero_siret", "tva", "numero_tva", "n_tva", "n_tva_intracom", "tva_intracommunautaire", "ust_idnr", "ust_id", "ust_id_nr", "steuernummer", "handelsregisternummer", "vat", "vat_number", "vat_id", "company_number"},
		Description: "Company registration or VAT number, as written.",
		Example:     "BE0123456789",
	},
	colCustomerType: {
		Name:        "customer_type",
		Aliases:     []string{"type", "klanttype", "type_klant", "debiteurtype", "soort_klant", "klantsoort", "b2b_b2c", "b2c_b2b", "b2b", "type_client", "type_de_client", "categorie_client", "kundentyp", "kundenart", "kundengruppe", "customer_category", "client_type"},
		Description: "business or consumer (also B2B/B2C, zakelijk/particulier, professionnel/particulier, Unternehmen/Verbraucher): decides the collection costs (EU 40 EUR or the Dutch WIK scale). An unknown value is a warning and leaves the type as it is (business for a new customer).",
		Example:     "B2C",
	},
	colContactName: {
		Name:        "contact_name",
		Aliases:     []string{"contactpersoon", "contact_persoon", "naam_contactpersoon", "contactpersoon_naam", "tav", "t_a_v", "ter_attentie_van", "contact", "interlocuteur", "nom_contact", "nom_interlocuteur", "a_l_attention_de", "ansprechpartner", "name_ansprechpartner", "ansprechpartner_name", "kontaktperson", "contact_person", "attention"},
		Description: "The customer's contact person (read with contact_email): receives every kind of email, in place of the customer's address; roles and copy are changed through the API and kept.",
		Example:     "An Peeters",
	},
	colContactEmail: {
		Name:        "contact_email",
		Aliases:     []string{"email_contactpersoon", "e_mail_contactpersoon", "contactpersoon_email", "contactpersoon_e_mail", "email_contact", "e_mail_contact", "courriel_contact", "email_interlocuteur", "e_mail_interlocuteur", "ansprechpartner_email", "ansprechpartner_e_mail", "email_ansprechpartner", "e_mail_ansprechpartner", "contact_e_mail", "contact_person_email", "contact_email_address"},
		Description: "The contact person's address, one bare address; without it no contact person is written. A malformed one is a warning.",
		Example:     "an.peeters@janssens.be",
	},
	colContactPhone: {
		Name:        "contact_phone",
		Aliases:     []string{"telefoon_contactpersoon", "contactpersoon_telefoon", "tel_contactpersoon", "telephone_contact", "tel_contact", "telephone_interlocuteur", "ansprechpartner_telefon", "telefon_ansprechpartner", "contact_phone_number", "contact_person_phone"},
		Description: "The contact person's phone, as written.",
		Example:     "+32 9 123 45 67",
	},
	colCCEmail: {
		Name:        "cc_email",
		Aliases:     []string{"cc", "email_cc", "e_mail_cc", "cc_e_mail", "cc_adres", "kopie_email", "email_kopie", "e_mail_kopie", "kopie_e_mail", "copie_email", "email_copie", "e_mail_copie", "courriel_copie", "kopie_an", "email_kopie_an", "cc_address", "copy_email"},
		Description: "An address that receives every email in copy (Cc), one bare address; a malformed one is a warning.",
		Example:     "directie@janssens.be",
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
