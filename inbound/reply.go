package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// RecordInboundEmail files an email a customer sent (an answer to a
// reminder, piped by the MTA) in the inbox (docs/domain.md §1.8):
//
//   - By its headers first: the In-Reply-To, then the References (newest
//     first), name the Message-ID of an email Relance sent (the outbox row's
//     provider_id). The email is filed under that row's customer, in the
//     conversation of that row's reply (an answer to an inbox reply), else
//     the customer's latest conversation about the same invoice or case,
//     else a new one with the email's subject. This only ever reaches the
//     organization that sent the answered email.
//   - Else by its sender: the customers whose email address is the From
//     address, narrowed to the administrations whose reply-to or sender
//     address the email was written to when that names any. When they all
//     belong to one organization, the one Relance emailed last gets it
//     (else the oldest); when they belong to several, nothing is filed
//     (domain.ErrAmbiguousSender), and an unknown sender is
//     domain.ErrUnknownSender.
//
// The conversation is marked unread. The message's external ID is its
// Message-ID (else the hash of the raw email), so the MTA delivering it
// twice files it once. Attachments are stored as ParseReply kept them.
func (rec *Recorder) RecordInboundEmail(ctx context.Context, r email.Reply) (domain.InboundEmailOutcome, error) {
	var out domain.InboundEmailOutcome
	extID := "email:" + strings.Trim(r.MessageID, "<>")
	if r.MessageID == "" || len(extID) > 255 {
		extID = "email-sha256:" + r.SHA256
		if r.SHA256 == "" {
			sum := sha256.Sum256([]byte(r.From + "\n" + r.Subject + "\n" + r.Text))
			extID = "email-sha256:" + hex.EncodeToString(sum[:])
		}
	}
	at := rec.clock().UTC()
	err := rec.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var seen models.InboxMessage
		err := tx.Where("external_id = ? AND channel = ?", extID, string(policy.ChannelEmail)).Take(&seen).Error
		if err == nil {
			out.Duplicate, out.Message = true, seen
			return tx.First(&out.Conversation, seen.ConversationID).Error
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("look up inbound email %s: %w", extID, err)
		}

		conv, cust, how, err := emailConversation(tx, r, at)
		if err != nil {
			return err
		}
		out.Customer, out.MatchedBy = cust, how
		body := r.Text
		if strings.TrimSpace(body) == "" {
			body = "(no text)"
		}
		author := r.From
		if r.FromName != "" {
			author = truncate(r.FromName+" <"+r.From+">", 255)
		}
		msg := models.InboxMessage{
			ConversationID: conv.ID, Direction: models.Inbound, Channel: string(policy.ChannelEmail),
			Author: author, Body: body, ExternalID: extID, CreatedAt: at,
		}
		if err := tx.Create(&msg).Error; err != nil {
			return fmt.Errorf("store inbound email %s: %w", extID, err)
		}
		for _, a := range r.Attachments {
			row := models.InboxAttachment{InboxMessageID: msg.ID, FileName: a.FileName, ContentType: truncate(a.ContentType, 255),
				Size: a.Size, Data: a.Data, Refused: truncate(a.Refused, 255), CreatedAt: at}
			if a.Data != nil {
				sum := sha256.Sum256(a.Data)
				row.SHA256 = hex.EncodeToString(sum[:])
			}
			if err := tx.Create(&row).Error; err != nil {
				return fmt.Errorf("store attachment %q of inbound email %s: %w", a.FileName, extID, err)
			}
			row.Data = nil // the outcome lists them; the bytes stay in the database
			out.Attachments = append(out.Attachments, row)
		}
		if r.DroppedAttachments > 0 {
			row := models.InboxAttachment{InboxMessageID: msg.ID, FileName: fmt.Sprintf("(%d more attachments)", r.DroppedAttachments),
				ContentType: "application/octet-stream", Refused: "beyond the attachments kept per email", CreatedAt: at}
			if err := tx.Create(&row).Error; err != nil {
				return fmt.Errorf("record dropped attachments of inbound email %s: %w", extID, err)
			}
			out.Attachments = append(out.Attachments, row)
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", conv.ID).
			Updates(map[string]any{"unread": true, "last_message_at": at}).Error; err != nil {
			return fmt.Errorf("mark conversation %d unread: %w", conv.ID, err)
		}
		conv.Unread, conv.LastMessageAt = true, at
		out.Conversation, out.Message = conv, msg
		return nil
	})
	return out, err
}

// emailConversation finds (or opens) the conversation an email belongs to,
// with its customer and how it was matched ("headers" or "sender").
func emailConversation(tx *gorm.DB, r email.Reply, at time.Time) (models.Conversation, models.Customer, string, error) {
	var cust models.Customer
	answered, err := answeredEmail(tx, r)
	if err != nil {
		return models.Conversation{}, cust, "", err
	}
	if answered != nil {
		if err := tx.First(&cust, answered.CustomerID).Error; err != nil {
			return models.Conversation{}, cust, "", fmt.Errorf("load customer %d: %w", answered.CustomerID, err)
		}
		if conv, ok, err := replyConversation(tx, answered, cust.ID); err != nil || ok {
			return conv, cust, "headers", err
		}
		conv, err := aboutConversation(tx, cust, answered.InvoiceID, answered.CaseID, r.Subject, at)
		return conv, cust, "headers", err
	}
	cust, invoiceID, caseID, err := senderCustomer(tx, r)
	if err != nil {
		return models.Conversation{}, cust, "", err
	}
	conv, err := aboutConversation(tx, cust, invoiceID, caseID, r.Subject, at)
	return conv, cust, "sender", err
}

// answeredEmail is the outbox email the reply's headers name, nil when none.
func answeredEmail(tx *gorm.DB, r email.Reply) (*models.Message, error) {
	ids := append([]string{}, r.InReplyTo...)
	for i := len(r.References) - 1; i >= 0; i-- {
		ids = append(ids, r.References[i])
	}
	for _, id := range ids {
		bare := strings.Trim(id, "<>")
		var msg models.Message
		err := tx.Where("channel = ? AND provider_id IN ?", string(policy.ChannelEmail), []string{"<" + bare + ">", bare}).
			Order("id DESC").Take(&msg).Error
		if err == nil {
			return &msg, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("find email %s: %w", id, err)
		}
	}
	return nil, nil
}

// replyConversation is the conversation of the inbox reply an outbox email
// carried, when it is one (and still the customer's).
func replyConversation(tx *gorm.DB, msg *models.Message, custID int64) (models.Conversation, bool, error) {
	var conv models.Conversation
	rest, ok := strings.CutPrefix(msg.Key, domain.ReplyKeyPrefix)
	if !ok {
		return conv, false, nil
	}
	idText, _, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return conv, false, nil
	}
	var im models.InboxMessage
	if err := tx.First(&im, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return conv, false, nil
		}
		return conv, false, fmt.Errorf("load inbox message %d: %w", id, err)
	}
	err = tx.Where("id = ? AND customer_id = ?", im.ConversationID, custID).Take(&conv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return conv, false, nil
	}
	if err != nil {
		return conv, false, fmt.Errorf("load conversation %d: %w", im.ConversationID, err)
	}
	return conv, true, nil
}

// aboutConversation is the customer's latest conversation about the same
// invoice and case (none: about the account), opened with subject when
// there is none. SMS conversations are left to SMS.
func aboutConversation(tx *gorm.DB, cust models.Customer, invoiceID, caseID *int64, subject string, at time.Time) (models.Conversation, error) {
	var conv models.Conversation
	q := tx.Where("customer_id = ? AND subject <> ?", cust.ID, SMSConversationSubject)
	about, args := models.ConversationAbout(invoiceID, caseID)
	q = q.Where(about, args...)
	err := q.Order("last_message_at DESC, id DESC").Take(&conv).Error
	if err == nil {
		return conv, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return conv, fmt.Errorf("find conversation of customer %d: %w", cust.ID, err)
	}
	var adm models.Administration
	if err := tx.First(&adm, cust.AdministrationID).Error; err != nil {
		return conv, fmt.Errorf("load administration %d: %w", cust.AdministrationID, err)
	}
	subject = strings.TrimSpace(subject)
	if subject == "" {
		subject = domain.EmailConversationSubject
	}
	conv = models.Conversation{
		OrganizationID: adm.OrganizationID, AdministrationID: adm.ID, CustomerID: cust.ID, InvoiceID: invoiceID, CaseID: caseID,
		Subject: cutRunes(subject, 255), Unread: true, LastMessageAt: at,
	}
	if err := tx.Create(&conv).Error; err != nil {
		return conv, fmt.Errorf("open conversation of customer %d: %w", cust.ID, err)
	}
	return conv, nil
}

// senderCustomer finds the customer of an email that answers nothing
// Relance sent, by its From address (see RecordInboundEmail).
func senderCustomer(tx *gorm.DB, r email.Reply) (models.Customer, *int64, *int64, error) {
	var cust models.Customer
	from := strings.ToLower(strings.TrimSpace(r.From))
	var cands []models.Customer
	if err := tx.Where("LOWER(email) = ?", from).Order("id").Find(&cands).Error; err != nil {
		return cust, nil, nil, fmt.Errorf("find customers with email %s: %w", from, err)
	}
	if len(cands) == 0 {
		return cust, nil, nil, fmt.Errorf("email from %s: %w", from, domain.ErrUnknownSender)
	}
	admIDs := make([]int64, 0, len(cands))
	for _, c := range cands {
		admIDs = append(admIDs, c.AdministrationID)
	}
	var adms []models.Administration
	if err := tx.Where("id IN ?", admIDs).Find(&adms).Error; err != nil {
		return cust, nil, nil, fmt.Errorf("load administrations: %w", err)
	}
	orgOf := map[int64]int64{}
	written := map[int64]bool{}
	for _, a := range adms {
		orgOf[a.ID] = a.OrganizationID
		for _, to := range r.To {
			if to != "" && (strings.EqualFold(to, a.ReplyToEmail) || strings.EqualFold(to, a.SenderEmail)) {
				written[a.ID] = true
			}
		}
	}
	if len(written) > 0 {
		// The customer wrote to one organization's own address.
		kept := cands[:0]
		for _, c := range cands {
			if written[c.AdministrationID] {
				kept = append(kept, c)
			}
		}
		cands = kept
	}
	orgs := map[int64]bool{}
	ids := make([]int64, 0, len(cands))
	for _, c := range cands {
		orgs[orgOf[c.AdministrationID]] = true
		ids = append(ids, c.ID)
	}
	if len(orgs) > 1 {
		return cust, nil, nil, fmt.Errorf("email from %s (%d organizations): %w", from, len(orgs), domain.ErrAmbiguousSender)
	}
	cust = cands[0]
	var last models.Message
	err := tx.Where("channel = ? AND customer_id IN ? AND LOWER(recipient) = ? AND state IN ?", string(policy.ChannelEmail), ids, from,
		[]models.MessageState{models.MessageSent, models.MessageUncertain}).Order("id DESC").Take(&last).Error
	switch {
	case err == nil:
		for _, c := range cands {
			if c.ID == last.CustomerID {
				return c, last.InvoiceID, last.CaseID, nil
			}
		}
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return cust, nil, nil, fmt.Errorf("find last email to %s: %w", from, err)
	}
	return cust, nil, nil, nil
}

// cutRunes cuts s to at most n bytes on a character boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
