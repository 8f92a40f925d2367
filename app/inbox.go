package app

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"unicode/utf8"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// The organization's inbox (docs/domain.md §1.8, seed 003).

// InboxReadModes are the organization's inbox settings, in API order.
var InboxReadModes = []models.InboxReadMode{models.ReadManually, models.ReadOnOpen}

// Organization loads the caller's organization.
func (s *Service) Organization(ctx context.Context, org int64) (*models.Organization, error) {
	var o models.Organization
	err := s.db.WithContext(ctx).First(&o, org).Error
	return &o, storeErr(err, "organization %d", org)
}

// PatchOrganizationSettings changes the organization's settings: the inbox
// read mode (manually, the default, or on_open).
func (s *Service) PatchOrganizationSettings(ctx context.Context, org int64, p domain.OrganizationSettingsPatch) (*models.Organization, error) {
	if p.InboxRead != nil && !slices.Contains(InboxReadModes, *p.InboxRead) {
		return nil, domain.Invalid("inbox_read_mode", "must be manually or on_open, got %q", *p.InboxRead)
	}
	o, err := s.Organization(ctx, org)
	if err != nil {
		return nil, err
	}
	if p.InboxRead != nil && *p.InboxRead != o.InboxRead {
		if err := s.db.WithContext(ctx).Model(o).Update("inbox_read", *p.InboxRead).Error; err != nil {
			return nil, storeErr(err, "save settings of organization %d", org)
		}
		s.log.Info("organization inbox read mode changed", "organization_id", org, "inbox_read_mode", *p.InboxRead)
	}
	return o, nil
}

// Conversations lists the organization's conversations matching f, by ID.
func (s *Service) Conversations(ctx context.Context, org int64, f domain.InboxFilter, p domain.PageRequest) (domain.Page[models.Conversation], error) {
	q := s.db.WithContext(ctx).Model(&models.Conversation{}).Where("organization_id = ?", org)
	if f.Unread != nil {
		q = q.Where("unread = ?", *f.Unread)
	}
	for col, v := range map[string]int64{"administration_id": f.AdministrationID, "customer_id": f.CustomerID, "invoice_id": f.InvoiceID, "case_id": f.CaseID} {
		if v > 0 {
			q = q.Where(col+" = ?", v)
		}
	}
	out, err := page(q, p, func(c models.Conversation) int64 { return c.ID })
	return out, storeErr(err, "list conversations of organization %d", org)
}

// Conversation loads a conversation of organization org; another
// organization's is ErrNotFound.
func (s *Service) Conversation(ctx context.Context, org, id int64) (*models.Conversation, error) {
	var c models.Conversation
	err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", id, org).Take(&c).Error
	return &c, storeErr(err, "conversation %d", id)
}

// OpenConversation returns the conversation with its messages, oldest
// first. When the organization reads on_open and mayMarkRead (the caller
// may write), opening marks it read; with manually (the default) it stays
// as it is.
func (s *Service) OpenConversation(ctx context.Context, conv *models.Conversation, mayMarkRead bool) (domain.ConversationDetail, error) {
	d := domain.ConversationDetail{Messages: []domain.InboxMessageView{}}
	if conv.Unread && mayMarkRead {
		o, err := s.Organization(ctx, conv.OrganizationID)
		if err != nil {
			return d, err
		}
		if o.InboxRead == models.ReadOnOpen {
			if err := s.MarkConversation(ctx, conv, false); err != nil {
				return d, err
			}
		}
	}
	d.Conversation = *conv
	var msgs []models.InboxMessage
	if err := s.db.WithContext(ctx).Where("conversation_id = ?", conv.ID).Order("created_at, id").Find(&msgs).Error; err != nil {
		return d, storeErr(err, "messages of conversation %d", conv.ID)
	}
	if len(msgs) == 0 {
		return d, nil
	}
	ids := make([]int64, 0, len(msgs))
	keys := []string{}
	for _, m := range msgs {
		ids = append(ids, m.ID)
		if m.Direction == models.Outbound && m.Channel == string(policy.ChannelEmail) {
			keys = append(keys, replyKey(m.ID))
		}
	}
	var atts []models.InboxAttachment
	if err := s.db.WithContext(ctx).Omit("data").Where("inbox_message_id IN ?", ids).Order("id").Find(&atts).Error; err != nil {
		return d, storeErr(err, "attachments of conversation %d", conv.ID)
	}
	byMsg := map[int64][]models.InboxAttachment{}
	for _, a := range atts {
		byMsg[a.InboxMessageID] = append(byMsg[a.InboxMessageID], a)
	}
	outbox := map[string]models.Message{}
	if len(keys) > 0 {
		var rows []models.Message
		if err := s.db.WithContext(ctx).Omit("body_html", "body_text").Where("key IN ?", keys).Find(&rows).Error; err != nil {
			return d, storeErr(err, "emails of conversation %d", conv.ID)
		}
		for _, r := range rows {
			outbox[r.Key] = r
		}
	}
	for _, m := range msgs {
		v := domain.InboxMessageView{InboxMessage: m, Attachments: byMsg[m.ID]}
		if v.Attachments == nil {
			v.Attachments = []models.InboxAttachment{}
		}
		if r, ok := outbox[replyKey(m.ID)]; ok {
			v.Delivery = &domain.ReplyDelivery{OutboxMessageID: r.ID, State: r.State, Reason: r.Reason, Recipient: r.Recipient, SentAt: r.SentAt}
		}
		d.Messages = append(d.Messages, v)
	}
	return d, nil
}

// MarkConversation marks a conversation unread or read.
func (s *Service) MarkConversation(ctx context.Context, conv *models.Conversation, unread bool) error {
	if conv.Unread == unread {
		return nil
	}
	if err := s.db.WithContext(ctx).Model(&models.Conversation{}).Where("id = ?", conv.ID).Update("unread", unread).Error; err != nil {
		return storeErr(err, "mark conversation %d", conv.ID)
	}
	conv.Unread = unread
	return nil
}

// InboxAttachment loads an attachment (with its bytes) of an inbound email
// of organization org.
func (s *Service) InboxAttachment(ctx context.Context, org, id int64) (*models.InboxAttachment, error) {
	var a models.InboxAttachment
	db := s.db.WithContext(ctx)
	err := db.Where("id = ? AND inbox_message_id IN (?)", id,
		db.Session(&gorm.Session{NewDB: true}).Model(&models.InboxMessage{}).Select("inbox_messages.id").
			Joins("JOIN conversations ON conversations.id = inbox_messages.conversation_id").
			Where("conversations.organization_id = ?", org)).Take(&a).Error
	return &a, storeErr(err, "attachment %d", id)
}

// UnreadSummary counts the organization's unread conversations per
// customer, invoice and collection case. A customer's count is every unread
// conversation of the customer: its own and its invoices' and cases'
// (every conversation names its customer), as seed 003 says.
func (s *Service) UnreadSummary(ctx context.Context, org int64) (domain.UnreadSummary, error) {
	out := domain.UnreadSummary{Customers: []domain.UnreadCount{}, Invoices: []domain.UnreadCount{}, Cases: []domain.UnreadCount{}}
	base := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&models.Conversation{}).Where("organization_id = ? AND unread = ?", org, true)
	}
	var total int64
	if err := base().Count(&total).Error; err != nil {
		return out, storeErr(err, "count unread conversations of organization %d", org)
	}
	out.Total = int(total)
	for _, g := range []struct {
		col  string
		dest *[]domain.UnreadCount
	}{{"customer_id", &out.Customers}, {"invoice_id", &out.Invoices}, {"case_id", &out.Cases}} {
		var rows []domain.UnreadCount
		if err := base().Select(g.col + " AS id, COUNT(*) AS unread").Where(g.col + " IS NOT NULL").
			Group(g.col).Order(g.col).Scan(&rows).Error; err != nil {
			return out, storeErr(err, "count unread conversations per %s", g.col)
		}
		if rows != nil {
			*g.dest = rows
		}
	}
	return out, nil
}

// replyKey is the outbox key of reply id's email.
func replyKey(id int64) string { return fmt.Sprintf("%s%d/email", domain.ReplyKeyPrefix, id) }

// ReplyToConversation stores an admin's reply in the conversation (the
// portal shows it) and emails it to the customer: the reply and its queued
// outbox row are written together, then the InboxReply workflow sends the
// email through the outbox (sent once, retried while the relay is down,
// recorded like every message). The API does not send it itself: a relay
// that is down would lose the email or make the admin repeat the reply.
// A customer without a usable address gets the reply in the portal only:
// the row is recorded skipped (domain.ReplyNoEmail). The conversation is
// read once answered. When Temporal cannot start the workflow, nothing is
// kept and the error is ErrUnavailable.
func (s *Service) ReplyToConversation(ctx context.Context, conv *models.Conversation, in domain.ReplyInput) (domain.InboxMessageView, error) {
	var view domain.InboxMessageView
	body := strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	switch {
	case body == "":
		return view, domain.Invalid("body", "the reply is empty")
	case utf8.RuneCountInString(body) > domain.MaxReplyRunes:
		return view, domain.Invalid("body", "the reply has %d characters; at most %d are sent", utf8.RuneCountInString(body), domain.MaxReplyRunes)
	}
	author := strings.TrimSpace(in.Author)
	if author == "" {
		author = "admin"
	}
	if len(author) > 255 {
		return view, domain.Invalid("author", "at most 255 bytes")
	}
	var adm models.Administration
	if err := s.db.WithContext(ctx).First(&adm, conv.AdministrationID).Error; err != nil {
		return view, storeErr(err, "administration %d", conv.AdministrationID)
	}
	var cust models.Customer
	if err := s.db.WithContext(ctx).First(&cust, conv.CustomerID).Error; err != nil {
		return view, storeErr(err, "customer %d", conv.CustomerID)
	}
	to := strings.TrimSpace(cust.Email)
	if strings.EqualFold(to, cust.BouncedEmail) {
		to = ""
	}
	now := s.Now()
	var row models.Message
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		view.InboxMessage = models.InboxMessage{ConversationID: conv.ID, Direction: models.Outbound, Channel: string(policy.ChannelEmail),
			Author: author, Body: body, CreatedAt: now}
		if err := tx.Create(&view.InboxMessage).Error; err != nil {
			return fmt.Errorf("store reply: %w", err)
		}
		subject, text, htmlBody := s.replyEmail(&adm, &cust, conv, body)
		row = models.Message{Key: replyKey(view.ID), AdministrationID: adm.ID, CustomerID: cust.ID, InvoiceID: conv.InvoiceID, CaseID: conv.CaseID,
			WorkflowID: workflows.InboxReplyWorkflowID(view.ID), Kind: domain.ReplyKind, Channel: string(policy.ChannelEmail),
			State: models.MessageQueued, Manual: true, Recipient: to, Subject: subject, BodyText: text, BodyHTML: htmlBody}
		if to == "" {
			row.State, row.Reason = models.MessageSkipped, domain.ReplyNoEmail
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store reply email: %w", err)
		}
		return tx.Model(&models.Conversation{}).Where("id = ?", conv.ID).
			Updates(map[string]any{"unread": false, "last_message_at": now}).Error
	})
	if err != nil {
		return view, storeErr(err, "reply in conversation %d", conv.ID)
	}
	if row.State == models.MessageQueued {
		_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: row.WorkflowID, TaskQueue: workflows.TaskQueue,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		}, workflows.InboxReplyName, workflows.InboxReplyInput{OutboxMessageID: row.ID})
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if err != nil && !errors.As(err, &exists) {
			// Nothing was sent: take the reply back, so that the admin's
			// retry is the only copy.
			undo := s.db.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error {
				return errors.Join(tx.Delete(&models.Message{}, row.ID).Error, tx.Delete(&models.InboxMessage{}, view.ID).Error,
					tx.Model(&models.Conversation{}).Where("id = ?", conv.ID).
						Updates(map[string]any{"unread": conv.Unread, "last_message_at": conv.LastMessageAt}).Error)
			})
			if undo != nil {
				s.log.Error("reply not sent and not taken back", "inbox_message_id", view.ID, "error", undo)
			}
			if temporalUnavailable(err) {
				return view, fmt.Errorf("send reply in conversation %d: %w: %w", conv.ID, domain.ErrUnavailable, err)
			}
			return view, fmt.Errorf("send reply in conversation %d: %w", conv.ID, err)
		}
	}
	conv.Unread, conv.LastMessageAt = false, now
	view.Attachments = []models.InboxAttachment{}
	view.Delivery = &domain.ReplyDelivery{OutboxMessageID: row.ID, State: row.State, Reason: row.Reason, Recipient: row.Recipient}
	s.log.Info("inbox reply", "conversation_id", conv.ID, "inbox_message_id", view.ID, "outbox_message_id", row.ID, "state", row.State)
	return view, nil
}

// replyWords are the few words of a reply's email around the admin's text,
// per language.
var replyWords = map[string]struct{ subject, portal string }{
	"nl": {"Antwoord op uw bericht", "Uw berichten en openstaande facturen:"},
	"fr": {"Réponse à votre message", "Vos messages et factures ouvertes :"},
	"en": {"Reply to your message", "Your messages and open invoices:"},
	"de": {"Antwort auf Ihre Nachricht", "Ihre Nachrichten und offenen Rechnungen:"},
}

// replyEmail renders a reply's email: "Re: <subject>" (or the words for a
// conversation without one), the text, the company's name, and the portal
// link where the conversation is.
func (s *Service) replyEmail(adm *models.Administration, cust *models.Customer, conv *models.Conversation, body string) (subject, text, htmlBody string) {
	w, ok := replyWords[cust.Language]
	if !ok {
		w, ok = replyWords[adm.Language]
	}
	if !ok {
		w = replyWords["en"]
	}
	subject = w.subject
	if sub := strings.TrimSpace(conv.Subject); sub != "" && sub != domain.SMSConversationSubject && sub != domain.EmailConversationSubject {
		subject = sub
		if !strings.HasPrefix(strings.ToLower(sub), "re:") {
			subject = "Re: " + sub
		}
	}
	company := firstNonEmpty(adm.CompanyName, adm.Name)
	link := ""
	if s.portal.BaseURL != "" {
		link = s.portal.URL(cust.ID, cust.PortalToken, s.Now())
	}
	text = body + "\n\n-- \n" + company
	var h strings.Builder
	for _, p := range strings.Split(body, "\n\n") {
		h.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(p), "\n", "<br>") + "</p>\n")
	}
	h.WriteString("<p>-- <br>" + html.EscapeString(company) + "</p>\n")
	if link != "" {
		text += "\n\n" + w.portal + " " + link
		h.WriteString(fmt.Sprintf("<p>%s <a href=\"%s\">%s</a></p>\n", html.EscapeString(w.portal), html.EscapeString(link), html.EscapeString(link)))
	}
	return subject, text + "\n", h.String()
}
