package inbound

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// angle brackets). The row's verdict comes from the report's block about
// one of its To addresses: action failed makes the row failed, whatever
// Relance thought before (sent or uncertain: the recipient's side has now
// said no), with delivery status "bounced", delivery_at now and the reason
// "bounced: <status> <diagnostic>"; delayed sets the delivery status
// "delayed" and delivered, relayed or expanded "delivered", leaving the
// state alone. A report only about a copy (Cc) leaves the row as it is.
//
// Every address the report says failed is marked where it came from: a
// contact person's address on that contact (its roles fall back to the
// customer's address), the customer's own address on the customer
// (bounced_email); the administration's archive copy (Bcc) is nobody's.
// A bounce of a customer's address flags the invoice AttentionEmailBounced.
// A report that changes nothing (the same DSN twice, a delay after a
// bounce) writes nothing. A report naming no known email returns
// ErrUnknownEmail.
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
		to := []string(msg.To)
		if len(to) == 0 && msg.Recipient != "" {
			to = []string{msg.Recipient} // a row from before the address lists
		}
		rcpt, aboutRow := recipientFor(dsn.Recipients, to, append(slices.Clone(msg.Cc), msg.Bcc...))
		out.Recipient = rcpt
		upd := map[string]any{}
		status := ""
		if aboutRow {
			status = deliveryStatusOf(rcpt.Action)
		}
		if status != "" && deliveryRank(status) >= deliveryRank(msg.DeliveryStatus) {
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
		}
		if len(upd) > 0 {
			if err := tx.Model(&models.Message{}).Where("id = ?", msg.ID).Updates(upd).Error; err != nil {
				return fmt.Errorf("record bounce on email %s: %w", msg.Key, err)
			}
		}
		// The dead addresses: the next messages leave them out (policy),
		// until an import or an admin brings another address.
		dead := bouncedAddresses(dsn.Recipients, to, msg.Cc, msg.Bcc, rcpt, aboutRow)
		marked, err := markBounced(tx, msg, dead)
		if err != nil {
			return err
		}
		if len(upd) == 0 && !marked {
			// Nothing new: the same verdict again (a duplicate), or one a
			// more telling verdict outranks, or none at all (ignored).
			sameVerdict := status != "" && deliveryRank(status) >= deliveryRank(msg.DeliveryStatus)
			copyAgain := !aboutRow && len(dead) > 0
			out.Duplicate = sameVerdict || copyAgain
			return nil
		}
		if (marked || status == domain.DeliveryBounced && len(upd) > 0) && msg.InvoiceID != nil {
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

// recipientFor picks the recipient block about the row's To addresses
// (the most telling when several are); aboutRow is false when the report
// names only copies (Cc, Bcc), which say nothing of the row. When the
// report names none of the message's addresses (an alias rewrote them),
// its most telling block is about the row.
func recipientFor(rcpts []email.DSNRecipient, to, copies []string) (best email.DSNRecipient, aboutRow bool) {
	pick := func(match func(email.DSNRecipient) bool) (email.DSNRecipient, bool) {
		var b email.DSNRecipient
		found := false
		for _, r := range rcpts {
			if match(r) && (!found || deliveryRank(deliveryStatusOf(r.Action)) > deliveryRank(deliveryStatusOf(b.Action))) {
				b, found = r, true
			}
		}
		return b, found
	}
	if b, ok := pick(func(r email.DSNRecipient) bool { return blockAddress(r, to) != "" }); ok {
		return b, true
	}
	if b, ok := pick(func(r email.DSNRecipient) bool { return blockAddress(r, copies) != "" }); ok {
		return b, false
	}
	b, ok := pick(func(email.DSNRecipient) bool { return true })
	return b, ok
}

// blockAddress is the address of list a DSN block is about, or "".
func blockAddress(r email.DSNRecipient, list []string) string {
	for _, a := range list {
		if a != "" && (strings.EqualFold(r.FinalRecipient, a) || strings.EqualFold(r.OriginalRecipient, a)) {
			return a
		}
	}
	return ""
}

// failedBlocks are the report's blocks that say an address failed.
func failedBlocks(rcpts []email.DSNRecipient) []email.DSNRecipient {
	var out []email.DSNRecipient
	for _, r := range rcpts {
		if r.Action == email.ActionFailed {
			out = append(out, r)
		}
	}
	return out
}

// bouncedAddresses are the message's To and Cc addresses the report says
// failed; a failed block naming none of the message's addresses counts for
// the first To address when it is the block about the row (an alias or a
// forward rewrote the address). The Bcc (the archive copy) is left out.
func bouncedAddresses(rcpts []email.DSNRecipient, to, cc, bcc []string, rowBlock email.DSNRecipient, aboutRow bool) []string {
	var out []string
	add := func(a string) {
		if a != "" && !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, a) }) {
			out = append(out, a)
		}
	}
	customerSide := append(slices.Clone(to), cc...)
	for _, r := range failedBlocks(rcpts) {
		if a := blockAddress(r, customerSide); a != "" {
			add(a)
			continue
		}
		if blockAddress(r, bcc) == "" && aboutRow && r == rowBlock && len(to) > 0 {
			add(to[0])
		}
	}
	return out
}

// markBounced records each dead address on the contact person it belongs
// to, else on the customer; it reports whether anything changed.
func markBounced(tx *gorm.DB, msg models.Message, addrs []string) (bool, error) {
	if len(addrs) == 0 {
		return false, nil
	}
	var contacts []models.Contact
	if err := tx.Where("customer_id = ?", msg.CustomerID).Find(&contacts).Error; err != nil {
		return false, fmt.Errorf("load contacts of customer %d: %w", msg.CustomerID, err)
	}
	changed := false
	for _, a := range addrs {
		onContact := false
		for _, c := range contacts {
			if !strings.EqualFold(strings.TrimSpace(c.Email), a) {
				continue
			}
			onContact = true
			if strings.EqualFold(c.BouncedEmail, a) {
				continue
			}
			if err := tx.Model(&models.Contact{}).Where("id = ?", c.ID).Update("bounced_email", a).Error; err != nil {
				return false, fmt.Errorf("record bounced address of contact %d: %w", c.ID, err)
			}
			changed = true
		}
		if onContact {
			continue
		}
		res := tx.Model(&models.Customer{}).Where("id = ? AND (bounced_email IS NULL OR bounced_email <> ?)", msg.CustomerID, a).Update("bounced_email", a)
		if res.Error != nil {
			return false, fmt.Errorf("record bounced address of customer %d: %w", msg.CustomerID, res.Error)
		}
		changed = changed || res.RowsAffected > 0
	}
	return changed, nil
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
