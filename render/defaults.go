package render

import (
	"slices"
	"strings"
)

// Template is a stored message template: what an administration edits,
// per step kind, channel and language. Kind and Channel are the string
// values of policy.StepKind and policy.Channel, kept as plain strings so
// that this package depends on nothing.
type Template struct {
	Kind, Channel, Language string
	// Subject is the email subject or the letter's subject line; empty for
	// an SMS.
	Subject string
	// Body is rich text for email, plain text with blank-line paragraphs
	// for a letter, plain text for an SMS.
	Body string
	// ID and Version name an administration's saved template version;
	// both are zero for a shipped default.
	ID      int64
	Version int
}

// StoredID is the ID of the saved template, or nil for a shipped default.
func (t Template) StoredID() *int64 {
	if t.ID == 0 {
		return nil
	}
	return &t.ID
}

// Step kinds and channels of the default templates (the values of
// policy.StepKind and policy.Channel).
const (
	kindInvoice       = "invoice"
	kindReminder      = "reminder"
	kindFinalReminder = "final_reminder"
	kindSMS           = "sms"
	kindCollection    = "collection"
	kindStatement     = "statement"

	channelEmail = "email"
	channelPost  = "post"
	channelSMS   = "sms"
)

// Defaults returns the shipped templates: every step kind in nl, fr, en and
// de, by email and post (invoice, reminder, final_reminder, collection,
// statement) and by SMS (sms, collection, statement). An administration
// starts from these and edits its own copies. The slice is a copy.
func Defaults() []Template { return slices.Clone(defaultTemplates) }

// Default returns the shipped template for a kind, channel and language,
// falling back to English for another language.
func Default(kind, channel, lang string) (Template, bool) {
	return lookup(defaultTemplates, kind, channel, lang)
}

// lookup finds the template of a kind, channel and language in list,
// falling back to English for another language.
func lookup(list []Template, kind, channel, lang string) (Template, bool) {
	for _, try := range []string{normLang(lang), "en"} {
		for _, t := range list {
			if t.Kind == kind && t.Channel == channel && t.Language == try {
				return t, true
			}
		}
	}
	return Template{}, false
}

// kindTexts are the texts of one kind in one language. Paragraphs are
// shared by email and letter: they mark emphasis with **…** (bold in email,
// plain on paper) and print #portal_link as an address, which works on
// paper and becomes a link in HTML.
type kindTexts struct {
	subject string
	paras   []string
	sms     string
}

// langTexts are the texts of one language.
type langTexts struct {
	greeting, emailClosing, letterClosing string
	kinds                                 map[string]kindTexts
}

var defaultTemplates = buildDefaults()

func buildDefaults() []Template {
	var out []Template
	for _, lang := range languages {
		lt := defaultTexts[lang]
		for _, kind := range []string{kindInvoice, kindReminder, kindFinalReminder, kindSMS, kindCollection, kindStatement} {
			kt := lt.kinds[kind]
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

var htmlSpecials = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// emailBody writes paragraphs in the rich-text subset.
func emailBody(paras []string) string {
	var b strings.Builder
	for _, p := range paras {
		p = htmlSpecials.Replace(p)
		for strings.Count(p, "**") >= 2 {
			p = strings.Replace(p, "**", "<strong>", 1)
			p = strings.Replace(p, "**", "</strong>", 1)
		}
		b.WriteString("<p>" + strings.ReplaceAll(p, "\n", "<br>\n") + "</p>\n")
	}
	return b.String()
}

// letterBody writes paragraphs as plain text.
func letterBody(paras []string) string {
	out := make([]string, len(paras))
	for i, p := range paras {
		out[i] = strings.ReplaceAll(p, "**", "")
	}
	return strings.Join(out, "\n\n")
}

var defaultTexts = map[string]langTexts{
	"en": {
		greeting:      "Dear #customer_name,",
		emailClosing:  "Kind regards,\n#user_name\n#company_name\n#user_phone",
		letterClosing: "Kind regards,\n\n#user_name\n#company_name",
		kinds: map[string]kindTexts{
			kindInvoice: {
				subject: "Invoice #invoice_number from #company_name",
				paras: []string{
					"We have issued invoice #invoice_number dated #invoice_date for an amount of **#invoice_amount**, payable by **#due_date**.",
					"Please transfer the amount, quoting the invoice number, to:\n#bank_details",
					"On your personal page you can see your open invoices, give us your email address, write to us, dispute an invoice or promise to pay by a date: #portal_link",
					"If you have any questions about this invoice, please contact #user_name at #user_email or #user_phone.",
				},
			},
			kindReminder: {
				subject: "Payment reminder: invoice #invoice_number",
				paras: []string{
					"According to our records, invoice #invoice_number dated #invoice_date, due on #due_date, has not yet been paid. The amount outstanding is **#open_amount**.",
					"This may well be an oversight. We kindly ask you to pay this amount within the next few days, quoting the invoice number, to:\n#bank_details",
					"For your information, here is an overview of all open items on your account:",
					"#items_list",
					"On your personal page you can see your open invoices, write to us, dispute an invoice or promise to pay by a date: #portal_link",
					"If you have paid in the meantime, please disregard this reminder.",
				},
			},
			kindFinalReminder: {
				subject: "Final reminder: invoice #invoice_number",
				paras: []string{
					"Despite our earlier reminder, we have not yet received payment of invoice #invoice_number dated #invoice_date. It was due on #due_date and is now #days_overdue days overdue. The total overdue amount on your account is **#overdue_amount**.",
					"We ask you to pay this amount **within 8 days** to:\n#bank_details",
					"If we have not received your payment by then, we will hand the claim over to our collection procedure without further notice. Under our terms and conditions, late-payment interest at #late_penalty_rate and collection costs will then be charged to you.",
					"Overview of your open items:",
					"#items_list",
					"On your personal page you can write to us about this invoice, dispute it or promise to pay by a date: #portal_link",
					"If you have paid in the meantime, please disregard this reminder.",
				},
			},
			kindSMS: {
				sms: "#company_name: invoice #invoice_number (#open_amount) was due on #due_date and is still unpaid. Your page (code #portal_code): #portal_home",
			},
			kindCollection: {
				subject: "Notice of default: amount due #total_claim",
				paras: []string{
					"Despite our reminders, the invoices below remain unpaid. Your account has therefore been placed in our collection procedure.",
					"#items_list",
					"In addition to the overdue amount of #overdue_amount, you now owe collection costs of #collection_costs and late-payment interest of #interest. The total amount due is **#total_claim**.",
					"We require you to pay #total_claim **within 14 days** to:\n#bank_details",
					"If we do not receive payment within this period, we will instruct a collection agency or take legal action without further notice, at further cost to you.",
					"If you believe this notice is in error, or you wish to propose a payment plan, contact us immediately on #user_phone or through your personal page: #portal_link",
				},
				sms: "#company_name: your account is in our collection procedure. Amount due including costs and interest: #total_claim. Please pay now or write to us; your page (code #portal_code): #portal_home",
			},
			kindStatement: {
				subject: "Your statement of account from #company_name",
				paras: []string{
					"Please find below an overview of the open items on your account on #today.",
					"#items_list",
					"The total open balance is **#total_due**, of which #overdue_amount is overdue.",
					"We would be grateful if you could settle any overdue items, quoting the invoice numbers, to:\n#bank_details",
					"On your personal page you can see your open invoices, write to us, dispute an invoice or promise to pay by a date: #portal_link",
					"If your records differ from this statement, please let us know.",
				},
				sms: "#company_name: you have #items_list, of which #overdue_amount is overdue. Overview (code #portal_code): #portal_home",
			},
		},
	},
	"nl": {
		greeting:      "Geachte heer, mevrouw,",
		emailClosing:  "Met vriendelijke groet,\n#user_name\n#company_name\n#user_phone",
		letterClosing: "Met vriendelijke groet,\n\n#user_name\n#company_name",
		kinds: map[string]kindTexts{
			kindInvoice: {
				subject: "Factuur #invoice_number van #company_name",
				paras: []string{
					"Wij hebben factuur #invoice_number van #invoice_date opgemaakt voor een bedrag van **#invoice_amount**. Wij verzoeken u dit bedrag uiterlijk **#due_date** te voldoen.",
					"U kunt het bedrag onder vermelding van het factuurnummer overmaken naar:\n#bank_details",
					"Op uw persoonlijke pagina ziet u uw openstaande facturen en kunt u ons uw e-mailadres geven, ons schrijven, een factuur betwisten of toezeggen op een datum te betalen: #portal_link",
					"Hebt u vragen over deze factuur? Neem dan contact op met #user_name via #user_email of #user_phone.",
				},
			},
			kindReminder: {
				subject: "Betalingsherinnering factuur #invoice_number",
				paras: []string{
					"Volgens onze administratie is factuur #invoice_number van #invoice_date, met vervaldatum #due_date, nog niet betaald. Het openstaande bedrag is **#open_amount**.",
					"Wellicht is dit aan uw aandacht ontsnapt. Wij verzoeken u vriendelijk dit bedrag binnen enkele dagen, onder vermelding van het factuurnummer, over te maken naar:\n#bank_details",
					"Ter informatie een overzicht van alle openstaande posten op uw rekening:",
					"#items_list",
					"Op uw persoonlijke pagina ziet u uw openstaande facturen en kunt u ons schrijven, een factuur betwisten of toezeggen op een datum te betalen: #portal_link",
					"Hebt u inmiddels betaald, dan kunt u deze herinnering als niet verzonden beschouwen.",
				},
			},
			kindFinalReminder: {
				subject: "Laatste herinnering factuur #invoice_number",
				paras: []string{
					"Ondanks onze eerdere herinnering hebben wij de betaling van factuur #invoice_number van #invoice_date nog niet ontvangen. De vervaldatum was #due_date; de factuur is nu #days_overdue dagen te laat. Het totale achterstallige bedrag op uw rekening is **#overdue_amount**.",
					"Wij verzoeken u dit bedrag **binnen 8 dagen** over te maken naar:\n#bank_details",
					"Hebben wij uw betaling dan niet ontvangen, dan dragen wij de vordering zonder nadere aankondiging over aan onze incassoprocedure. Volgens onze algemene voorwaarden worden dan vertragingsrente van #late_penalty_rate en incassokosten bij u in rekening gebracht.",
					"Overzicht van uw openstaande posten:",
					"#items_list",
					"Op uw persoonlijke pagina kunt u ons over deze factuur schrijven, haar betwisten of toezeggen op een datum te betalen: #portal_link",
					"Hebt u inmiddels betaald, dan kunt u deze herinnering als niet verzonden beschouwen.",
				},
			},
			kindSMS: {
				sms: "#company_name: factuur #invoice_number (#open_amount) is vervallen op #due_date en nog niet betaald. Uw pagina (code #portal_code): #portal_home",
			},
			kindCollection: {
				subject: "Ingebrekestelling: openstaand bedrag #total_claim",
				paras: []string{
					"Ondanks onze herinneringen zijn de onderstaande facturen nog altijd niet betaald. Uw rekening is daarom overgedragen aan onze incassoprocedure.",
					"#items_list",
					"Naast het achterstallige bedrag van #overdue_amount bent u nu incassokosten van #collection_costs en rente van #interest verschuldigd. Het totaal verschuldigde bedrag is **#total_claim**.",
					"Wij sommeren u het bedrag van #total_claim **binnen 14 dagen** over te maken naar:\n#bank_details",
					"Blijft betaling binnen deze termijn uit, dan schakelen wij zonder nadere aankondiging een incassobureau in of nemen wij gerechtelijke maatregelen. De extra kosten daarvan komen voor uw rekening.",
					"Meent u dat deze ingebrekestelling ten onrechte is, of wilt u een betalingsregeling voorstellen, neem dan direct contact met ons op via #user_phone of via uw persoonlijke pagina: #portal_link",
				},
				sms: "#company_name: uw rekening is in incasso. Te betalen inclusief kosten en rente: #total_claim. Betaal nu of schrijf ons; uw pagina (code #portal_code): #portal_home",
			},
			kindStatement: {
				subject: "Rekeningoverzicht van #company_name",
				paras: []string{
					"Hieronder vindt u een overzicht van de openstaande posten op uw rekening per #today.",
					"#items_list",
					"Het totale openstaande saldo is **#total_due**, waarvan #overdue_amount vervallen is.",
					"Wij verzoeken u het bedrag van eventuele vervallen posten, onder vermelding van de factuurnummers, over te maken naar:\n#bank_details",
					"Op uw persoonlijke pagina ziet u uw openstaande facturen en kunt u ons schrijven, een factuur betwisten of toezeggen op een datum te betalen: #portal_link",
					"Wijkt uw administratie af van dit overzicht? Laat het ons dan weten.",
				},
				sms: "#company_name: u hebt #items_list, waarvan #overdue_amount vervallen. Overzicht (code #portal_code): #portal_home",
			},
		},
	},
	"fr": {
		greeting:      "Madame, Monsieur,",
		emailClosing:  "Cordialement,\n#user_name\n#company_name\n#user_phone",
		letterClosing: "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.\n\n#user_name\n#company_name",
		kinds: map[string]kindTexts{
			kindInvoice: {
				subject: "Facture #invoice_number de #company_name",
				paras: []string{
					"Nous avons émis la facture #invoice_number du #invoice_date d'un montant de **#invoice_amount**, payable au plus tard le **#due_date**.",
					"Vous pouvez régler ce montant par virement, en indiquant le numéro de facture, sur le compte suivant :\n#bank_details",
					"Votre espace personnel vous permet de consulter vos factures ouvertes, de nous donner votre adresse e-mail, de nous écrire, de contester une facture ou de promettre un paiement à une date : #portal_link",
					"Pour toute question concernant cette facture, contactez #user_name par e-mail à #user_email ou par téléphone au #user_phone.",
				},
			},
			kindReminder: {
				subject: "Rappel de paiement : facture #invoice_number",
				paras: []string{
					"Sauf erreur de notre part, la facture #invoice_number du #invoice_date, échue le #due_date, n'a pas encore été réglée. Le montant restant dû s'élève à **#open_amount**.",
					"Il s'agit peut-être d'un simple oubli. Nous vous remercions de bien vouloir régler ce montant dans les meilleurs délais, en indiquant le numéro de facture, sur le compte suivant :\n#bank_details",
					"Pour information, voici le relevé de toutes les pièces ouvertes sur votre compte :",
					"#items_list",
					"Votre espace personnel vous permet de consulter vos factures ouvertes, de nous écrire, de contester une facture ou de promettre un paiement à une date : #portal_link",
					"Si vous avez réglé cette facture entre-temps, nous vous prions de ne pas tenir compte de ce rappel.",
				},
			},
			kindFinalReminder: {
				subject: "Dernier rappel : facture #invoice_number",
				paras: []string{
					"Malgré notre précédent rappel, nous n'avons pas reçu le règlement de la facture #invoice_number du #invoice_date, échue le #due_date, soit #days_overdue jours de retard. Le montant total échu sur votre compte s'élève à **#overdue_amount**.",
					"Nous vous demandons de régler ce montant **sous 8 jours** sur le compte suivant :\n#bank_details",
					"À défaut de règlement dans ce délai, nous transmettrons la créance à notre service de recouvrement sans autre préavis. Conformément à nos conditions générales, des pénalités de retard au taux de #late_penalty_rate ainsi que l'indemnité forfaitaire pour frais de recouvrement vous seront alors facturées.",
					"Relevé de vos pièces ouvertes :",
					"#items_list",
					"Votre espace personnel vous permet de nous écrire au sujet de cette facture, de la contester ou de promettre un paiement à une date : #portal_link",
					"Si vous avez réglé cette facture entre-temps, nous vous prions de ne pas tenir compte de ce rappel.",
				},
			},
			kindSMS: {
				sms: "#company_name : la facture #invoice_number (#open_amount), échue le #due_date, reste impayée. Votre espace (code #portal_code) : #portal_home",
			},
			kindCollection: {
				subject: "Mise en demeure : montant dû #total_claim",
				paras: []string{
					"Malgré nos relances, les factures ci-dessous restent impayées. Votre dossier a donc été transmis à notre procédure de recouvrement.",
					"#items_list",
					"Outre le montant échu de #overdue_amount, vous êtes désormais redevable de frais de recouvrement de #collection_costs et d'intérêts de retard de #interest, soit un total de **#total_claim**.",
					"Nous vous mettons en demeure de régler la somme de #total_claim **sous 14 jours** sur le compte suivant :\n#bank_details",
					"À défaut de paiement dans ce délai, nous confierons le dossier à une société de recouvrement ou engagerons une procédure judiciaire sans autre préavis, ce qui entraînera des frais supplémentaires à votre charge.",
					"Si vous estimez que cette mise en demeure n'est pas justifiée, ou si vous souhaitez proposer un échéancier, contactez-nous sans délai au #user_phone ou depuis votre espace personnel : #portal_link",
				},
				sms: "#company_name : votre dossier est en recouvrement. Total à régler, frais compris : #total_claim. Réglez ou écrivez-nous ; votre espace (code #portal_code) : #portal_home",
			},
			kindStatement: {
				subject: "Relevé de compte de #company_name",
				paras: []string{
					"Veuillez trouver ci-dessous le relevé des pièces ouvertes sur votre compte au #today.",
					"#items_list",
					"Le solde total ouvert s'élève à **#total_due**, dont #overdue_amount échu.",
					"Nous vous remercions de bien vouloir régler les éventuelles pièces échues, en indiquant les numéros de facture, sur le compte suivant :\n#bank_details",
					"Votre espace personnel vous permet de consulter vos factures ouvertes, de nous écrire, de contester une facture ou de promettre un paiement à une date : #portal_link",
					"Si ce relevé ne correspond pas à votre comptabilité, merci de nous le signaler.",
				},
				sms: "#company_name : vous avez #items_list, dont #overdue_amount échu. Relevé (code #portal_code) : #portal_home",
			},
		},
	},
	"de": {
		greeting:      "Sehr geehrte Damen und Herren,",
		emailClosing:  "Mit freundlichen Grüßen\n#user_name\n#company_name\n#user_phone",
		letterClosing: "Mit freundlichen Grüßen\n\n#user_name\n#company_name",
		kinds: map[string]kindTexts{
			kindInvoice: {
				subject: "Rechnung #invoice_number von #company_name",
				paras: []string{
					"wir haben Ihnen die Rechnung #invoice_number vom #invoice_date über **#invoice_amount** gestellt, zahlbar bis zum **#due_date**.",
					"Bitte überweisen Sie den Betrag unter Angabe der Rechnungsnummer auf folgendes Konto:\n#bank_details",
					"Auf Ihrer persönlichen Seite sehen Sie Ihre offenen Rechnungen und können uns Ihre E-Mail-Adresse geben, uns schreiben, eine Rechnung bestreiten oder die Zahlung zu einem Datum zusagen: #portal_link",
					"Bei Fragen zu dieser Rechnung erreichen Sie #user_name unter #user_email oder #user_phone.",
				},
			},
			kindReminder: {
				subject: "Zahlungserinnerung: Rechnung #invoice_number",
				paras: []string{
					"nach unseren Unterlagen ist die Rechnung #invoice_number vom #invoice_date, fällig am #due_date, noch nicht beglichen. Der offene Betrag beläuft sich auf **#open_amount**.",
					"Sicher handelt es sich um ein Versehen. Wir bitten Sie, den Betrag in den nächsten Tagen unter Angabe der Rechnungsnummer auf folgendes Konto zu überweisen:\n#bank_details",
					"Zu Ihrer Information eine Übersicht aller offenen Posten auf Ihrem Konto:",
					"#items_list",
					"Auf Ihrer persönlichen Seite sehen Sie Ihre offenen Rechnungen und können uns schreiben, eine Rechnung bestreiten oder die Zahlung zu einem Datum zusagen: #portal_link",
					"Sollten Sie die Zahlung inzwischen geleistet haben, betrachten Sie dieses Schreiben bitte als gegenstandslos.",
				},
			},
			kindFinalReminder: {
				subject: "Letzte Mahnung: Rechnung #invoice_number",
				paras: []string{
					"trotz unserer Zahlungserinnerung haben wir die Zahlung der Rechnung #invoice_number vom #invoice_date noch nicht erhalten. Sie war am #due_date fällig und ist seit #days_overdue Tagen überfällig. Der überfällige Gesamtbetrag auf Ihrem Konto beträgt **#overdue_amount**.",
					"Wir fordern Sie auf, diesen Betrag **innerhalb von 8 Tagen** auf folgendes Konto zu überweisen:\n#bank_details",
					"Sollte die Zahlung bis dahin nicht eingegangen sein, übergeben wir die Forderung ohne weitere Ankündigung an unser Inkassoverfahren. Gemäß unseren Allgemeinen Geschäftsbedingungen werden Ihnen dann Verzugszinsen in Höhe von #late_penalty_rate sowie Inkassokosten berechnet.",
					"Übersicht Ihrer offenen Posten:",
					"#items_list",
					"Auf Ihrer persönlichen Seite können Sie uns zu dieser Rechnung schreiben, sie bestreiten oder die Zahlung zu einem Datum zusagen: #portal_link",
					"Sollten Sie die Zahlung inzwischen geleistet haben, betrachten Sie dieses Schreiben bitte als gegenstandslos.",
				},
			},
			kindSMS: {
				sms: "#company_name: Die Rechnung #invoice_number (#open_amount) war am #due_date fällig und ist noch offen. Ihre Seite (Code #portal_code): #portal_home",
			},
			kindCollection: {
				subject: "Inkassoverfahren: offener Betrag #total_claim",
				paras: []string{
					"trotz unserer Mahnungen sind die nachstehenden Rechnungen weiterhin unbezahlt. Ihr Konto wurde daher in unser Inkassoverfahren übergeben.",
					"#items_list",
					"Zusätzlich zum überfälligen Betrag von #overdue_amount schulden Sie nun Inkassokosten von #collection_costs und Verzugszinsen von #interest. Der Gesamtbetrag beläuft sich auf **#total_claim**.",
					"Wir fordern Sie auf, den Betrag von #total_claim **innerhalb von 14 Tagen** auf folgendes Konto zu überweisen:\n#bank_details",
					"Geht die Zahlung nicht fristgerecht ein, beauftragen wir ohne weitere Ankündigung ein Inkassounternehmen oder leiten gerichtliche Schritte ein. Die dadurch entstehenden weiteren Kosten gehen zu Ihren Lasten.",
					"Halten Sie diese Mahnung für unberechtigt oder möchten Sie eine Ratenzahlung vorschlagen, wenden Sie sich bitte umgehend an uns unter #user_phone oder über Ihre persönliche Seite: #portal_link",
				},
				sms: "#company_name: Ihr Konto ist im Inkassoverfahren. Zu zahlen inkl. Kosten und Zinsen: #total_claim. Bitte zahlen Sie jetzt oder schreiben Sie uns; Ihre Seite (Code #portal_code): #portal_home",
			},
			kindStatement: {
				subject: "Ihre Kontoübersicht bei #company_name",
				paras: []string{
					"nachstehend finden Sie eine Übersicht der offenen Posten auf Ihrem Konto zum #today.",
					"#items_list",
					"Der offene Gesamtsaldo beträgt **#total_due**, davon sind #overdue_amount überfällig.",
					"Bitte begleichen Sie überfällige Posten unter Angabe der Rechnungsnummern auf folgendes Konto:\n#bank_details",
					"Auf Ihrer persönlichen Seite sehen Sie Ihre offenen Rechnungen und können uns schreiben, eine Rechnung bestreiten oder die Zahlung zu einem Datum zusagen: #portal_link",
					"Sollte diese Übersicht nicht mit Ihrer Buchhaltung übereinstimmen, geben Sie uns bitte Bescheid.",
				},
				sms: "#company_name: Ihr Konto: #items_list, davon #overdue_amount überfällig. Übersicht (Code #portal_code): #portal_home",
			},
		},
	},
}
