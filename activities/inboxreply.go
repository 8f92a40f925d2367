package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// InboxReplyInput names the outbox row of an inbox reply's email, which the
// application wrote (queued, rendered) with the reply.
type InboxReplyInput struct {
	OutboxMessageID int64 `json:"outbox_message_id"`
}

// InboxReplyResult is where the email stands after the attempt.
type InboxReplyResult struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// SendInboxReply sends the email of an admin's inbox reply through the
// outbox, with the rules of SendStep: a row sent, failed or uncertain is
// never sent again; a row found sending (a worker died mid-send) becomes
// uncertain; a retryable failure leaves it queued and returns the error, so
// Temporal retries. The email answers the customer's last email in the
// conversation (In-Reply-To), so mail clients thread it.
func (a *Activities) SendInboxReply(ctx context.Context, in InboxReplyInput) (InboxReplyResult, error) {
	var row models.Message
	if err := a.DB.WithContext(ctx).First(&row, in.OutboxMessageID).Error; err != nil {
		return InboxReplyResult{}, notFound("outbox message", in.OutboxMessageID, err)
	}
	switch row.State {
	case models.MessageQueued:
	case models.MessageSending:
		upd := map[string]any{"state": models.MessageUncertain, "reason": "interrupted while sending: the provider may have it; not sent again"}
		if err := a.DB.WithContext(ctx).Model(&models.Message{}).Where("id = ? AND state = ?", row.ID, models.MessageSending).Updates(upd).Error; err != nil {
			return InboxReplyResult{}, fmt.Errorf("mark reply %s uncertain: %w", row.Key, err)
		}
		metrics.MessageSent(string(policy.ChannelEmail), string(models.MessageUncertain))
		return InboxReplyResult{State: string(models.MessageUncertain), Reason: upd["reason"].(string)}, nil
	default:
		return InboxReplyResult{State: string(row.State), Reason: row.Reason}, nil
	}
	var adm models.Administration
	if err := a.DB.WithContext(ctx).First(&adm, row.AdministrationID).Error; err != nil {
		return InboxReplyResult{}, notFound("administration", row.AdministrationID, err)
	}
	var cust models.Customer
	if err := a.DB.WithContext(ctx).First(&cust, row.CustomerID).Error; err != nil {
		return InboxReplyResult{}, notFound("customer", row.CustomerID, err)
	}
	headers, err := a.replyHeaders(ctx, row.Key)
	if err != nil {
		return InboxReplyResult{}, err
	}
	out := ChannelOutcome{Channel: policy.ChannelEmail, MessageID: row.ID}
	begun := false
	var providerID string
	var sendErr error
	if a.Email == nil {
		sendErr = channels.Permanent(errors.New("no email provider configured"))
	} else if sendErr = a.begin(ctx, row.ID, row.Key); sendErr == nil {
		begun = true
		stop := keepAlive(ctx)
		providerID, sendErr = a.Email.SendEmail(ctx, channels.Email{
			Key: row.Key, FromName: firstOf(adm.SenderName, adm.CompanyName, adm.Name),
			From: firstOf(adm.SenderEmail, a.DefaultFrom), ReplyTo: adm.ReplyToEmail,
			To: row.Recipient, ToName: cust.Name, Subject: row.Subject, HTML: row.BodyHTML, Text: row.BodyText,
			Headers: headers,
		})
		stop()
	}
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !begun {
		o, err := a.notBegun(rec, out, row.ID, row.Key, sendErr)
		return InboxReplyResult{State: o.State, Reason: o.Reason}, err
	}
	upd := map[string]any{}
	switch {
	case sendErr == nil:
		upd["state"], upd["provider_id"], upd["sent_at"], upd["reason"] = models.MessageSent, providerID, a.now(), ""
	case channels.IsPermanent(sendErr):
		upd["state"], upd["reason"] = models.MessageFailed, truncate(sendErr.Error(), 255)
	case channels.IsMaybeDelivered(sendErr):
		upd["state"], upd["reason"] = models.MessageUncertain, truncate("provider may have it, not sent again: "+sendErr.Error(), 255)
	default:
		upd["state"], upd["reason"] = models.MessageQueued, truncate(sendErr.Error(), 255)
	}
	res := a.DB.WithContext(rec).Model(&models.Message{}).Where("id = ? AND state = ?", row.ID, models.MessageSending).Updates(upd)
	if res.Error != nil {
		return InboxReplyResult{}, fmt.Errorf("record outcome of reply %s: %w", row.Key, res.Error)
	}
	state := upd["state"].(models.MessageState)
	metrics.MessageSent(string(policy.ChannelEmail), string(state))
	result := InboxReplyResult{State: string(state), Reason: upd["reason"].(string)}
	if state == models.MessageQueued {
		return result, sendErr // retryable: Temporal tries again
	}
	a.log().Info("inbox reply email", "key", row.Key, "state", state, "reason", result.Reason)
	return result, nil
}

// replyHeaders threads a reply under the customer's last email in its
// conversation: In-Reply-To and References name that email's Message-ID
// (kept as the inbox message's external ID "email:<id>").
func (a *Activities) replyHeaders(ctx context.Context, key string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(key, domain.ReplyKeyPrefix)
	if !ok {
		return nil, nil
	}
	idText, _, _ := strings.Cut(rest, "/")
	var reply models.InboxMessage
	err := a.DB.WithContext(ctx).Where("id = ?", idText).Take(&reply).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load inbox reply of %s: %w", key, err)
	}
	var last models.InboxMessage
	err = a.DB.WithContext(ctx).Where("conversation_id = ? AND id < ? AND direction = ? AND external_id LIKE ?",
		reply.ConversationID, reply.ID, models.Inbound, "email:%").Order("id DESC").Take(&last).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find the email %s answers: %w", key, err)
	}
	id := "<" + strings.TrimPrefix(last.ExternalID, "email:") + ">"
	return map[string]string{"In-Reply-To": id, "References": id}, nil
}
