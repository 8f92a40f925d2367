package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
)

// AttentionPlanFailed is the attention reason of an invoice whose journey
// cannot be planned: the workflow keeps retrying, an admin should look.
const AttentionPlanFailed = "plan_failed"

// AttentionReplanFailed is the attention reason of an invoice whose journey
// could not apply a changed journey definition: it goes on with its current
// plan and keeps retrying.
const AttentionReplanFailed = "replan_failed"

// FlagInvoiceInput raises (Reason set) or clears (Reason empty) a journey's
// problem on its invoice: the attention reason lists it for an admin.
type FlagInvoiceInput struct {
	WorkflowID       string `json:"workflow_id"`
	AdministrationID int64  `json:"administration_id"`
	InvoiceID        int64  `json:"invoice_id"`
	// Reason is the attention reason to set; empty clears Clears.
	Reason string `json:"reason,omitempty"`
	// Clears is the reason an empty Reason clears (another reason, set
	// since by a send, stays).
	Clears string `json:"clears,omitempty"`
	// Error is the failure, for the log.
	Error string `json:"error,omitempty"`
	// Failures counts the consecutive failures so far.
	Failures int `json:"failures,omitempty"`
}

// FlagInvoiceResult says whether the row changed.
type FlagInvoiceResult struct {
	Changed bool `json:"changed"`
}

// FlagInvoice records a journey's problem on its invoice (attention_reason)
// and logs it at error level, so a journey that keeps failing to plan is
// seen by ops (log, metric) and by admins (the attention list).
func (a *Activities) FlagInvoice(ctx context.Context, in FlagInvoiceInput) (FlagInvoiceResult, error) {
	db := a.DB.WithContext(ctx).Model(&models.Invoice{}).Where("id = ? AND administration_id = ?", in.InvoiceID, in.AdministrationID)
	if in.Reason != "" {
		a.log().Error("journey problem flagged on the invoice", "workflow_id", in.WorkflowID, "invoice_id", in.InvoiceID,
			"reason", in.Reason, "failures", in.Failures, "error", in.Error)
		metrics.JourneyFlagged(in.Reason)
		db = db.Update("attention_reason", truncate(in.Reason, 255))
	} else {
		a.log().Info("journey problem cleared", "workflow_id", in.WorkflowID, "invoice_id", in.InvoiceID, "cleared", in.Clears)
		db = db.Where("attention_reason = ?", in.Clears).Update("attention_reason", "")
	}
	if db.Error != nil {
		return FlagInvoiceResult{}, fmt.Errorf("flag invoice %d: %w", in.InvoiceID, db.Error)
	}
	return FlagInvoiceResult{Changed: db.RowsAffected > 0}, nil
}

// RecordSteeringInput is a journey's pause and dispute as the workflow has
// them now; the invoice row is made to say the same.
type RecordSteeringInput struct {
	WorkflowID       string     `json:"workflow_id"`
	AdministrationID int64      `json:"administration_id"`
	InvoiceID        int64      `json:"invoice_id"`
	Paused           bool       `json:"paused"`
	PausedAt         *time.Time `json:"paused_at,omitempty"`
	PausedUntil      *time.Time `json:"paused_until,omitempty"`
	PauseReason      string     `json:"pause_reason,omitempty"`
	Disputed         bool       `json:"disputed"`
	// PromisedUntil is the customer's promise to pay while its pause lasts;
	// BrokenPromiseAt when a promise passed unpaid (kept once set).
	PromisedUntil   *time.Time `json:"promised_until,omitempty"`
	BrokenPromiseAt *time.Time `json:"broken_promise_at,omitempty"`
	// DisputeReason is the open dispute's reason, for the timeline.
	DisputeReason string `json:"dispute_reason,omitempty"`
}

// RecordSteeringResult says whether the row changed.
type RecordSteeringResult struct {
	Changed bool `json:"changed"`
}

// RecordSteering writes the journey's pause and dispute on its invoice: the
// workflow is the truth (a pause may come from the API as an Update, or from
// the Temporal UI or CLI as a signal), the row serves lists and filters.
func (a *Activities) RecordSteering(ctx context.Context, in RecordSteeringInput) (RecordSteeringResult, error) {
	upd := map[string]any{"paused_at": nil, "paused_until": nil, "pause_reason": "", "disputed": in.Disputed, "promised_until": nil}
	if in.Paused {
		upd["paused_at"], upd["paused_until"], upd["pause_reason"] = utc(in.PausedAt), utc(in.PausedUntil), truncate(in.PauseReason, 255)
		upd["promised_until"] = utc(in.PromisedUntil)
	}
	if in.BrokenPromiseAt != nil {
		upd["broken_promise_at"] = utc(in.BrokenPromiseAt)
	}
	var changed bool
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var old models.Invoice
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("id = ? AND administration_id = ? AND workflow_id = ?", in.InvoiceID, in.AdministrationID, in.WorkflowID).
			First(&old).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil // the row went (or belongs to another journey): nothing to record
		}
		if err != nil {
			return err
		}
		res := tx.Model(&models.Invoice{}).Where("id = ?", old.ID).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		changed = res.RowsAffected > 0
		// The timeline's events are the transitions, found against the row
		// as it was: a retry of this activity finds none left to write.
		events := steeringEvents(old, in, a.now())
		if len(events) == 0 {
			return nil
		}
		return tx.Create(&events).Error
	})
	if err != nil {
		return RecordSteeringResult{}, fmt.Errorf("record pause and dispute of invoice %d: %w", in.InvoiceID, err)
	}
	a.log().Info("journey steering recorded", "workflow_id", in.WorkflowID, "invoice_id", in.InvoiceID,
		"paused", in.Paused, "until", in.PausedUntil, "disputed", in.Disputed)
	return RecordSteeringResult{Changed: changed}, nil
}

// steeringEvents are the timeline events of the change from the row old to
// the journey's state in: a pause (or a new pause), its end, a dispute
// opened or resolved.
func steeringEvents(old models.Invoice, in RecordSteeringInput, now time.Time) []models.InvoiceEvent {
	ev := func(kind models.InvoiceEventKind, detail string, at time.Time) models.InvoiceEvent {
		return models.InvoiceEvent{AdministrationID: in.AdministrationID, InvoiceID: in.InvoiceID, Kind: kind,
			Detail: truncate(detail, 512), At: at.UTC()}
	}
	var out []models.InvoiceEvent
	switch {
	case in.Paused && (old.PausedAt == nil || in.PausedAt == nil || !old.PausedAt.Equal(*in.PausedAt)):
		at := now
		if in.PausedAt != nil {
			at = *in.PausedAt
		}
		detail := in.PauseReason
		if in.PausedUntil != nil {
			detail += " (until " + in.PausedUntil.UTC().Format(time.RFC3339) + ")"
		}
		out = append(out, ev(models.EventPaused, detail, at))
	case !in.Paused && old.PausedAt != nil:
		out = append(out, ev(models.EventResumed, "", now))
	}
	switch {
	case in.Disputed && !old.Disputed:
		out = append(out, ev(models.EventDisputed, in.DisputeReason, now))
	case !in.Disputed && old.Disputed:
		out = append(out, ev(models.EventDisputeResolved, "", now))
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
