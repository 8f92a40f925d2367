package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/relance/relance/auth"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// ErrRefused is returned (wrapping ErrConflict) when the journey refused a
// pause, resume or dispute (its Update's validator): the change would be
// ignored, e.g. a pause until a past date or a resume of a journey that is
// not paused. Nothing was written anywhere.
var ErrRefused = fmt.Errorf("refused by the journey: %w", domain.ErrConflict)

// steerTimeout bounds a steering Update: the journey answers once it has
// written the change on the invoice.
const steerTimeout = 30 * time.Second

// PauseInvoice pauses an open invoice's journey until a date (nil: until
// resumed). The journey's pause-journey Update refuses what it would ignore
// before anything is written; once accepted, the journey records the pause
// on the invoice row itself and only then answers, so the row and the
// workflow never disagree (a failed write is retried by the journey, not
// lost). inv is read back. A date that is not in the future breaks a rule.
func (s *Service) PauseInvoice(ctx context.Context, inv *models.Invoice, until *time.Time, reason string) error {
	if until != nil && !until.After(s.Now()) {
		return domain.RuleBroken("until", "%s is in the past", until.UTC().Format(time.RFC3339))
	}
	if inv.Status != models.InvoiceOpen {
		return conflict("invoice %s is %s: its journey has ended", inv.Number, inv.Status)
	}
	return s.steer(ctx, inv, workflows.UpdatePause, workflows.PauseRequest{Until: until, Reason: reason})
}

// ResumeInvoice ends the pause of an open invoice's journey (resume-journey
// Update: the journey, not the row, decides whether it is paused).
func (s *Service) ResumeInvoice(ctx context.Context, inv *models.Invoice, reason string) error {
	if inv.Status != models.InvoiceOpen {
		return conflict("invoice %s is %s: its journey has ended", inv.Number, inv.Status)
	}
	return s.steer(ctx, inv, workflows.UpdateResume, workflows.ResumeRequest{Reason: reason})
}

// steer runs a steering Update to completion and reads inv back, as the
// journey wrote it. A refusal wraps ErrRefused (a conflict), a journey that
// is not running ErrJourneyEnded (a conflict too), Temporal down
// ErrUnavailable (the journey may still apply and record the change: the
// call may be repeated).
func (s *Service) steer(ctx context.Context, inv *models.Invoice, update string, arg any) error {
	if inv.WorkflowID == "" {
		return fmt.Errorf("invoice %s has no journey: %w: %w", inv.Number, domain.ErrConflict, domain.ErrJourneyEnded)
	}
	if s.temporal == nil {
		return fmt.Errorf("%s of invoice %s: %w: no Temporal client", update, inv.Number, domain.ErrUnavailable)
	}
	uctx, cancel := context.WithTimeout(ctx, steerTimeout)
	defer cancel()
	h, err := s.temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: inv.WorkflowID, UpdateName: update, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.SteeringResult
	if err == nil {
		err = h.Get(uctx, &res)
	}
	switch {
	case err == nil:
		metrics.JourneySignaled(update, metrics.SignalOK)
	case workflows.IsRefused(err):
		metrics.JourneySignaled(update, metrics.SignalRefused)
		return fmt.Errorf("%s of invoice %s: %w: %w", update, inv.Number, ErrRefused, err)
	case journeyEnded(err):
		metrics.JourneySignaled(update, metrics.SignalNotRunning)
		return fmt.Errorf("%s of invoice %s: the journey has ended: %w: %w", update, inv.Number, domain.ErrConflict, domain.ErrJourneyEnded)
	default:
		metrics.JourneySignaled(update, metrics.SignalError)
		return fmt.Errorf("%s of invoice %s: %w: %w", update, inv.Number, domain.ErrUnavailable, err)
	}
	s.log.Info("journey steered", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "update", update,
		"paused", res.Paused, "disputed", res.Disputed)
	var fresh models.Invoice
	if err := s.db.WithContext(ctx).First(&fresh, inv.ID).Error; err != nil {
		return storeErr(err, "read invoice %s back", inv.Number)
	}
	*inv = fresh
	return nil
}

// InvoiceJourney is the journey of an invoice as it is now (docs/domain.md §1.7):
// the workflow's state (its state query), with, for every planned step, the
// channels policy.Decide picks from the settings as they are now. The
// workflow cannot add them, as its query handler reads no database, and the
// sending activity decides again at send time.
func (s *Service) InvoiceJourney(ctx context.Context, inv *models.Invoice) (domain.Journey, error) {
	if s.temporal == nil {
		return domain.Journey{}, fmt.Errorf("journey of invoice %d: %w: no Temporal client", inv.ID, domain.ErrUnavailable)
	}
	st, err := s.JourneyState(ctx, inv.WorkflowID)
	if err != nil {
		return domain.Journey{}, err
	}
	db := s.db.WithContext(ctx)
	var adm models.Administration
	if err := db.First(&adm, "id = ?", inv.AdministrationID).Error; err != nil {
		return domain.Journey{}, storeErr(err, "load administration %d", inv.AdministrationID)
	}
	var cust models.Customer
	if err := db.First(&cust, "id = ? AND administration_id = ?", inv.CustomerID, inv.AdministrationID).Error; err != nil {
		return domain.Journey{}, storeErr(err, "load customer %d", inv.CustomerID)
	}
	gap := journeys.DefaultMinGapDays
	if st.JourneyID != 0 {
		if err := db.Model(&models.Journey{}).Where("id = ?", st.JourneyID).Select("min_gap_days").Scan(&gap).Error; err != nil {
			return domain.Journey{}, storeErr(err, "load journey %d", st.JourneyID)
		}
	}
	j := journeyOf(st, gap)
	contacts, err := s.policyContacts(ctx, cust.ID)
	if err != nil {
		return domain.Journey{}, err
	}
	admSettings, custSettings := adm.ChannelSettings(), cust.ChannelSettings(contacts...)
	for i := range j.Steps {
		if step := &j.Steps[i]; step.Status == string(workflows.StepPlanned) {
			step.Choice = domain.ChoiceOf(policy.Decide(step.Kind, admSettings, custSettings))
		}
	}
	if err := bundleWorkflows(db, inv, j.Steps); err != nil {
		return domain.Journey{}, err
	}
	return j, nil
}

// journeyOf reads the workflow's state as the read model: each step once,
// Next pointing into the steps.
func journeyOf(st workflows.JourneyState, minGapDays int) domain.Journey {
	j := domain.Journey{
		Stage: st.Stage, Status: st.Status, OpenMinor: st.OpenMinor, Currency: st.Currency,
		JourneyID: st.JourneyID, JourneyName: st.JourneyName, MinGapDays: minGapDays, LastSentAt: st.LastSentAt,
		Paused: st.Paused, PausedUntil: st.PausedUntil, PauseReason: st.PauseReason,
		Disputed: st.Disputed, DisputeReason: st.DisputeReason,
		PromisedUntil: st.PromisedUntil, BrokenPromiseAt: st.BrokenPromiseAt,
		ProvidedEmail: st.ProvidedEmail, EmailSubmittedAt: st.EmailSubmittedAt, SentCount: st.SentCount,
		Steps: make([]domain.JourneyStep, len(st.Steps)),
	}
	for i, s := range st.Steps {
		j.Steps[i] = domain.JourneyStep{
			Position: s.Position, AtIssue: s.OffsetDays == journeys.OffsetAtIssue, OffsetDays: s.OffsetDays,
			Kind: s.Kind, Template: s.Template, At: s.At, Status: string(s.Status), Reason: s.Reason,
			Channels: s.Channels, HandledAt: s.HandledAt,
		}
		if st.Next != nil && s.Position == st.Next.Position {
			// The next step's date includes the minimum gap after the last message.
			j.Steps[i].At = st.Next.At
			j.Next = &j.Steps[i]
		}
	}
	return j
}

// Authenticate returns whom an API key speaks for (its organization, and
// whether it may write), and records its use at most once a minute.
func (s *Service) Authenticate(ctx context.Context, key string) (domain.Caller, error) {
	k, err := auth.Lookup(ctx, s.db, key)
	if errors.Is(err, auth.ErrInvalidKey) {
		return domain.Caller{}, fmt.Errorf("authenticate: %w: %w", domain.ErrInvalidKey, err)
	}
	if err != nil {
		return domain.Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	auth.Touch(ctx, s.db, k, s.Now())
	return domain.Caller{OrganizationID: k.OrganizationID, ReadOnly: k.ReadOnly}, nil
}

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
