package inbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// deliveryRank orders a DSN's verdicts so that a late or repeated report
// never hides a more telling one: a bounce wins over delivered, delivered
// over delayed.
func deliveryRank(status string) int {
	switch status {
	case domain.DeliveryBounced:
		return 3
	case domain.DeliveryDelivered:
		return 2
	case domain.DeliveryDelayed:
		return 1
	}
	return 0
}

// deliveryStatusOf maps a DSN action to the row's delivery status; "" for
// an action that says nothing about delivery.
func deliveryStatusOf(action string) string {
	switch action {
	case email.ActionFailed:
		return domain.DeliveryBounced
	case email.ActionDelayed:
		return domain.DeliveryDelayed
	case email.ActionDelivered, email.ActionRelayed, email.ActionExpanded:
		return domain.DeliveryDelivered
	}
	return ""
}

// RecordBounce applies a delivery status notification to the email it is
// about, found by its Message-ID (the row's provider_id, with or without
// angle brackets). Action failed makes the row failed, whatever Relance
// thought before (sent or uncertain: the recipient's side has now said no),
// with delivery status "bounced", delivery_at now and the reason "bounced:
// <status> <diagnostic>", and flags the invoice AttentionEmailBounced;
// delayed sets the delivery status "delayed" and delivered, relayed or
// expanded "delivered", leaving the state alone. A report that changes
// nothing (the same DSN twice, a delay after a bounce) writes nothing. A
// report naming no known email returns ErrUnknownEmail.
func (rec *Recorder) RecordBounce(ctx context.Context, dsn email.DSN) (domain.BounceOutcome, error) {
	var out domain.BounceOutcome
	id := strings.Trim(strings.TrimSpace(dsn.MessageID), "<>")
	if id == "" {
		return out, fmt.Errorf("bounce report without the original Message-ID: %w", domain.ErrUnknownEmail)
	}
	err := rec.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var msg models.Message
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("channel = ? AND provider_id IN ?", string(policy.ChannelEmail), []string{"<" + id + ">", id}).
			Order("id").Take(&msg).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("bounce of <%s>: %w", id, domain.ErrUnknownEmail)
		}
		if err != nil {
			return fmt.Errorf("find email <%s>: %w", id, err)
		}
		out.Message = msg
		rcpt := recipientFor(dsn.Recipients, msg.Recipient)
		out.Recipient = rcpt
		status := deliveryStatusOf(rcpt.Action)
		if status == "" || deliveryRank(status) < deliveryRank(msg.DeliveryStatus) {
			return nil
		}
		upd := map[string]any{}
		if status != msg.DeliveryStatus {
			upd["delivery_status"], upd["delivery_at"] = status, rec.clock().UTC()
		}
		if status == domain.DeliveryBounced && msg.State != models.MessageFailed {
			upd["state"] = models.MessageFailed
		}
		if status != domain.DeliveryBounced && msg.State == models.MessageUncertain {
			// A mail system reports on it: the message was handed over.
			upd["state"], upd["reason"] = models.MessageSent, "confirmed by a delivery status notification"
		}
		if status == domain.DeliveryBounced && len(upd) > 0 {
			upd["reason"] = bounceReason(rcpt)
		}
		if len(upd) == 0 {
			out.Duplicate = true
			return nil
		}
		if err := tx.Model(&models.Message{}).Where("id = ?", msg.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("record bounce on email %s: %w", msg.Key, err)
		}
		if status == domain.DeliveryBounced && msg.Recipient != "" {
			// The address is dead: the next steps go by post (policy), until
			// an import or an admin brings another address.
			if err := tx.Model(&models.Customer{}).Where("id = ?", msg.CustomerID).
				Update("bounced_email", msg.Recipient).Error; err != nil {
				return fmt.Errorf("record bounced address of customer %d: %w", msg.CustomerID, err)
			}
		}
		if status == domain.DeliveryBounced && msg.InvoiceID != nil {
			if err := tx.Model(&models.Invoice{}).Where("id = ?", *msg.InvoiceID).
				Update("attention_reason", domain.AttentionEmailBounced).Error; err != nil {
				return fmt.Errorf("flag invoice %d for attention: %w", *msg.InvoiceID, err)
			}
			out.Flagged = true
		}
		if err := tx.First(&out.Message, msg.ID).Error; err != nil {
			return fmt.Errorf("reload email %d: %w", msg.ID, err)
		}
		out.Updated = true
		return nil
	})
	return out, err
}

// recipientFor picks the recipient block about the row's recipient (Relance
// sends each email to one address); when none names it (an alias rewrote
// the address), the most telling block.
func recipientFor(rcpts []email.DSNRecipient, address string) email.DSNRecipient {
	for _, r := range rcpts {
		if address != "" && (strings.EqualFold(r.FinalRecipient, address) || strings.EqualFold(r.OriginalRecipient, address)) {
			return r
		}
	}
	var best email.DSNRecipient
	for i, r := range rcpts {
		if i == 0 || deliveryRank(deliveryStatusOf(r.Action)) > deliveryRank(deliveryStatusOf(best.Action)) {
			best = r
		}
	}
	return best
}

// bounceReason is the row's reason for a bounce: "bounced: 5.1.1 550 …",
// cut to the column's 255 bytes on a character boundary (PostgreSQL refuses
// a half character).
func bounceReason(r email.DSNRecipient) string {
	s := strings.Join(strings.Fields("bounced: "+r.Status+" "+strings.ToValidUTF8(r.DiagnosticCode, "\uFFFD")), " ")
	s = strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return -1
		}
		return c
	}, s)
	if len(s) <= 255 {
		return s
	}
	cut := 255
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
