package render

import (
	"fmt"
	"slices"
	"strings"
)

// A bundle is one message about the reminders of several invoices of one
// customer (docs/bundling.md). It concerns no single invoice: its Data has
// Invoice nil and Items the bundled invoices, each with its Step label, so
// its texts use #items_list, #items_count and #total_due, never the
// #invoice_… tags (they would print empty; ValidateKind refuses them in a
// stored bundle text).

// BundleDefaults returns the shipped bundle texts: reminder and
// final_reminder by email and post, sms by SMS, in nl, fr, en and de. The
// slice is a copy.
func BundleDefaults() []Template { return slices.Clone(bundleTemplates) }

// DefaultBundle returns the shipped bundle text for a step kind (reminder,
// final_reminder, sms), channel and language, falling back to English for
// another language; false for a kind or channel without one.
func DefaultBundle(kind, channel, lang string) (Template, bool) {
	return lookup(bundleTemplates, kind, channel, lang)
}

// StepLabel is the label of a step kind in a bundle's items table (the
// Step column): which reminder each invoice is at. Unknown kinds give "".
func StepLabel(kind, lang string) string {
	return stepLabels[normLang(lang)][kind]
}

var stepLabels = map[string]map[string]string{
	"en": {kindReminder: "Reminder", kindFinalReminder: "Final reminder", kindSMS: "Text reminder"},
	"nl": {kindReminder: "Herinnering", kindFinalReminder: "Laatste herinnering", kindSMS: "Sms-herinnering"},
	"fr": {kindReminder: "Rappel", kindFinalReminder: "Dernier rappel", kindSMS: "Rappel par SMS"},
	"de": {kindReminder: "Zahlungserinnerung", kindFinalReminder: "Letzte Mahnung", kindSMS: "SMS-Erinnerung"},
}

var bundleTemplates = buildBundleDefaults()

func buildBundleDefaults() []Template {
	var out []Template
	for _, lang := range languages {
		lt := defaultTexts[lang]
		for _, kind := range []string{kindReminder, kindFinalReminder, kindSMS} {
			kt := bundleTexts[lang][kind]
			if len(kt.paras) > 0 {
				paras := append(append([]string{lt.greeting}, kt.paras...), lt.emailClosing)
				out = append(out, Template{Kind: kind, Channel: channelEmail, Language: lang,
					Subject: kt.subject, Body: emailBody(paras)})
				paras[len(paras)-1] = lt.letterClosing
				out = append(out, Template{Kind: kind, Channel: channelPost, Language: lang,
					Subject: kt.subject, Body: letterBody(paras)})
			}
			if kt.sms != "" {
				out = append(out, Template{Kind: kind, Channel: channelSMS, Language: lang, Body: kt.sms})
			}
		}
	}
	return out
}

// bundleTexts are the bundle variants of the reminder, the final reminder
// and the SMS, per language; greeting and closings are the language's own
// (defaultTexts).
var bundleTexts = map[string]map[string]kindTexts{
	"en": {
		kindReminder: {
			subject: "Payment reminder: #items_count unpaid invoices",
			paras: []string{
				"According to our records, the invoices below have not yet been paid. The amount outstanding is **#total_due**.",
				"#items_list",
				"This may well be an oversight. We kindly ask you to pay this amount within the next few days, quoting the invoice numbers, to:\n#bank_details",
				"On your personal page you can see your open invoices, write to us, dispute an invoice or promise to pay by a date: #portal_link",
				"If you have paid in the meantime, please disregard this reminder.",
			},
		},
		kindFinalReminder: {
			subject: "Final reminder: #items_count unpaid invoices",
			paras: []string{
				"Despite our earlier reminders, we have not yet received payment of the invoices below. The amount outstanding is **#total_due**.",
				"#items_list",
				"We ask you to pay this amount **within 8 days** to:\n#bank_details",
				"If we have not received your payment by then, we will hand the claim over to our collection procedure without further notice. Under our terms and conditions, late-payment interest at #late_penalty_rate and collection costs will then be charged to you.",
				"On your personal page you can write to us about these invoices, dispute one or promise to pay by a date: #portal_link",
				"If you have paid in the meantime, please disregard this reminder.",
			},
		},
		kindSMS: {
			sms: "#company_name: reminder, #items_list still unpaid. Please pay or write to us; your page (code #portal_code): #portal_home",
		},
	},
	"nl": {
		kindReminder: {
			subject: "Betalingsherinnering: #items_count onbetaalde facturen",
			paras: []string{
				"Volgens onze administratie zijn de onderstaande facturen nog niet betaald. Het openstaande bedrag is **#total_due**.",
				"#items_list",
				"Wellicht is dit aan uw aandacht ontsnapt. Wij verzoeken u vriendelijk dit bedrag binnen enkele dagen, onder vermelding van de factuurnummers, over te maken naar:\n#bank_details",
				"Op uw persoonlijke pagina ziet u uw openstaande facturen en kunt u ons schrijven, een factuur betwisten of toezeggen op een datum te betalen: #portal_link",
				"Hebt u inmiddels betaald, dan kunt u deze herinnering als niet verzonden beschouwen.",
			},
		},
		kindFinalReminder: {
			subject: "Laatste herinnering: #items_count onbetaalde facturen",
			paras: []string{
				"Ondanks onze eerdere herinneringen hebben wij de betaling van de onderstaande facturen nog niet ontvangen. Het openstaande bedrag is **#total_due**.",
				"#items_list",
				"Wij verzoeken u dit bedrag **binnen 8 dagen** over te maken naar:\n#bank_details",
				"Hebben wij uw betaling dan niet ontvangen, dan dragen wij de vordering zonder nadere aankondiging over aan onze incassoprocedure. Volgens onze algemene voorwaarden worden dan vertragingsrente van #late_penalty_rate en incassokosten bij u in rekening gebracht.",
				"Op uw persoonlijke pagina kunt u ons over deze facturen schrijven, een factuur betwisten of toezeggen op een datum te betalen: #portal_link",
				"Hebt u inmiddels betaald, dan kunt u deze herinnering als niet verzonden beschouwen.",
			},
		},
		kindSMS: {
			sms: "#company_name: herinnering, #items_list nog niet betaald. Betaal of schrijf ons; uw pagina (code #portal_code): #portal_home",
		},
	},
	"fr": {
		kindReminder: {
			subject: "Rappel de paiement : #items_count factures impayées",
			paras: []string{
				"Sauf erreur de notre part, les factures ci-dessous n'ont pas encore été réglées. Le montant restant dû s'élève à **#total_due**.",
				"#items_list",
				"Il s'agit peut-être d'un simple oubli. Nous vous remercions de bien vouloir régler ce montant dans les meilleurs délais, en indiquant les numéros de facture, sur le compte suivant :\n#bank_details",
				"Votre espace personnel vous permet de consulter vos factures ouvertes, de nous écrire, de contester une facture ou de promettre un paiement à une date : #portal_link",
				"Si vous avez réglé ces factures entre-temps, nous vous prions de ne pas tenir compte de ce rappel.",
			},
		},
		kindFinalReminder: {
			subject: "Dernier rappel : #items_count factures impayées",
			paras: []string{
				"Malgré nos précédents rappels, nous n'avons pas reçu le règlement des factures ci-dessous. Le montant restant dû s'élève à **#total_due**.",
				"#items_list",
				"Nous vous demandons de régler ce montant **sous 8 jours** sur le compte suivant :\n#bank_details",
				"À défaut de règlement dans ce délai, nous transmettrons la créance à notre service de recouvrement sans autre préavis. Conformément à nos conditions générales, des pénalités de retard au taux de #late_penalty_rate ainsi que l'indemnité forfaitaire pour frais de recouvrement vous seront alors facturées.",
				"Votre espace personnel vous permet de nous écrire au sujet de ces factures, d'en contester une ou de promettre un paiement à une date : #portal_link",
				"Si vous avez réglé ces factures entre-temps, nous vous prions de ne pas tenir compte de ce rappel.",
			},
		},
		kindSMS: {
			sms: "#company_name : rappel, #items_list restent impayées. Réglez ou écrivez-nous ; votre espace (code #portal_code) : #portal_home",
		},
	},
	"de": {
		kindReminder: {
			subject: "Zahlungserinnerung: #items_count offene Rechnungen",
			paras: []string{
				"nach unseren Unterlagen sind die nachstehenden Rechnungen noch nicht beglichen. Der offene Betrag beläuft sich auf **#total_due**.",
				"#items_list",
				"Sicher handelt es sich um ein Versehen. Wir bitten Sie, den Betrag in den nächsten Tagen unter Angabe der Rechnungsnummern auf folgendes Konto zu überweisen:\n#bank_details",
				"Auf Ihrer persönlichen Seite sehen Sie Ihre offenen Rechnungen und können uns schreiben, eine Rechnung bestreiten oder die Zahlung zu einem Datum zusagen: #portal_link",
				"Sollten Sie die Zahlung inzwischen geleistet haben, betrachten Sie dieses Schreiben bitte als gegenstandslos.",
			},
		},
		kindFinalReminder: {
			subject: "Letzte Mahnung: #items_count offene Rechnungen",
			paras: []string{
				"trotz unserer Zahlungserinnerungen haben wir die Zahlung der nachstehenden Rechnungen noch nicht erhalten. Der offene Betrag beläuft sich auf **#total_due**.",
				"#items_list",
				"Wir fordern Sie auf, diesen Betrag **innerhalb von 8 Tagen** auf folgendes Konto zu überweisen:\n#bank_details",
				"Sollte die Zahlung bis dahin nicht eingegangen sein, übergeben wir die Forderung ohne weitere Ankündigung an unser Inkassoverfahren. Gemäß unseren Allgemeinen Geschäftsbedingungen werden Ihnen dann Verzugszinsen in Höhe von #late_penalty_rate sowie Inkassokosten berechnet.",
				"Auf Ihrer persönlichen Seite können Sie uns zu diesen Rechnungen schreiben, eine bestreiten oder die Zahlung zu einem Datum zusagen: #portal_link",
				"Sollten Sie die Zahlung inzwischen geleistet haben, betrachten Sie dieses Schreiben bitte als gegenstandslos.",
			},
		},
		kindSMS: {
			sms: "#company_name: Erinnerung, #items_list noch unbezahlt. Bitte zahlen Sie oder schreiben Sie uns; Ihre Seite (Code #portal_code): #portal_home",
		},
	},
}

// BundleKindPrefix starts the template kind of a bundle text:
// "bundle_reminder", "bundle_final_reminder", "bundle_sms". An
// administration stores its own bundle texts under these kinds (same
// table, versions and API as every other template); the step kinds stay
// "reminder", "final_reminder" and "sms".
const BundleKindPrefix = "bundle_"

// BundleKind is the template kind of the bundle text of a step kind.
func BundleKind(step string) string { return BundleKindPrefix + step }

// BundleStep is the step kind of a bundle template kind; false for a kind
// that is not a bundle's.
func BundleStep(kind string) (string, bool) {
	step, ok := strings.CutPrefix(kind, BundleKindPrefix)
	return step, ok && step != ""
}

// TemplateDefaults returns every shipped text an administration can
// override, under its template kind: Defaults, then the bundle texts
// (BundleDefaults) with the kinds "bundle_…". The slice is a copy.
func TemplateDefaults() []Template {
	out := Defaults()
	for _, t := range bundleTemplates {
		t.Kind = BundleKind(t.Kind)
		out = append(out, t)
	}
	return out
}

// TemplateDefault is Default for a template kind, a bundle's ("bundle_…",
// DefaultBundle, returned under its template kind) or a step's.
func TemplateDefault(kind, channel, lang string) (Template, bool) {
	step, ok := BundleStep(kind)
	if !ok {
		return Default(kind, channel, lang)
	}
	t, ok := DefaultBundle(step, channel, lang)
	t.Kind = kind
	return t, ok
}

// InvoiceTagError is a tag about one invoice (#invoice_number, #due_date,
// …) in a bundle text: a bundle concerns several invoices, so those tags
// would print empty.
type InvoiceTagError struct{ Tag string }

func (e *InvoiceTagError) Error() string {
	return fmt.Sprintf("%s is about one invoice; a bundle's text is about several (use #items_list, #items_count, #total_due)", e.Tag)
}

// ValidateKind is Validate for a text of template kind kind: a bundle's
// text (BundleStep) may not use the tags about one invoice
// (InvoiceTagError).
func ValidateKind(kind, text string) error {
	if err := Validate(text); err != nil {
		return err
	}
	if _, ok := BundleStep(kind); !ok {
		return nil
	}
	var err error
	scanTags(text, func(_, _ int, name string) bool {
		if def := tagIndex[name]; def != nil && def.invoice {
			err = &InvoiceTagError{Tag: "#" + name}
			return false
		}
		return true
	})
	return err
}
