package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/render"
	"github.com/relance/relance/workflows"
)

// The customer portal (docs/domain.md §1.10): every method here acts for
// the customer a portal link names, and reads or writes only that
// customer's rows; another customer's invoice, case or letter is
// ErrNotFound, exactly like one that does not exist.

// PortalCustomer is the customer a portal token names. A forged, altered or
// rotated token is ErrNotFound; a well-signed one past its expiry
// ErrLinkExpired and one of a customer whose access an admin revoked
// ErrLinkRevoked, both with the customer (for the language of the page
// that says so, nothing else may be shown).
func (s *Service) PortalCustomer(ctx context.Context, token string) (*models.Customer, error) {
	k, err := s.portal.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("portal link: %w", domain.ErrNotFound)
	}
	var c models.Customer
	if err := s.db.WithContext(ctx).First(&c, "id = ?", k.CustomerID).Error; err != nil {
		return nil, storeErr(err, "portal customer")
	}
	switch err := s.portal.Verify(k, c.PortalToken, s.Now()); {
	case errors.Is(err, portal.ErrExpired):
		return &c, fmt.Errorf("portal link of customer %d: %w", c.ID, domain.ErrLinkExpired)
	case err != nil:
		return nil, fmt.Errorf("portal link: %w", domain.ErrNotFound)
	}
	if c.PortalRevokedAt != nil {
		return &c, fmt.Errorf("portal of customer %d: %w", c.ID, domain.ErrLinkRevoked)
	}
	return &c, nil
}

// PortalCodeToken reads a short code typed on the portal's home page and
// returns a fresh link token for its customer. Anything that is not a
// current code is ErrNotFound (revoked included: the page says only that
// the code is unknown).
func (s *Service) PortalCodeToken(ctx context.Context, code string) (string, error) {
	norm, ok := portal.NormalizeCode(code)
	if !ok {
		return "", domain.Invalid("code", "is not a portal code")
	}
	var c models.Customer
	if err := s.db.WithContext(ctx).First(&c, "portal_code = ? AND portal_revoked_at IS NULL", norm).Error; err != nil {
		return "", storeErr(err, "portal code")
	}
	return s.portal.Token(c.ID, c.PortalToken, s.Now()), nil
}

// RotatePortalLink gives the customer a new portal token and code (every
// link and code issued before stops working) and lifts a revocation; it
// returns the new link and the code as printed.
func (s *Service) RotatePortalLink(ctx context.Context, cust *models.Customer) (string, string, error) {
	tok, code := NewPortalToken(), portal.NewCode()
	res := s.db.WithContext(ctx).Model(&models.Customer{}).Where("id = ?", cust.ID).
		Updates(map[string]any{"portal_token": tok, "portal_code": code, "portal_revoked_at": nil})
	if res.Error != nil {
		return "", "", storeErr(res.Error, "rotate portal link of customer %d", cust.ID)
	}
	cust.PortalToken, cust.PortalCode, cust.PortalRevokedAt = tok, &code, nil
	s.log.Info("portal link rotated", "customer_id", cust.ID)
	return s.portal.URL(cust.ID, tok, s.Now()), portal.FormatCode(code), nil
}

// RevokePortalLink closes the customer's portal: its links and code open
// nothing (the pages say the access was withdrawn, 410) until an admin
// makes a new link, which rotates the token: an old link never comes back.
func (s *Service) RevokePortalLink(ctx context.Context, cust *models.Customer) error {
	at := s.Now()
	if err := s.db.WithContext(ctx).Model(&models.Customer{}).Where("id = ?", cust.ID).
		Update("portal_revoked_at", at).Error; err != nil {
		return storeErr(err, "revoke portal link of customer %d", cust.ID)
	}
	cust.PortalRevokedAt = &at
	s.log.Info("portal link revoked", "customer_id", cust.ID)
	return nil
}

// PortalView is what the portal shows the customer.
func (s *Service) PortalView(ctx context.Context, cust *models.Customer) (domain.PortalView, error) {
	db := s.db.WithContext(ctx)
	var adm models.Administration
	if err := db.First(&adm, "id = ?", cust.AdministrationID).Error; err != nil {
		return domain.PortalView{}, storeErr(err, "portal administration")
	}
	v := domain.PortalView{
		CustomerName: cust.Name, Language: firstOf(cust.Language, adm.Language), Email: cust.Email, ProvidedEmail: cust.ProvidedEmail,
		CompanyName: firstOf(adm.CompanyName, adm.Name), CompanyEmail: adm.CompanyEmail, CompanyPhone: adm.CompanyPhone,
	}
	var invs []models.Invoice
	if err := db.Where("customer_id = ? AND administration_id = ? AND status = ?", cust.ID, cust.AdministrationID, models.InvoiceOpen).
		Order("due_date, id").Find(&invs).Error; err != nil {
		return v, fmt.Errorf("portal invoices of customer %d: %w", cust.ID, err)
	}
	var msgs []models.Message
	if err := db.Where("customer_id = ? AND administration_id = ? AND state = ?", cust.ID, cust.AdministrationID, models.MessageSent).
		Order("sent_at, id").Find(&msgs).Error; err != nil {
		return v, fmt.Errorf("portal messages of customer %d: %w", cust.ID, err)
	}
	sentOf := func(match func(m models.Message) bool) []domain.PortalSent {
		var out []domain.PortalSent
		for _, m := range msgs {
			if !match(m) {
				continue
			}
			at := m.CreatedAt
			if m.SentAt != nil {
				at = *m.SentAt
			}
			out = append(out, domain.PortalSent{ID: m.ID, Kind: m.Kind, Channel: m.Channel, Subject: m.Subject, SentAt: at,
				Letter: m.Channel == string(policy.ChannelPost)})
		}
		return out
	}
	now := s.Now()
	numbers := map[int64]string{}
	for _, inv := range invs {
		id := inv.ID
		numbers[id] = inv.Number
		v.Invoices = append(v.Invoices, domain.PortalInvoice{
			ID: id, Number: inv.Number, IssueDate: inv.IssueDate, DueDate: inv.DueDate,
			AmountMinor: inv.AmountMinor, OpenMinor: inv.OpenMinor, Currency: inv.Currency, Overdue: inv.DueDate.Before(now),
			Disputed: inv.Disputed, PausedUntil: inv.PausedUntil, PromisedUntil: inv.PromisedUntil,
			Sent: sentOf(func(m models.Message) bool { return m.InvoiceID != nil && *m.InvoiceID == id && m.CaseID == nil }),
		})
	}
	var cases []models.CollectionCase
	if err := db.Where("customer_id = ? AND administration_id = ? AND closed_at IS NULL", cust.ID, cust.AdministrationID).
		Order("id").Find(&cases).Error; err != nil {
		return v, fmt.Errorf("portal cases of customer %d: %w", cust.ID, err)
	}
	for _, cs := range cases {
		id := cs.ID
		pc := domain.PortalCase{ID: id, Stage: string(cs.Stage), Currency: cs.Currency,
			ExtraMinor: max(0, cs.InterestMinor+cs.CostsMinor-cs.WaivedMinor),
			Sent:       sentOf(func(m models.Message) bool { return m.CaseID != nil && *m.CaseID == id })}
		var members []models.Invoice
		if err := db.Where("case_id = ? AND customer_id = ? AND status = ?", id, cust.ID, models.InvoiceOpen).Order("due_date, id").Find(&members).Error; err != nil {
			return v, fmt.Errorf("portal case %d: %w", id, err)
		}
		for _, m := range members {
			pc.OpenMinor += m.OpenMinor
			pc.InvoiceNums = append(pc.InvoiceNums, m.Number)
		}
		v.Cases = append(v.Cases, pc)
	}
	conv, err := s.portalConversations(ctx, cust)
	if err != nil {
		return v, err
	}
	v.Conversations = conv
	return v, nil
}

func (s *Service) portalConversations(ctx context.Context, cust *models.Customer) ([]domain.PortalConversation, error) {
	db := s.db.WithContext(ctx)
	var convs []models.Conversation
	if err := db.Where("customer_id = ? AND administration_id = ?", cust.ID, cust.AdministrationID).
		Order("last_message_at DESC, id DESC").Limit(50).Find(&convs).Error; err != nil {
		return nil, fmt.Errorf("portal conversations of customer %d: %w", cust.ID, err)
	}
	out := make([]domain.PortalConversation, 0, len(convs))
	for _, c := range convs {
		var ms []models.InboxMessage
		if err := db.Where("conversation_id = ?", c.ID).Order("created_at, id").Limit(200).Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("portal conversation %d: %w", c.ID, err)
		}
		pc := domain.PortalConversation{ID: c.ID, Subject: c.Subject, InvoiceID: c.InvoiceID, CaseID: c.CaseID}
		for _, m := range ms {
			pc.Messages = append(pc.Messages, domain.PortalMessage{Inbound: m.Direction == models.Inbound, Author: m.Author, Body: m.Body, At: m.CreatedAt})
		}
		out = append(out, pc)
	}
	return out, nil
}

// PortalSubmitEmail records the address the customer gave in the portal
// (seed 001): validated, stored as its provided email, signalled to its
// running journeys (email-submitted); the customer is then "to verify".
func (s *Service) PortalSubmitEmail(ctx context.Context, cust *models.Customer, email string) error {
	addr, err := domain.ValidEmail("email", email)
	if err == nil && addr == "" {
		err = domain.Invalid("email", "is required")
	}
	if err != nil {
		return err
	}
	if _, err := s.SubmitProvidedEmail(ctx, cust, addr); err != nil {
		// The address is stored; the journeys learn it at their next
		// submission. The customer's part is done.
		if errors.Is(err, domain.ErrNotSignalled) || errors.Is(err, domain.ErrUnavailable) {
			s.log.Warn("provided email stored, journeys not told", "customer_id", cust.ID, "error", err)
			return nil
		}
		return err
	}
	return nil
}

// portalText checks a text the customer typed: not empty, not too long.
func portalText(field, text string) (string, error) {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return "", domain.Invalid(field, "is empty")
	case !utf8.ValidString(t):
		return "", domain.Invalid(field, "is not text")
	case utf8.RuneCountInString(t) > domain.PortalMaxMessage:
		return "", domain.Invalid(field, "is longer than %d characters", domain.PortalMaxMessage)
	}
	return t, nil
}

// PortalWrite files what the customer wrote in the portal in its
// conversation about the account, an invoice or a case (created at the
// first message), unread for the company's inbox. The invoice or case must
// be the customer's own.
func (s *Service) PortalWrite(ctx context.Context, cust *models.Customer, in domain.PortalMessageInput) (int64, error) {
	body, err := portalText("body", in.Body)
	if err != nil {
		return 0, err
	}
	return s.portalInbound(ctx, cust, in.InvoiceID, in.CaseID, body)
}

// portalInbound appends an inbound portal message to the conversation of
// (customer, invoice, case), creating it, in one transaction.
func (s *Service) portalInbound(ctx context.Context, cust *models.Customer, invoiceID, caseID *int64, body string) (int64, error) {
	db := s.db.WithContext(ctx)
	subject := ""
	if invoiceID != nil {
		var inv models.Invoice
		if err := db.First(&inv, "id = ? AND customer_id = ? AND administration_id = ?", *invoiceID, cust.ID, cust.AdministrationID).Error; err != nil {
			return 0, storeErr(err, "invoice %d", *invoiceID)
		}
		subject = inv.Number
		caseID = nil
	} else if caseID != nil {
		var cs models.CollectionCase
		if err := db.First(&cs, "id = ? AND customer_id = ? AND administration_id = ?", *caseID, cust.ID, cust.AdministrationID).Error; err != nil {
			return 0, storeErr(err, "case %d", *caseID)
		}
		subject = fmt.Sprintf("case %d", cs.ID)
	}
	var adm models.Administration
	if err := db.First(&adm, "id = ?", cust.AdministrationID).Error; err != nil {
		return 0, storeErr(err, "administration %d", cust.AdministrationID)
	}
	now := s.Now()
	var convID int64
	err := db.Transaction(func(tx *gorm.DB) error {
		q := tx.Where("customer_id = ? AND administration_id = ?", cust.ID, cust.AdministrationID)
		about, args := models.ConversationAbout(invoiceID, caseID)
		q = q.Where(about, args...)
		var c models.Conversation
		err := q.Order("id").First(&c).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			c = models.Conversation{OrganizationID: adm.OrganizationID, AdministrationID: adm.ID, CustomerID: cust.ID,
				InvoiceID: invoiceID, CaseID: caseID, Subject: subject, Unread: true, LastMessageAt: now, CreatedAt: now}
			if err := tx.Create(&c).Error; err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := tx.Model(&models.Conversation{}).Where("id = ?", c.ID).
				Updates(map[string]any{"unread": true, "last_message_at": now}).Error; err != nil {
				return err
			}
		}
		convID = c.ID
		return tx.Create(&models.InboxMessage{ConversationID: c.ID, Direction: models.Inbound, Channel: "portal",
			Author: cust.Name, Body: body, CreatedAt: now}).Error
	})
	if err != nil {
		return 0, fmt.Errorf("file portal message of customer %d: %w", cust.ID, err)
	}
	s.log.Info("portal message filed", "customer_id", cust.ID, "conversation_id", convID)
	return convID, nil
}

// portalInvoice loads an invoice of the customer (another's is ErrNotFound).
func (s *Service) portalInvoice(ctx context.Context, cust *models.Customer, invoiceID int64) (*models.Invoice, error) {
	var inv models.Invoice
	if err := s.db.WithContext(ctx).First(&inv, "id = ? AND customer_id = ? AND administration_id = ?", invoiceID, cust.ID, cust.AdministrationID).Error; err != nil {
		return nil, storeErr(err, "invoice %d", invoiceID)
	}
	return &inv, nil
}

// PortalDispute disputes one of the customer's invoices with a reason: the
// journey pauses (the existing dispute path) and the reason goes to the
// inbox, in the invoice's conversation.
func (s *Service) PortalDispute(ctx context.Context, cust *models.Customer, invoiceID int64, reason string) error {
	r, err := portalText("reason", reason)
	if err != nil {
		return err
	}
	inv, err := s.portalInvoice(ctx, cust, invoiceID)
	if err != nil {
		return err
	}
	if err := s.OpenDispute(ctx, inv, "customer (portal): "+truncate(r, 200)); err != nil {
		return err
	}
	_, err = s.portalInbound(ctx, cust, &inv.ID, nil, "Dispute: "+r)
	return err
}

// PortalPromise records the customer's promise to pay an invoice by a date
// (a day in the customer's calendar, taken as the end of that day UTC): the
// invoice's journey pauses until then as a promise; should the date pass
// unpaid, the journey goes on at once and flags the invoice
// (broken_promise). The promise is also written to the inbox.
func (s *Service) PortalPromise(ctx context.Context, cust *models.Customer, invoiceID int64, by time.Time) error {
	inv, err := s.portalInvoice(ctx, cust, invoiceID)
	if err != nil {
		return err
	}
	now := s.Now()
	until := time.Date(by.Year(), by.Month(), by.Day(), 23, 59, 59, 0, time.UTC)
	switch {
	case !until.After(now):
		return domain.RuleBroken("date", "must be in the future")
	case until.After(now.AddDate(0, 0, domain.PortalMaxPromiseDays+1)):
		return domain.RuleBroken("date", "must be within %d days", domain.PortalMaxPromiseDays)
	case inv.Disputed:
		return fmt.Errorf("invoice %s is disputed: %w", inv.Number, domain.ErrDisputeState)
	case inv.Status != models.InvoiceOpen:
		return fmt.Errorf("invoice %s is %s: %w", inv.Number, inv.Status, domain.ErrInvoiceClosed)
	}
	day := until.Format("2006-01-02")
	if heldByAdmin(inv, now) {
		// An admin's hold is not the customer's to lift: the promise goes
		// to the inbox only, and the admin decides.
		_, err = s.portalInbound(ctx, cust, &inv.ID, nil, "Promise to pay by "+day+" (the invoice is on hold: its journey was not changed)")
		return err
	}
	if err := s.steerPromise(ctx, inv, until, "promise to pay by "+day+" (portal)"); err != nil {
		return err
	}
	_, err = s.portalInbound(ctx, cust, &inv.ID, nil, "Promise to pay by "+day)
	return err
}

// heldByAdmin: the invoice is paused now, and not by a promise.
func heldByAdmin(inv *models.Invoice, now time.Time) bool {
	return inv.PausedAt != nil && inv.PromisedUntil == nil && (inv.PausedUntil == nil || inv.PausedUntil.After(now))
}

// steerPromise pauses the invoice's journey until the promised date, as a
// promise (pause-journey Update with Promise set).
func (s *Service) steerPromise(ctx context.Context, inv *models.Invoice, until time.Time, reason string) error {
	return s.steer(ctx, inv, workflows.UpdatePause, workflows.PauseRequest{Until: &until, Reason: reason, Promise: true})
}

// PortalLetter is a copy of a letter sent to the customer, as a PDF,
// rendered from the outbox row (its text as it was sent). A message of
// another customer, or not a letter, is ErrNotFound.
func (s *Service) PortalLetter(ctx context.Context, cust *models.Customer, messageID int64) ([]byte, error) {
	db := s.db.WithContext(ctx)
	var m models.Message
	if err := db.First(&m, "id = ? AND customer_id = ? AND administration_id = ? AND channel = ? AND state = ?",
		messageID, cust.ID, cust.AdministrationID, string(policy.ChannelPost), models.MessageSent).Error; err != nil {
		return nil, storeErr(err, "letter %d", messageID)
	}
	var adm models.Administration
	if err := db.First(&adm, "id = ?", cust.AdministrationID).Error; err != nil {
		return nil, storeErr(err, "administration %d", cust.AdministrationID)
	}
	lang := firstOf(cust.Language, adm.Language)
	at := m.CreatedAt
	if m.SentAt != nil {
		at = *m.SentAt
	}
	var paras []string
	for _, p := range strings.Split(m.BodyText, "\n\n") {
		if strings.TrimSpace(p) != "" {
			paras = append(paras, p)
		}
	}
	l := channels.Letter{
		Key: fmt.Sprintf("copy-%d", m.ID), Language: lang,
		Sender: channels.PostalAddress{Name: firstOf(adm.CompanyName, adm.Name), Lines: strings.Split(strings.TrimSpace(adm.CompanyAddress), "\n")},
		Recipient: channels.PostalAddress{Name: cust.Name, Lines: nonEmptyLines(cust.AddressLine1, cust.AddressLine2),
			PostalCode: cust.PostalCode, City: cust.City, Country: cust.Country},
		Date: render.FormatDate(at, lang), Subject: m.Subject, Paragraphs: paras,
	}
	pdf, err := letter.RenderPDF(l)
	if err != nil {
		return nil, fmt.Errorf("letter %d as PDF: %w", m.ID, err)
	}
	return pdf, nil
}

func nonEmptyLines(lines ...string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
