package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// SendStep sends one step: it re-reads the settings as they are now, decides
// the channels, renders, records each message in the outbox under a unique
// key, and hands it to the provider. The outbox makes a retry safe: a row
// already sent is never sent again, and a row found half-sent (the worker
// died between marking it sending, right before the request, and recording
// the answer) is marked uncertain instead of being sent a second time. A
// row still queued (the attempt died before its request, e.g. while it
// waited for the SMS rate) is sent by the retry.
//
// A journey that takes bundle answers (in.Bundle) of an administration
// that bundles has its reminders queued for the customer's bundle instead
// (queueForBundle): the result then says Bundled, and the bundle's
// SendBundle answers the journey by signal.
func (a *Activities) SendStep(ctx context.Context, in SendInput) (SendResult, error) {
	logger := a.log().With("workflow_id", in.WorkflowID, "key", in.Key, "kind", in.Step.Kind)
	d, err := a.loadSendData(ctx, in.AdministrationID, in.InvoiceID)
	if err != nil {
		return SendResult{}, err
	}
	res := SendResult{InvoiceStatus: string(d.inv.Status), OpenMinor: d.inv.OpenMinor}
	if d.inv.Status != models.InvoiceOpen || d.inv.OpenMinor <= 0 {
		res.Skipped, res.Reason = true, ReasonInvoiceClosed
		metrics.StepSkipped(res.Reason)
		return res, nil
	}
	if wantsBundle(in, d) {
		// The customer's bundle sends it, with the customer's other steps
		// of the moment, and answers the journey (SendBundle).
		return a.queueForBundle(ctx, in, d, res)
	}
	if in.Step.Kind == policy.StepCollection {
		// A notice sent by the journey itself (journeys from before
		// collection cases): its costs and interest are this invoice's.
		now := a.journeyNow(in.Anchor)
		cl, err := a.computeClaim(ctx, &d.adm, &d.cust, []models.Invoice{d.inv}, nil, now, 0, false)
		if err != nil {
			return SendResult{}, err
		}
		d.claim = &cl
	}
	dec := policy.Only(policy.Decide(in.Step.Kind, d.admSettings(), d.custSettings()), in.Channels)
	for _, r := range dec.Refusals {
		row, err := a.recordSkip(ctx, in, d, r.Channel, string(r.Reason))
		if err != nil {
			return SendResult{}, err
		}
		res.Outcomes = append(res.Outcomes, ChannelOutcome{Channel: r.Channel, State: string(row.State), Reason: row.Reason, MessageID: row.ID})
		metrics.StepSkipped(string(r.Reason))
	}
	if dec.Skipped {
		res.Skipped, res.Reason = true, string(dec.Reason)
		metrics.StepSkipped(res.Reason)
		if err := a.DB.WithContext(ctx).Model(&models.Invoice{}).Where("id = ?", d.inv.ID).
			Update("attention_reason", res.Reason).Error; err != nil {
			return SendResult{}, fmt.Errorf("flag invoice %d for attention: %w", d.inv.ID, err)
		}
		logger.Info("step skipped", "reason", res.Reason)
		return res, nil
	}
	if held, err := a.holdForMissingDetails(ctx, in, d, dec, &res); held || err != nil {
		return res, err
	}

	var retry error
	for _, ch := range dec.Channels {
		activity.RecordHeartbeat(ctx, string(ch))
		out, err := a.sendOn(ctx, in, d, dec, ch)
		if err != nil {
			// A retryable failure on one channel does not undo the others:
			// their rows say sent, so the retry sends only what is missing.
			logger.Warn("send failed, will retry", "channel", ch, "error", err)
			retry = errors.Join(retry, fmt.Errorf("%s: %w", ch, err))
		}
		res.Outcomes = append(res.Outcomes, out)
		if out.State == string(models.MessageSent) || out.State == string(models.MessageUncertain) {
			res.Sent = true
		}
	}
	if retry != nil {
		return SendResult{}, retry
	}
	if !res.Sent {
		res.Reason = "all_channels_failed"
	}
	upd := map[string]any{"attention_reason": ""}
	if res.Sent && in.Stage != "" {
		upd["stage"] = in.Stage
	}
	if !res.Sent {
		upd["attention_reason"] = res.Reason
	}
	// Only an invoice still open takes the journey's stage: a payment
	// recorded during the send already set paid (or credited) for good.
	if err := a.DB.WithContext(ctx).Model(&models.Invoice{}).Where("id = ? AND status = ?", d.inv.ID, models.InvoiceOpen).
		Updates(upd).Error; err != nil {
		return SendResult{}, fmt.Errorf("record stage of invoice %d: %w", d.inv.ID, err)
	}
	logger.Info("step sent", "outcomes", res.Outcomes)
	return res, nil
}

// sendOn sends the step on one channel through the outbox. It returns an
// error only for failures worth retrying.
func (a *Activities) sendOn(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, ch policy.Channel) (ChannelOutcome, error) {
	msg, err := a.render(ctx, in, d, dec, ch)
	return a.sendRendered(ctx, in, d, dec, ch, msg, err)
}

// sendRendered sends msg, rendered for channel ch (renderErr: it could not
// be), through the outbox under the key in.Key/ch: claim the row, mark it
// sending right before the request (begin), record the provider's answer.
// A step (sendOn) and a customer's bundle (SendBundle) share it.
func (a *Activities) sendRendered(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, ch policy.Channel, msg rendered, renderErr error) (ChannelOutcome, error) {
	key := in.Key + "/" + string(ch)
	out := ChannelOutcome{Channel: ch}
	if se := (storeError{}); errors.As(renderErr, &se) {
		// The database did not answer: the retry renders again.
		return out, renderErr
	}
	if err := renderErr; err != nil {
		// A template that cannot render will not render on a retry: the
		// message fails with the reason, the other channels go on.
		row, rerr := a.recordFinal(ctx, in, d, ch, models.MessageFailed, truncate(fmt.Sprintf("render %s %s: %v", in.Step.Kind, ch, err), 255))
		if rerr != nil {
			return out, rerr
		}
		metrics.MessageSent(string(ch), string(models.MessageFailed))
		out.MessageID, out.State, out.Reason = row.ID, string(row.State), row.Reason
		return out, nil
	}
	row, proceed, err := a.claim(ctx, in, d, ch, key, msg)
	if err != nil {
		return out, err
	}
	out.MessageID, out.State, out.Reason = row.ID, string(row.State), row.Reason
	if !proceed {
		return out, nil
	}

	// The row stays queued until the sender is about to make the request
	// that may reach the provider (for SMS: after the rate limiter's wait),
	// and becomes sending only then: an attempt that dies while waiting
	// leaves a row the retry sends, not an uncertain one.
	begun := false
	begin := func(ctx context.Context) error {
		if err := a.begin(ctx, row.ID, key); err != nil {
			return err
		}
		begun = true
		return nil
	}
	stop := keepAlive(ctx)
	providerID, sendErr := a.deliver(ctx, in.Step.Kind, ch, key, d, dec, msg, begin)
	stop()
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !begun {
		return a.notBegun(rec, out, row.ID, key, sendErr)
	}
	now := a.now()
	upd := map[string]any{}
	switch {
	case sendErr == nil:
		upd["state"], upd["provider_id"], upd["sent_at"], upd["reason"] = models.MessageSent, providerID, now, ""
	case channels.IsPermanent(sendErr):
		upd["state"], upd["reason"] = models.MessageFailed, truncate(sendErr.Error(), 255)
	case channels.IsMaybeDelivered(sendErr):
		// The provider had the whole message and its answer was lost:
		// sending again could deliver it twice (docs/reliability.md).
		upd["state"], upd["reason"] = models.MessageUncertain, truncate("provider may have it, not sent again: "+sendErr.Error(), 255)
	default:
		upd["state"], upd["reason"] = models.MessageQueued, truncate(sendErr.Error(), 255)
	}
	// The provider has the message: record that even if the activity's
	// context is gone, or the retry would find the row half-sent. Only a
	// row still sending is ours to record: if this attempt was so slow that
	// a retry already marked it uncertain, or a delivery receipt already
	// proved it sent, that verdict stands.
	res := a.DB.WithContext(rec).Model(&models.Message{}).Where("id = ? AND state = ?", row.ID, models.MessageSending).Updates(upd)
	if res.Error != nil {
		return out, fmt.Errorf("record outcome of message %s: %w", key, res.Error)
	}
	if res.RowsAffected == 0 {
		var cur models.Message
		if err := a.DB.WithContext(rec).First(&cur, row.ID).Error; err != nil {
			return out, fmt.Errorf("reload message %s: %w", key, err)
		}
		out.State, out.Reason = string(cur.State), cur.Reason
		a.log().Warn("outcome of a superseded send attempt not recorded", "key", key, "state", cur.State, "error", sendErr)
		return out, nil
	}
	out.State = string(upd["state"].(models.MessageState))
	metrics.MessageSent(string(ch), out.State)
	if r, ok := upd["reason"].(string); ok {
		out.Reason = r
	}
	if sendErr != nil && !channels.IsPermanent(sendErr) && !channels.IsMaybeDelivered(sendErr) {
		return out, sendErr
	}
	return out, nil
}

// errNotOurs is begin's answer when the row is no longer queued: another
// attempt took it (or settled it) while this one waited.
var errNotOurs = errors.New("the outbox row is no longer queued: another attempt has it")

// begin moves a queued row to sending, right before the request that may
// reach the provider. Only one attempt can: the move is conditional.
func (a *Activities) begin(ctx context.Context, id int64, key string) error {
	res := a.DB.WithContext(ctx).Model(&models.Message{}).Where("id = ? AND state = ?", id, models.MessageQueued).
		Updates(map[string]any{"state": models.MessageSending, "attempts": gorm.Expr("attempts + 1")})
	if res.Error != nil {
		return fmt.Errorf("mark message %s sending: %w", key, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("message %s: %w", key, errNotOurs)
	}
	return nil
}

// notBegun records the outcome of a send that never reached the point of
// a request (the row is still queued, unless another attempt took it): a
// permanent failure fails it, anything else leaves it queued for the retry.
func (a *Activities) notBegun(ctx context.Context, out ChannelOutcome, id int64, key string, sendErr error) (ChannelOutcome, error) {
	if sendErr == nil {
		// A sender that did not call begin: a programming error, and the
		// message may be out. Say so rather than send it again.
		sendErr = channels.MaybeDelivered(errors.New("the sender returned without marking the message sending"))
	}
	upd := map[string]any{"reason": truncate(sendErr.Error(), 255)}
	switch {
	case errors.Is(sendErr, errNotOurs):
		upd = nil
	case channels.IsPermanent(sendErr):
		upd["state"] = models.MessageFailed
	case channels.IsMaybeDelivered(sendErr):
		upd["state"] = models.MessageUncertain
	}
	if upd != nil {
		if err := a.DB.WithContext(ctx).Model(&models.Message{}).Where("id = ? AND state = ?", id, models.MessageQueued).Updates(upd).Error; err != nil {
			return out, fmt.Errorf("record outcome of message %s: %w", key, err)
		}
	}
	var cur models.Message
	if err := a.DB.WithContext(ctx).First(&cur, id).Error; err != nil {
		return out, fmt.Errorf("reload message %s: %w", key, err)
	}
	out.State, out.Reason = string(cur.State), cur.Reason
	switch cur.State {
	case models.MessageQueued:
		return out, sendErr // retryable: nothing was requested
	case models.MessageSending:
		// Another attempt is sending it (this one was superseded): the
		// workflow only hears of the newest attempt, which marks it.
		return out, fmt.Errorf("message %s: %w", key, errNotOurs)
	}
	return out, nil
}

// keepAlive heartbeats while a message is delivered, so that a slow but
// live provider (a long SMTP reply, a wait for the SMS rate) is not taken
// for a dead worker and cut off by the heartbeat timeout. The senders' own
// timeouts bound a delivery that hangs. The returned stop ends it.
func keepAlive(ctx context.Context) (stop func()) {
	every := 5 * time.Second
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		every = max(hb/3, 100*time.Millisecond)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, "delivering")
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// claim finds or creates the outbox row. proceed is true when the row is
// queued (nothing sent yet: the caller sends it, see begin); false when it
// is already final (sent, failed, skipped, uncertain) or was left sending
// by a dead attempt, which makes it uncertain: that attempt may have handed
// it over.
func (a *Activities) claim(ctx context.Context, in SendInput, d *sendData, ch policy.Channel, key string, msg rendered) (models.Message, bool, error) {
	var row models.Message
	proceed := false
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fresh := models.Message{
			Key: key, AdministrationID: d.adm.ID, CustomerID: d.cust.ID, InvoiceID: invoiceRef(d), CaseID: caseRef(in),
			WorkflowID: in.WorkflowID, Step: in.Step.Position, Kind: string(in.Step.Kind), Channel: string(ch),
			State: models.MessageQueued, Manual: in.Manual, Recipient: msg.recipient, Subject: msg.subject,
			To: msg.to, Cc: msg.cc, Bcc: msg.bcc,
			BodyHTML: msg.html, BodyText: msg.text, Segments: msg.segments,
			TemplateID: msg.tpl.StoredID(), TemplateVersion: msg.tpl.Version,
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoNothing: true}).Create(&fresh).Error; err != nil {
			return fmt.Errorf("create outbox row %s: %w", key, err)
		}
		if err := tx.Clauses(lockForUpdate(tx)...).First(&row, "key = ?", key).Error; err != nil {
			return fmt.Errorf("load outbox row %s: %w", key, err)
		}
		switch row.State {
		case models.MessageQueued:
			proceed = true
		case models.MessageSending:
			row.State, row.Reason = models.MessageUncertain, "interrupted while sending: the provider may have it; not sent again"
			if err := tx.Model(&row).Updates(map[string]any{"state": row.State, "reason": row.Reason}).Error; err != nil {
				return err
			}
			metrics.MessageSent(string(ch), string(models.MessageUncertain))
			return nil
		}
		return nil
	})
	return row, proceed, err
}

// lockForUpdate locks the row on PostgreSQL; SQLite serialises writers anyway.
func lockForUpdate(tx *gorm.DB) []clause.Expression {
	if tx.Dialector.Name() == "postgres" {
		return []clause.Expression{clause.Locking{Strength: "UPDATE"}}
	}
	return nil
}

// recordSkip writes a skipped row for a channel the settings refused.
func (a *Activities) recordSkip(ctx context.Context, in SendInput, d *sendData, ch policy.Channel, reason string) (models.Message, error) {
	return a.recordFinal(ctx, in, d, ch, models.MessageSkipped, reason)
}

// recordFinal writes a row that is final from the start (skipped, or failed
// before anything was handed over); an existing row is left as it is.
func (a *Activities) recordFinal(ctx context.Context, in SendInput, d *sendData, ch policy.Channel, state models.MessageState, reason string) (models.Message, error) {
	key := in.Key + "/" + string(ch)
	row := models.Message{
		Key: key, AdministrationID: d.adm.ID, CustomerID: d.cust.ID, InvoiceID: invoiceRef(d), CaseID: caseRef(in),
		WorkflowID: in.WorkflowID, Step: in.Step.Position, Kind: string(in.Step.Kind), Channel: string(ch),
		State: state, Reason: reason, Manual: in.Manual,
	}
	db := a.DB.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoNothing: true}).Create(&row).Error; err != nil {
		return row, fmt.Errorf("record %s %s: %w", state, key, err)
	}
	if err := db.First(&row, "key = ?", key).Error; err != nil {
		return row, fmt.Errorf("load %s %s: %w", state, key, err)
	}
	return row, nil
}

// RecordSkipped writes the timeline rows of steps the journey will not send.
func (a *Activities) RecordSkipped(ctx context.Context, in RecordSkippedInput) (RecordSkippedResult, error) {
	var res RecordSkippedResult
	for i, s := range in.Steps {
		row := models.Message{
			Key: in.Keys[i] + "/none", AdministrationID: in.AdministrationID, CustomerID: in.CustomerID,
			InvoiceID: &in.InvoiceID, WorkflowID: in.WorkflowID, Step: s.Position, Kind: string(s.Kind),
			Channel: "none", State: models.MessageSkipped, Reason: in.Reason,
		}
		tx := a.DB.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoNothing: true}).Create(&row)
		if tx.Error != nil {
			return res, fmt.Errorf("record skipped step %s: %w", in.Keys[i], tx.Error)
		}
		res.Recorded += int(tx.RowsAffected)
		for range tx.RowsAffected {
			metrics.StepSkipped(in.Reason)
		}
	}
	return res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// invoiceRef is the message's invoice: none for a case's stage.
func invoiceRef(d *sendData) *int64 {
	if d.inv.ID == 0 {
		return nil
	}
	id := d.inv.ID
	return &id
}

// caseRef is the message's collection case, if any.
func caseRef(in SendInput) *int64 {
	if in.CaseID == 0 {
		return nil
	}
	id := in.CaseID
	return &id
}
