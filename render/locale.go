package render

import (
	"strconv"
	"strings"
	"time"
)

// languages are the languages with their own formats, labels and default
// templates; any other language falls back to English.
var languages = []string{"nl", "fr", "en", "de"}

// normLang reduces a language tag ("nl-BE", "FR", "de_CH") to one of
// languages, falling back to "en".
func normLang(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	for _, s := range languages {
		if l == s {
			return l
		}
	}
	return "en"
}

// dateLayouts follow each locale's usual numeric date; English uses the
// unambiguous "23 Nov 2026" because en-US and en-GB disagree on 11/23.
var dateLayouts = map[string]string{
	"nl": "02-01-2006",
	"fr": "02/01/2006",
	"de": "02.01.2006",
	"en": "2 Jan 2006",
}

// FormatDate writes the date part of t (in t's own location) as a customer
// reading lang expects it: nl "23-11-2026", fr "23/11/2026", de "23.11.2026",
// en "23 Nov 2026". The zero time gives "", so that a missing date prints
// as a gap instead of "1 Jan 0001".
func FormatDate(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayouts[normLang(lang)])
}

// civilDate is a calendar day, for comparing due dates with today without
// being misled by the time of day.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// labels are the words the renderer itself writes (table headings, the
// one-line summary of #items_list).
type labels struct {
	number, date, due, amount, open, days, total, none string
	// step heads the column of Item.Step (a bundle's items).
	step string
	// summary formats the one-line #items_list of an SMS or a subject.
	summary func(count int, total string) string
}

var allLabels = map[string]labels{
	"en": {
		number: "Invoice", date: "Date", due: "Due date", amount: "Amount", open: "Open",
		days: "Days overdue", total: "Total", none: "No open items.", step: "Reminder",
		summary: func(n int, total string) string {
			if n == 1 {
				return "1 open item, total " + total
			}
			return strconv.Itoa(n) + " open items, total " + total
		},
	},
	"nl": {
		number: "Factuur", date: "Datum", due: "Vervaldatum", amount: "Bedrag", open: "Openstaand",
		days: "Dagen te laat", total: "Totaal", none: "Geen openstaande posten.", step: "Herinnering",
		summary: func(n int, total string) string {
			if n == 1 {
				return "1 openstaande post, totaal " + total
			}
			return strconv.Itoa(n) + " openstaande posten, totaal " + total
		},
	},
	"fr": {
		number: "Facture", date: "Date", due: "Échéance", amount: "Montant", open: "Reste dû",
		days: "Jours de retard", total: "Total", none: "Aucune pièce ouverte.", step: "Relance",
		summary: func(n int, total string) string {
			if n == 1 {
				return "1 pièce ouverte, total " + total
			}
			return strconv.Itoa(n) + " pièces ouvertes, total " + total
		},
	},
	"de": {
		number: "Rechnung", date: "Datum", due: "Fällig am", amount: "Betrag", open: "Offen",
		days: "Tage überfällig", total: "Summe", none: "Keine offenen Posten.", step: "Mahnstufe",
		summary: func(n int, total string) string {
			if n == 1 {
				return "1 offener Posten, Summe " + total
			}
			return strconv.Itoa(n) + " offene Posten, Summe " + total
		},
	},
}
