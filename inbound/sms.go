// Package inbound records what the providers tell Relance after a message
// left: SMS delivery receipts and inbound SMS (Vonage webhooks) and email
// bounce reports (DSNs piped by the MTA). These are changes of state that
// come from outside; the Recorder applies them to the outbox, the customers,
// the invoices and the inbox.
package inbound

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// receiptRank orders delivery statuses so that a late or duplicate receipt
// never hides a more telling one: a failure of any part wins over a
// delivered part, and delivered wins over the intermediate statuses.
func receiptRank(status string) int {
	switch status {
	case sms.ReceiptFailed, sms.ReceiptRejected, sms.ReceiptExpired:
		return 3
	case sms.ReceiptDelivered:
		return 2
	case sms.ReceiptAccepted, sms.ReceiptBuffered:
		return 1
	}
	return 0
}

// hashedRef matches the client-ref sms.ClientRef makes of a key longer than
// Vonage's 100 characters: a prefix of the key, '~' and 40 hex digits.
var hashedRef = regexp.MustCompile(`^(.*)~[0-9a-f]{40}$`)

// RecordDeliveryReceipt records a Vonage delivery receipt on the SMS it is
// about, found by its client-ref (sms.ClientRef of the outbox key), or by
// Vonage's message-id for a receipt without one. A long SMS gets one receipt
// per part: the message shows the most telling status over its parts (see
// receiptRank), so one failed part marks it failed and it reads delivered
// once a part is delivered and none failed. A failure's carrier error code
// becomes the row's reason when it has none. The outbox state says what
// Relance did and the delivery status what the network did; any receipt
// proves Vonage had the message, so a row not yet known as sent (uncertain,
// still sending, or queued for a retry) becomes sent.
func (rec *Recorder) RecordDeliveryReceipt(ctx context.Context, r sms.DeliveryReceipt) (domain.ReceiptOutcome, error) {
	var out domain.ReceiptOutcome
	err := rec.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		msg, err := findReceiptMessage(tx, r)
		if err != nil {
			return err
		}
		out.Message = msg
		at := r.Timestamp
		if at.IsZero() {
			at = rec.clock().UTC()
		}
		upd := map[string]any{}
		switch msg.State {
		case models.MessageUncertain, models.MessageSending, models.MessageQueued:
			// Vonage had it: the row is sent whatever the send attempt
			// hears (or heard) — a receipt that beats the HTTP answer, an
			// answer lost, a worker killed before recording it, a failure
			// recorded as retryable. The attempt records its own outcome
			// only on a row still sending, so this stands, and a retry
			// finds the row sent and sends nothing again.
			upd["state"], upd["reason"] = models.MessageSent, "confirmed by a Vonage delivery receipt"
			if msg.SentAt == nil {
				upd["sent_at"] = at.UTC()
			}
			if msg.ProviderID == "" {
				upd["provider_id"] = r.MessageID
			}
		}
		if msg.DeliveryStatus == "" || receiptRank(r.Status) >= receiptRank(msg.DeliveryStatus) {
			upd["delivery_status"], upd["delivery_at"] = r.Status, at.UTC()
		}
		if len(upd) == 0 {
			return nil
		}
		if _, ok := upd["delivery_status"]; ok && receiptRank(r.Status) == 3 && (msg.Reason == "" || upd["reason"] != nil) {
			upd["reason"] = truncate(fmt.Sprintf("delivery %s (carrier error code %s)", r.Status, orDash(r.ErrCode)), 255)
		}
		if err := tx.Model(&models.Message{}).Where("id = ?", msg.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("record delivery receipt %s on message %s: %w", r.MessageID, msg.Key, err)
		}
		if err := tx.First(&out.Message, msg.ID).Error; err != nil {
			return fmt.Errorf("reload message %d: %w", msg.ID, err)
		}
		out.Updated = true
		return nil
	})
	return out, err
}

// findReceiptMessage finds the SMS row a receipt is about.
func findReceiptMessage(tx *gorm.DB, r sms.DeliveryReceipt) (models.Message, error) {
	var msg models.Message
	smsRows := func() *gorm.DB { return tx.Where("channel = ?", string(policy.ChannelSMS)) }
	if ref := r.ClientRef; ref != "" {
		err := smsRows().Where("key = ?", ref).Take(&msg).Error
		if err == nil {
			return msg, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return msg, fmt.Errorf("find message of client-ref %q: %w", ref, err)
		}
		if m := hashedRef.FindStringSubmatch(ref); m != nil {
			// The key was longer than Vonage allows: the ref keeps its
			// start, so the candidates are few; the hash picks the one.
			var cands []models.Message
			if err := smsRows().Where("key LIKE ? ESCAPE '!'", likePrefix(m[1])).Limit(1000).Find(&cands).Error; err != nil {
				return msg, fmt.Errorf("find message of client-ref %q: %w", ref, err)
			}
			for _, c := range cands {
				if sms.ClientRef(c.Key) == ref {
					return c, nil
				}
			}
		}
	}
	if r.MessageID != "" {
		// Without a usable client-ref, the first part's ID is stored as
		// the provider ID.
		err := smsRows().Where("provider_id = ?", r.MessageID).Take(&msg).Error
		if err == nil {
			return msg, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return msg, fmt.Errorf("find message of Vonage id %q: %w", r.MessageID, err)
		}
	}
	return msg, fmt.Errorf("receipt %s (client-ref %q): %w", r.MessageID, r.ClientRef, domain.ErrUnknownMessage)
}

// likePrefix escapes s for a LIKE 'prefix%' pattern with '!' as the escape.
func likePrefix(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s) + "%"
}

// SMSConversationSubject is the subject of the conversation that collects a
// customer's text messages.
const SMSConversationSubject = domain.SMSConversationSubject

// RecordInboundSMS files an SMS a customer sent to the account's number in
// the inbox (docs/domain.md §1.8): under the customer whose mobile number (E.164)
// sent it, in that customer's SMS conversation (created on the first SMS,
// about the invoice of the last SMS Relance sent to the number), which is
// marked unread. Only the organizations sending from the number it was
// sent to are searched (smsScope). When several customers share the number
// (one person with accounts in two administrations), the one Relance
// texted last gets it, else the oldest if they are all of one
// organization; customers of several organizations that Relance never
// texted at the number get nothing (ErrAmbiguousSender). The message's external ID is Vonage's, so a repeated
// webhook records nothing twice. The parts of a long SMS are kept as they
// come and replaced by one message with the whole text once all are there.
// An unknown number returns ErrUnknownSender.
func (rec *Recorder) RecordInboundSMS(ctx context.Context, in sms.Inbound) (domain.InboundOutcome, error) {
	var out domain.InboundOutcome
	from := inboundE164(in.From)
	if from == "" {
		return out, fmt.Errorf("inbound SMS %s from %q: %w", in.MessageID, in.From, domain.ErrUnknownSender)
	}
	at := in.Timestamp
	if at.IsZero() {
		at = rec.clock().UTC()
	}
	at = at.UTC()
	err := rec.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cust, invoiceID, caseID, n, err := inboundCustomer(tx, from, in.To)
		if err != nil {
			return fmt.Errorf("inbound SMS %s: %w", in.MessageID, err)
		}
		out.Customer, out.Candidates = cust, n

		extID := "vonage:" + in.MessageID
		concat := in.ConcatTotal > 1 && in.ConcatRef != ""
		ids := []string{extID}
		wholeID, partPrefix := "", ""
		if concat {
			// The parts of a long SMS are named after it and their number,
			// so a repeated part, or one after the join, is recognised.
			wholeID = fmt.Sprintf("vonage-concat:%s:%s", from, in.ConcatRef)
			partPrefix = fmt.Sprintf("vonage-part:%s:%s:", from, in.ConcatRef)
			ids = append(ids, wholeID, fmt.Sprintf("%s%d", partPrefix, in.ConcatPart))
		}
		var seen int64
		if err := tx.Model(&models.InboxMessage{}).Where("external_id IN ?", ids).Count(&seen).Error; err != nil {
			return fmt.Errorf("look up inbound SMS %s: %w", in.MessageID, err)
		}
		if seen > 0 {
			out.Duplicate = true
			return nil
		}

		conv, err := smsConversation(tx, cust, invoiceID, caseID, at)
		if err != nil {
			return err
		}
		msg := models.InboxMessage{
			ConversationID: conv.ID, Direction: models.Inbound, Channel: string(policy.ChannelSMS),
			Author: from, Body: in.Text, ExternalID: extID, CreatedAt: at,
		}
		if concat {
			msg.ExternalID = fmt.Sprintf("%s%d", partPrefix, in.ConcatPart)
			msg.Body = fmt.Sprintf("(part %d/%d) %s", in.ConcatPart, in.ConcatTotal, in.Text)
			whole, complete, err := joinParts(tx, conv.ID, partPrefix, wholeID, in, msg)
			if err != nil {
				return err
			}
			out.Pending = !complete
			msg = whole
		} else if err := tx.Create(&msg).Error; err != nil {
			return fmt.Errorf("store inbound SMS %s: %w", in.MessageID, err)
		}
		if !out.Pending {
			out.Message = msg
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", conv.ID).
			Updates(map[string]any{"unread": true, "last_message_at": at}).Error; err != nil {
			return fmt.Errorf("mark conversation %d unread: %w", conv.ID, err)
		}
		conv.Unread, conv.LastMessageAt = true, at
		out.Conversation = conv
		return nil
	})
	return out, err
}

// inboundE164 turns Vonage's msisdn (international digits) into E.164, in
// the form customers' mobile numbers are stored; "" when it is not a number.
func inboundE164(msisdn string) string {
	digits := strings.TrimPrefix(strings.TrimSpace(msisdn), "+")
	if digits == "" || len(digits) > 15 {
		return ""
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return ""
		}
	}
	if n, err := policy.NormalizeMobile("+"+digits, ""); err == nil {
		return n
	}
	return "+" + digits
}

// inboundCustomer finds the customer a number belongs to, only ever within
// the organizations that send from the number the SMS was sent to (see
// smsScope): the one Relance last texted at that number, else the oldest
// customer with it as mobile when they all belong to one organization.
// Customers of several organizations and no SMS to tell them apart is
// domain.ErrAmbiguousSender: filing it under either could show it to the
// wrong company. It also returns the invoice and case the last SMS to the
// number was about.
func inboundCustomer(tx *gorm.DB, e164, to string) (models.Customer, *int64, *int64, int, error) {
	var cust models.Customer
	scope, err := smsScope(tx, to)
	if err != nil {
		return cust, nil, nil, 0, err
	}
	var cands []models.Customer
	if err := scope(tx.Model(&models.Customer{}).Where("mobile = ?", e164)).Order("id").Find(&cands).Error; err != nil {
		return cust, nil, nil, 0, fmt.Errorf("find customers with mobile %s: %w", e164, err)
	}
	var last models.Message
	err = scope(tx.Where("channel = ? AND recipient = ? AND state IN ?", string(policy.ChannelSMS), e164,
		[]models.MessageState{models.MessageSent, models.MessageUncertain})).
		Order("id DESC").Take(&last).Error
	var invoiceID, caseID *int64
	custID := int64(0)
	switch {
	case err == nil:
		custID, invoiceID, caseID = last.CustomerID, last.InvoiceID, last.CaseID
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return cust, nil, nil, 0, fmt.Errorf("find last SMS to %s: %w", e164, err)
	case len(cands) == 0:
		return cust, nil, nil, 0, fmt.Errorf("mobile %s: %w", e164, domain.ErrUnknownSender)
	default:
		admIDs := make([]int64, 0, len(cands))
		for _, c := range cands {
			admIDs = append(admIDs, c.AdministrationID)
		}
		var orgs int64
		if err := tx.Model(&models.Administration{}).Where("id IN ?", admIDs).
			Distinct("organization_id").Count(&orgs).Error; err != nil {
			return cust, nil, nil, 0, fmt.Errorf("organizations of mobile %s: %w", e164, err)
		}
		if orgs > 1 {
			return cust, nil, nil, 0, fmt.Errorf("mobile %s (customers of %d organizations): %w", e164, orgs, domain.ErrAmbiguousSender)
		}
		custID = cands[0].ID
	}
	if err := tx.First(&cust, custID).Error; err != nil {
		return cust, nil, nil, 0, fmt.Errorf("load customer %d: %w", custID, err)
	}
	n := len(cands)
	if n == 0 {
		n = 1 // texted at a number it no longer has on file
	}
	return cust, invoiceID, caseID, n, nil
}

// smsScope narrows a query on a table with administration_id to the
// administrations an SMS sent to the number to may answer: those whose SMS
// sender is that number; when none has it as its own, those that send from
// the account's shared number or an alphanumeric sender ID (every
// administration whose sender is not another number). An SMS without a
// to-number is not narrowed.
func smsScope(tx *gorm.DB, to string) (func(*gorm.DB) *gorm.DB, error) {
	to = senderDigits(to)
	if to == "" {
		return func(q *gorm.DB) *gorm.DB { return q }, nil
	}
	var adms []models.Administration
	if err := tx.Select("id", "sms_sender").Where("sms_sender <> ''").Find(&adms).Error; err != nil {
		return nil, fmt.Errorf("load SMS senders: %w", err)
	}
	var own, others []int64
	for _, a := range adms {
		switch d := senderDigits(a.SMSSender); {
		case d == to:
			own = append(own, a.ID)
		case d != "":
			others = append(others, a.ID)
		}
	}
	if len(own) > 0 {
		return func(q *gorm.DB) *gorm.DB { return q.Where("administration_id IN ?", own) }, nil
	}
	if len(others) > 0 {
		return func(q *gorm.DB) *gorm.DB { return q.Where("administration_id NOT IN ?", others) }, nil
	}
	return func(q *gorm.DB) *gorm.DB { return q }, nil
}

// senderDigits is a numeric sender's digits ("+33 7 00…" or Vonage's
// "337…"); "" for an alphanumeric sender ID, which cannot be answered.
func senderDigits(s string) string {
	var b strings.Builder
	for i, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0, c == ' ':
		default:
			return ""
		}
	}
	return b.String()
}

// smsConversation returns the customer's SMS conversation, creating it.
func smsConversation(tx *gorm.DB, cust models.Customer, invoiceID, caseID *int64, at time.Time) (models.Conversation, error) {
	var conv models.Conversation
	err := tx.Where("customer_id = ? AND subject = ?", cust.ID, SMSConversationSubject).Order("id DESC").Take(&conv).Error
	if err == nil {
		return conv, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return conv, fmt.Errorf("find SMS conversation of customer %d: %w", cust.ID, err)
	}
	var adm models.Administration
	if err := tx.First(&adm, cust.AdministrationID).Error; err != nil {
		return conv, fmt.Errorf("load administration %d: %w", cust.AdministrationID, err)
	}
	conv = models.Conversation{
		OrganizationID: adm.OrganizationID, AdministrationID: adm.ID, CustomerID: cust.ID, InvoiceID: invoiceID, CaseID: caseID,
		Subject: SMSConversationSubject, Unread: true, LastMessageAt: at,
	}
	if err := tx.Create(&conv).Error; err != nil {
		return conv, fmt.Errorf("create SMS conversation of customer %d: %w", cust.ID, err)
	}
	return conv, nil
}

// joinParts stores one part of a long SMS; once every part is there it
// replaces them with one message holding the whole text, in part order.
func joinParts(tx *gorm.DB, convID int64, partPrefix, wholeID string, in sms.Inbound, part models.InboxMessage) (models.InboxMessage, bool, error) {
	if err := tx.Create(&part).Error; err != nil {
		return part, false, fmt.Errorf("store part %d of inbound SMS %s: %w", in.ConcatPart, in.MessageID, err)
	}
	var parts []models.InboxMessage
	if err := tx.Where("conversation_id = ? AND external_id LIKE ? ESCAPE '!'", convID, likePrefix(partPrefix)).
		Find(&parts).Error; err != nil {
		return part, false, fmt.Errorf("load parts of inbound SMS %s: %w", in.ConcatRef, err)
	}
	texts := map[int]string{}
	for _, p := range parts {
		if n, err := strconv.Atoi(strings.TrimPrefix(p.ExternalID, partPrefix)); err == nil {
			// Strip the "(part i/n) " shown while the SMS is incomplete.
			body := p.Body
			if i := strings.Index(body, ") "); strings.HasPrefix(body, "(part ") && i > 0 {
				body = body[i+2:]
			}
			texts[n] = body
		}
	}
	if len(texts) < in.ConcatTotal {
		return part, false, nil
	}
	nums := make([]int, 0, len(texts))
	for n := range texts {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var b strings.Builder
	for _, n := range nums {
		b.WriteString(texts[n])
	}
	whole := models.InboxMessage{
		ConversationID: convID, Direction: models.Inbound, Channel: string(policy.ChannelSMS),
		Author: part.Author, Body: b.String(), ExternalID: wholeID, CreatedAt: part.CreatedAt,
	}
	if err := tx.Where("conversation_id = ? AND external_id LIKE ? ESCAPE '!'", convID, likePrefix(partPrefix)).
		Delete(&models.InboxMessage{}).Error; err != nil {
		return part, false, fmt.Errorf("replace parts of inbound SMS %s: %w", in.ConcatRef, err)
	}
	if err := tx.Create(&whole).Error; err != nil {
		return part, false, fmt.Errorf("store inbound SMS %s: %w", in.ConcatRef, err)
	}
	return whole, true, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
