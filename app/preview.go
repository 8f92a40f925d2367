package app

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
)

// PreviewTemplate renders a saved or unsaved template of organization org
// against one of its invoices or customers, exactly as the sending activity
// would now (activities.RenderPreview), in the template's language. It
// stores and sends nothing. An unsaved template is checked as a save would
// check it (unknown #tag: 422). A bundle's text (kind "bundle_…") renders
// about the customer's open invoices (of the invoice's customer when an
// invoice is given), each with its step label, as SendBundle writes a
// bundle of several invoices.
func (s *Service) PreviewTemplate(ctx context.Context, org int64, in domain.TemplatePreviewInput) (domain.TemplatePreview, error) {
	var out domain.TemplatePreview
	if (in.InvoiceID == 0) == (in.CustomerID == 0) {
		return out, domain.Invalid("invoice_id", "give one of invoice_id and customer_id")
	}
	if in.MaxSegments < 0 {
		return out, domain.Invalid("max_segments", "must not be negative")
	}
	var admID int64
	tpl := in.Template
	if in.TemplateID != 0 {
		t, _, err := s.Template(ctx, org, in.TemplateID)
		if err != nil {
			return out, err
		}
		admID = t.AdministrationID
		tpl = domain.TemplateInput{Name: t.Name, Kind: t.Kind, Channel: t.Channel, Language: t.Language, Subject: t.Subject, Body: t.Body}
		out.TemplateID, out.TemplateVersion = t.ID, t.Version
	} else if err := validTemplate(&tpl); err != nil {
		return out, err
	}
	req := activities.PreviewRequest{Kind: policy.StepKind(tpl.Kind), Channel: policy.Channel(tpl.Channel),
		Template: render.Template{Kind: tpl.Kind, Channel: tpl.Channel, Language: tpl.Language, Subject: tpl.Subject, Body: tpl.Body}}
	if step, ok := render.BundleStep(tpl.Kind); ok {
		// A bundle's text: about the customer's open invoices with their
		// steps (the invoice asked for names its customer).
		req.Kind, req.Bundle = policy.StepKind(step), true
	}
	if in.InvoiceID != 0 {
		inv, err := s.Invoice(ctx, org, in.InvoiceID)
		if err != nil {
			return out, err
		}
		req.AdministrationID, req.CustomerID, req.InvoiceID = inv.AdministrationID, inv.CustomerID, inv.ID
	} else {
		cust, err := s.Customer(ctx, org, in.CustomerID)
		if err != nil {
			return out, err
		}
		req.AdministrationID, req.CustomerID = cust.AdministrationID, cust.ID
	}
	if admID != 0 && admID != req.AdministrationID {
		return out, domain.RuleBroken("template_id", "template %d belongs to another administration than the invoice or customer", in.TemplateID)
	}
	p, err := activities.RenderPreview(ctx, s.db, s.portal, s.Now(), req)
	if err != nil {
		var unknown *render.UnknownTagError
		if errors.As(err, &unknown) {
			return out, domain.RuleBroken("body", "unknown tag %s", unknown.Tag)
		}
		return out, fmt.Errorf("preview template: %w", err)
	}
	out.Kind, out.Channel, out.Language = tpl.Kind, tpl.Channel, tpl.Language
	if req.Bundle && p.Items < 2 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the customer has %d open invoice(s): a bundle's text is sent only for several invoices (one invoice gets its step's own text)", p.Items))
	}
	out.To, out.Cc, out.Bcc = p.To, p.Cc, p.Bcc
	out.Recipient, out.Subject, out.HTML, out.Text, out.PDF = p.Recipient, p.Subject, p.HTML, p.Text, p.PDF
	if tpl.Channel == string(policy.ChannelSMS) {
		out.Characters, out.Segments, out.Encoding = utf8.RuneCountInString(p.Text), p.Segments, p.Encoding
		if in.MaxSegments > 0 && p.Segments > in.MaxSegments {
			out.Warnings = append(out.Warnings, fmt.Sprintf("the SMS takes %d segments (%d characters, %s), more than the %d asked for; each segment is billed",
				p.Segments, out.Characters, p.Encoding, in.MaxSegments))
		}
	}
	return out, nil
}
