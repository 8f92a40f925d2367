package activities

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/channels/sms/gsm"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/render"
)

// PreviewRequest is a template to render against stored data, without
// sending. InvoiceID 0 renders about the customer (a statement).
type PreviewRequest struct {
	AdministrationID, CustomerID, InvoiceID int64
	Kind                                    policy.StepKind
	Channel                                 policy.Channel
	// Template is the text to render (the subject is ignored for an SMS);
	// its Language is the language the data is written in.
	Template render.Template
	// Bundle renders Template as a bundle's text (Kind is the bundle's step
	// kind): about the customer's open invoices, each with its step label,
	// and no single invoice.
	Bundle bool
}

// Preview is a message as SendStep would write it.
type Preview struct {
	Recipient, Subject, HTML, Text string
	// To, Cc and Bcc are an email's addresses.
	To, Cc, Bcc []string
	Segments    int
	// Encoding is the SMS encoding, "GSM-7" or "UCS-2".
	Encoding string
	// PDF is the letter as the print service gets it.
	PDF []byte
	// Items is the number of invoices a bundle's preview carries.
	Items int
}

// RenderPreview renders a template for a customer's invoice (or statement)
// with the same data, renderer and letter layout as SendStep, dated now. It
// reads the database and sends nothing. The recipient is the customer's
// address on the channel, before the settings' channel choice; an email's
// recipients are those the channel choice would take now when email is
// allowed (the kind's contacts, copies, the archive address).
func RenderPreview(ctx context.Context, db *gorm.DB, links portal.Links, now time.Time, in PreviewRequest) (Preview, error) {
	a := &Activities{DB: db, Portal: links, Now: func() time.Time { return now }}
	var d *sendData
	var err error
	if in.InvoiceID != 0 {
		d, err = a.loadSendData(ctx, in.AdministrationID, in.InvoiceID)
	} else {
		d, err = a.loadCustomerData(ctx, in.AdministrationID, in.CustomerID)
	}
	if err != nil {
		return Preview{}, err
	}
	d.cust.Language = in.Template.Language
	if in.Bundle {
		return a.previewBundle(ctx, d, in)
	}
	send := SendInput{AdministrationID: in.AdministrationID, CustomerID: in.CustomerID, InvoiceID: in.InvoiceID,
		Step: StepRef{Kind: in.Kind, Template: "default"}, Manual: true, Subject: in.Template.Subject, Body: in.Template.Body}
	dec := policy.Decision{Email: d.cust.Email, Mobile: d.cust.Mobile}
	if now := policy.Decide(in.Kind, d.admSettings(), d.custSettings()); now.Has(policy.ChannelEmail) {
		// Who the email would go to now: the kind's contacts, copies and
		// the archive address, as SendStep chooses them.
		dec.Email, dec.EmailTo, dec.EmailCc = now.Email, now.EmailTo, now.EmailCc
	}
	m, err := a.render(ctx, send, d, dec, in.Channel)
	if err != nil {
		return Preview{}, err
	}
	return a.preview(in, d, m)
}

// preview is the Preview of a rendered message (a letter's PDF made).
func (a *Activities) preview(in PreviewRequest, d *sendData, m rendered) (Preview, error) {
	var err error
	out := Preview{Recipient: m.recipient, To: m.to, Cc: m.cc, Bcc: m.bcc, Subject: m.subject, HTML: m.html, Text: m.text, Segments: m.segments}
	switch in.Channel {
	case policy.ChannelSMS:
		out.Encoding = render.EncodingUCS2
		if gsm.IsGSM7(m.text) {
			out.Encoding = render.EncodingGSM7
		}
	case policy.ChannelPost:
		out.PDF, err = letter.RenderPDF(a.letter("preview", in.Kind, d, m))
		if err != nil {
			return Preview{}, fmt.Errorf("render the letter: %w", err)
		}
	}
	return out, nil
}

// previewBundle renders a bundle's text as SendBundle would for a bundle
// of the customer's open invoices: no single invoice (#invoice_… print
// empty), the items with their step labels — the step a pending or held
// bundle request of the invoice names, else the previewed kind's.
func (a *Activities) previewBundle(ctx context.Context, d *sendData, in PreviewRequest) (Preview, error) {
	if d.inv.ID != 0 {
		// Asked about one invoice: its customer's bundle.
		lang := d.cust.Language
		cd, err := a.loadCustomerData(ctx, in.AdministrationID, d.cust.ID)
		if err != nil {
			return Preview{}, err
		}
		d = cd
		d.cust.Language = lang
	}
	var reqs []models.BundleRequest
	if err := a.DB.WithContext(ctx).Where("administration_id = ? AND customer_id = ? AND state IN ?", in.AdministrationID, d.cust.ID,
		[]models.BundleState{models.BundlePending, models.BundleHeld}).Find(&reqs).Error; err != nil {
		return Preview{}, fmt.Errorf("load bundle requests of customer %d: %w", d.cust.ID, err)
	}
	kinds := make(map[int64]string, len(reqs))
	for _, r := range reqs {
		kinds[r.InvoiceID] = r.Kind
	}
	data := a.renderData(d, time.Time{})
	data.Invoice = nil
	for i, inv := range d.items {
		k := kinds[inv.ID]
		if k == "" {
			k = string(in.Kind)
		}
		data.Items[i].Step = render.StepLabel(k, data.Language)
	}
	dec := policy.Decision{Email: d.cust.Email, Mobile: d.cust.Mobile}
	if now := policy.Decide(in.Kind, d.admSettings(), d.custSettings()); now.Has(policy.ChannelEmail) {
		dec.Email, dec.EmailTo, dec.EmailCc = now.Email, now.EmailTo, now.EmailCc
	}
	tpl := in.Template
	tpl.ID, tpl.Version = 0, 0
	m, err := renderWith(tpl, data, d, dec, in.Channel)
	if err != nil {
		return Preview{}, err
	}
	out, err := a.preview(in, d, m)
	out.Items = len(d.items)
	return out, err
}

// loadCustomerData loads what a message to a customer prints: the
// customer, the administration and the customer's open items.
func (a *Activities) loadCustomerData(ctx context.Context, admID, custID int64) (*sendData, error) {
	db := a.DB.WithContext(ctx)
	d := &sendData{}
	if err := db.First(&d.cust, "id = ? AND administration_id = ?", custID, admID).Error; err != nil {
		return nil, notFound("customer", custID, err)
	}
	if err := db.First(&d.adm, "id = ?", admID).Error; err != nil {
		return nil, notFound("administration", admID, err)
	}
	if err := db.Where("customer_id = ? AND status = ? AND open_minor > 0", d.cust.ID, models.InvoiceOpen).
		Order("due_date, number").Limit(500).Find(&d.items).Error; err != nil {
		return nil, fmt.Errorf("load open items of customer %d: %w", d.cust.ID, err)
	}
	var err error
	if d.contacts, err = a.contactsOf(ctx, d.cust.ID); err != nil {
		return nil, err
	}
	return d, nil
}
