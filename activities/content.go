package activities

import (
	"cmp"
	"time"

	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
)

// sendData is what one step's messages are made of, read fresh at send time.
type sendData struct {
	adm   models.Administration
	cust  models.Customer
	inv   models.Invoice
	items []models.Invoice
	// contacts are the customer's contact persons (the email recipients
	// of their roles).
	contacts []models.Contact
	// claim is set for collection notices: their costs and interest.
	claim *caseClaim
}

// loadSendData loads what a message about one invoice prints: the invoice,
// its customer (the invoice's own, whatever the caller believed), the
// administration and the customer's open items.
func (a *Activities) loadSendData(ctx context.Context, admID, invID int64) (*sendData, error) {
	var inv models.Invoice
	if err := a.DB.WithContext(ctx).First(&inv, "id = ? AND administration_id = ?", invID, admID).Error; err != nil {
		return nil, notFound("invoice", invID, err)
	}
	d, err := a.loadCustomerData(ctx, admID, inv.CustomerID)
	if err != nil {
		return nil, err
	}
	d.inv = inv
	return d, nil
}

// contactsOf loads a customer's contact persons, oldest first (the order
// of the recipients).
func (a *Activities) contactsOf(ctx context.Context, customerID int64) ([]models.Contact, error) {
	var cs []models.Contact
	if err := a.DB.WithContext(ctx).Where("customer_id = ?", customerID).Order("id").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("load contacts of customer %d: %w", customerID, err)
	}
	return cs, nil
}

func (d *sendData) admSettings() policy.AdministrationSettings { return d.adm.ChannelSettings() }
func (d *sendData) custSettings() policy.CustomerSettings {
	return d.cust.ChannelSettings(models.PolicyContacts(d.contacts)...)
}

// rendered is one message as the customer gets it.
type rendered struct {
	recipient, subject, html, text string
	// to, cc and bcc are an email's addresses (the envelope).
	to, cc, bcc []string
	segments    int
	letter      *render.Letter
	// dated is the letter's date (the journey's clock, see journeyNow).
	dated time.Time
	// tpl is the template version written from (zero: a shipped default or an edited text).
	tpl render.Template
}

// renderData builds the #hashtag values of a message about inv (nil for a statement).
func (a *Activities) renderData(d *sendData, anchor time.Time) render.Data {
	lang := d.cust.Language
	if lang == "" {
		lang = d.adm.Language
	}
	now := a.journeyNow(anchor)
	item := func(i models.Invoice) render.Item {
		days := int(now.Sub(i.DueDate).Hours() / 24)
		if days < 0 {
			days = 0
		}
		return render.Item{
			Number: i.Number, IssueDate: i.IssueDate, DueDate: i.DueDate,
			Amount: render.Money{Minor: i.AmountMinor, Currency: i.Currency},
			Open:   render.Money{Minor: i.OpenMinor, Currency: i.Currency}, DaysOverdue: days,
		}
	}
	data := render.Data{
		Language: lang,
		Now:      now,
		Customer: render.CustomerData{
			Name: d.cust.Name, LegalID: d.cust.LegalID, Email: d.cust.Email, Phone: d.cust.Phone,
			Reference: d.cust.ExternalRef,
			Address:   render.Address{Lines: nonEmpty(d.cust.AddressLine1, d.cust.AddressLine2), PostalCode: d.cust.PostalCode, City: d.cust.City, Country: d.cust.Country},
		},
		Company: render.CompanyData{
			Name: firstOf(d.adm.CompanyName, d.adm.Name), LogoURL: d.adm.CompanyLogoURL,
			LatePenaltyRate: d.adm.LatePenaltyRate, BankDetails: d.adm.BankDetails,
			Address: render.Address{Lines: splitLines(d.adm.CompanyAddress)},
			Phone:   d.adm.CompanyPhone, Email: d.adm.CompanyEmail, Website: d.adm.CompanyWebsite,
		},
		User:       render.UserData{Name: d.adm.UserName, Email: d.adm.UserEmail, Phone: d.adm.UserPhone},
		PortalLink: a.Portal.URL(d.cust.ID, d.cust.PortalToken, a.now()),
		PortalHome: a.Portal.Home(), PortalCode: d.cust.PortalCodeText(),
	}
	if d.inv.ID != 0 {
		it := item(d.inv)
		data.Invoice = &it
	}
	for _, i := range d.items {
		data.Items = append(data.Items, item(i))
	}
	cur := d.inv.Currency
	if len(d.items) > 0 && cur == "" {
		cur = d.items[0].Currency
	}
	d.claim.fill(&data, cur)
	return data
}

// template finds the administration's text for the step, else the shipped default.
func (a *Activities) template(ctx context.Context, d *sendData, name string, kind policy.StepKind, ch policy.Channel, lang string) (render.Template, error) {
	t, ok, err := a.storedTemplate(ctx, d, name, kind, ch, lang)
	if err != nil || ok {
		return t, err
	}
	if t, ok := render.Default(string(kind), string(ch), lang); ok {
		return t, nil
	}
	return render.Template{}, fmt.Errorf("no template for %s on %s", kind, ch)
}

// storedTemplate finds the administration's own text for the step (its
// named set, else its default set; the customer's language, else the
// administration's, else English); ok is false when it has none.
func (a *Activities) storedTemplate(ctx context.Context, d *sendData, name string, kind policy.StepKind, ch policy.Channel, lang string) (render.Template, bool, error) {
	if name == "" {
		name = "default"
	}
	var t models.Template
	// A named set (a case's stage: last_notice, agency) falls back to the
	// administration's default set before the shipped texts.
	names := []string{name}
	if name != "default" {
		names = append(names, "default")
	}
	for _, n := range names {
		for _, l := range []string{lang, d.adm.Language, "en"} {
			err := a.DB.WithContext(ctx).First(&t, "administration_id = ? AND name = ? AND kind = ? AND channel = ? AND language = ?",
				d.adm.ID, n, string(kind), string(ch), l).Error
			if err == nil {
				return render.Template{Kind: t.Kind, Channel: t.Channel, Language: t.Language, Subject: t.Subject, Body: t.Body, ID: t.ID, Version: t.Version}, true, nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return render.Template{}, false, storeError{fmt.Errorf("load template %s/%s/%s/%s: %w", n, kind, ch, l, err)}
			}
		}
	}
	return render.Template{}, false, nil
}

// storeError is a failure to read the database while making a message (a
// dropped connection, a full server), not a template that cannot render:
// the send is retried, never recorded as failed.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// render makes the message for one channel; a manual action's edited text
// replaces the template's.
func (a *Activities) render(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, ch policy.Channel) (rendered, error) {
	data := a.renderData(d, in.Anchor)
	tpl, err := a.template(ctx, d, in.Step.Template, in.Step.Kind, ch, data.Language)
	if err != nil {
		return rendered{}, err
	}
	if in.Manual && in.Body != "" {
		tpl.ID, tpl.Version = 0, 0
		tpl.Body = in.Body
		if in.Subject != "" {
			tpl.Subject = in.Subject
		}
	}
	return renderWith(tpl, data, d, dec, ch)
}

// renderWith fills tpl with data for channel ch and addresses it as the
// decision says.
func renderWith(tpl render.Template, data render.Data, d *sendData, dec policy.Decision, ch policy.Channel) (rendered, error) {
	switch ch {
	case policy.ChannelEmail:
		e, err := render.RenderEmail(render.EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, data)
		if err != nil {
			return rendered{}, err
		}
		to, cc, bcc := emailEnvelope(d, dec)
		return rendered{recipient: recipientLine(to), to: to, cc: cc, bcc: bcc, subject: e.Subject, html: e.HTML, text: e.Text, tpl: tpl}, nil
	case policy.ChannelSMS:
		s, err := render.RenderSMS(tpl.Body, data)
		if err != nil {
			return rendered{}, err
		}
		return rendered{recipient: dec.Mobile, text: s.Text, segments: s.Segments, tpl: tpl}, nil
	case policy.ChannelPost:
		l, err := render.RenderLetter(render.EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, data)
		if err != nil {
			return rendered{}, err
		}
		addr := append([]string{d.cust.Name}, nonEmpty(d.cust.AddressLine1, d.cust.AddressLine2, strings.TrimSpace(d.cust.PostalCode+" "+d.cust.City), d.cust.Country)...)
		return rendered{recipient: strings.Join(addr, ", "), subject: l.Subject, text: strings.Join(l.Paragraphs, "\n\n"), letter: &l, dated: data.Now, tpl: tpl}, nil
	}
	return rendered{}, fmt.Errorf("unknown channel %q", ch)
}

// deliver hands a rendered message to its provider.
// begin is called right before the request that may reach the provider:
// by the SMS sender after its rate limit let it go, here for the others.
func (a *Activities) deliver(ctx context.Context, kind policy.StepKind, ch policy.Channel, key string, d *sendData, dec policy.Decision, m rendered, begin func(context.Context) error) (string, error) {
	switch ch {
	case policy.ChannelEmail:
		if a.Email == nil {
			return "", channels.Permanent(errors.New("no email provider configured"))
		}
		if err := begin(ctx); err != nil {
			return "", err
		}
		if len(m.to) == 0 {
			return "", channels.Permanent(errors.New("no email recipient"))
		}
		more := make([]channels.Address, 0, len(m.to)-1)
		for _, addr := range m.to[1:] {
			more = append(more, channels.Address{Name: d.nameOf(addr), Email: addr})
		}
		cc := make([]channels.Address, 0, len(m.cc))
		for _, addr := range m.cc {
			cc = append(cc, channels.Address{Name: d.nameOf(addr), Email: addr})
		}
		return a.Email.SendEmail(ctx, channels.Email{
			Key: key, FromName: firstOf(d.adm.SenderName, d.adm.CompanyName, d.adm.Name),
			From: firstOf(d.adm.SenderEmail, a.DefaultFrom), ReplyTo: d.adm.ReplyToEmail,
			To: m.to[0], ToName: d.nameOf(m.to[0]), AlsoTo: more, Cc: cc, Bcc: m.bcc,
			Subject: m.subject, HTML: m.html, Text: m.text,
		})
	case policy.ChannelSMS:
		if a.SMS == nil {
			return "", channels.Permanent(errors.New("no SMS provider configured"))
		}
		return a.SMS.SendSMS(ctx, channels.SMS{Key: key, From: d.adm.SMSSender, To: dec.Mobile, Text: m.text, Begin: begin})
	case policy.ChannelPost:
		if a.Letters == nil {
			return "", channels.Permanent(errors.New("no letter provider configured"))
		}
		if err := begin(ctx); err != nil {
			return "", err
		}
		return a.Letters.SendLetter(ctx, a.letter(key, kind, d, m))
	}
	return "", channels.Permanent(fmt.Errorf("unknown channel %q", ch))
}

// emailEnvelope is who an email goes to: the recipients and copies the
// channel choice made (the role's contacts, else the customer), and the
// administration's archive address as a blind copy (unless it is already
// a recipient).
func emailEnvelope(d *sendData, dec policy.Decision) (to, cc, bcc []string) {
	to = dec.EmailTo
	if len(to) == 0 && dec.Email != "" {
		to = []string{dec.Email}
	}
	cc = dec.EmailCc
	if b := strings.TrimSpace(d.adm.BCCEmail); b != "" && !slices.ContainsFunc(append(slices.Clone(to), cc...), func(x string) bool { return strings.EqualFold(x, b) }) {
		bcc = []string{b}
	}
	return to, cc, bcc
}

// recipientLine shows the To addresses in the outbox's recipient column
// (512 bytes): all of them when they fit, else the first and a count.
func recipientLine(to []string) string {
	line := strings.Join(to, ", ")
	if len(line) <= 512 {
		return line
	}
	return fmt.Sprintf("%s and %d more", to[0], len(to)-1)
}

// nameOf is the display name of an address: the contact's name, else the
// customer's.
func (d *sendData) nameOf(addr string) string {
	for _, c := range d.contacts {
		if strings.EqualFold(strings.TrimSpace(c.Email), addr) && strings.TrimSpace(c.Name) != "" {
			return c.Name
		}
	}
	return d.cust.Name
}

func (a *Activities) letter(key string, kind policy.StepKind, d *sendData, m rendered) channels.Letter {
	lang := firstOf(d.cust.Language, d.adm.Language)
	l := channels.Letter{
		Key: key, Language: lang,
		Sender:        channels.PostalAddress{Name: firstOf(d.adm.CompanyName, d.adm.Name), Lines: splitLines(d.adm.CompanyAddress)},
		SenderDetails: nonEmpty(d.adm.CompanyPhone, d.adm.CompanyEmail, d.adm.BankDetails),
		Recipient: channels.PostalAddress{Name: d.cust.Name, Lines: nonEmpty(d.cust.AddressLine1, d.cust.AddressLine2),
			PostalCode: d.cust.PostalCode, City: d.cust.City, Country: d.cust.Country},
		Date:       render.FormatDate(cmp.Or(m.dated, a.now()), lang),
		PortalLink: a.Portal.URL(d.cust.ID, d.cust.PortalToken, a.now()),
		PortalHome: a.Portal.Home(), PortalCode: d.cust.PortalCodeText(),
	}
	if m.letter != nil {
		l.Subject, l.Paragraphs = m.letter.Subject, m.letter.Paragraphs
		var total int64
		cur := ""
		for _, it := range m.letter.Items {
			l.Items = append(l.Items, channels.LetterItem{
				Number: it.Number, IssueDate: render.FormatDate(it.IssueDate, lang), DueDate: render.FormatDate(it.DueDate, lang),
				Amount: render.FormatMoney(it.Amount, lang), Open: render.FormatMoney(it.Open, lang),
				Step: it.Step,
			})
			total += it.Open.Minor
			cur = it.Open.Currency
		}
		if cur != "" {
			l.ItemsTotal = render.FormatMoney(render.Money{Minor: total, Currency: cur}, lang)
		}
	}
	ask := d.adm.AskEmailOnReminderLetters
	if kind == policy.StepInvoice {
		ask = d.adm.AskEmailOnInvoiceLetters
	}
	if ask && d.cust.Email == "" {
		l.AskEmail = true
		l.AskEmailText = askEmailText(lang)
	}
	return l
}

func askEmailText(lang string) string {
	switch lang {
	case "nl":
		return "Ontvang onze berichten voortaan per e-mail: geef uw e-mailadres door via uw persoonlijke pagina."
	case "fr":
		return "Recevez désormais nos messages par e-mail : indiquez votre adresse sur votre page personnelle."
	case "de":
		return "Erhalten Sie unsere Nachrichten künftig per E-Mail: Geben Sie Ihre Adresse auf Ihrer persönlichen Seite an."
	}
	return "Receive our messages by email from now on: give your email address on your personal page."
}

func firstOf(v ...string) string {
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func nonEmpty(v ...string) []string {
	var out []string
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func splitLines(s string) []string {
	return nonEmpty(strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")...)
}
