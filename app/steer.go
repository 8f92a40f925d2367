package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/relance/relance/auth"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// PauseInvoice pauses an open invoice's journey until a date (nil: until
// resumed): the journey is told first, then the row keeps the pause for
// lists and filters. A date that is not in the future breaks a rule.
func (s *Service) PauseInvoice(ctx context.Context, inv *models.Invoice, until *time.Time, reason string) error {
	now := s.Now()
	if until != nil && !until.After(now) {
		return RuleBroken("until", "%s is in the past", until.UTC().Format(time.RFC3339))
	}
	if inv.Status != models.InvoiceOpen {
		return conflict("invoice %s is %s: its journey has ended", inv.Number, inv.Status)
	}
	if err := s.steer(ctx, inv, workflows.SignalPause, workflows.PauseSignal{Until: until, Reason: reason}); err != nil {
		return err
	}
	return s.saveInvoice(ctx, inv, map[string]any{"paused_at": now, "paused_until": until, "pause_reason": reason})
}

// ResumeInvoice ends the pause of an open invoice's journey.
func (s *Service) ResumeInvoice(ctx context.Context, inv *models.Invoice, reason string) error {
	if inv.Status != models.InvoiceOpen {
		return conflict("invoice %s is %s: its journey has ended", inv.Number, inv.Status)
	}
	if inv.PausedAt == nil || (inv.PausedUntil != nil && !inv.PausedUntil.After(s.Now())) {
		return conflict("invoice %s is not paused", inv.Number)
	}
	if err := s.steer(ctx, inv, workflows.SignalResume, workflows.ResumeSignal{Reason: reason}); err != nil {
		return err
	}
	return s.saveInvoice(ctx, inv, map[string]any{"paused_at": nil, "paused_until": nil, "pause_reason": ""})
}

// steer tells an invoice's journey; an ended journey is a conflict.
func (s *Service) steer(ctx context.Context, inv *models.Invoice, name string, payload any) error {
	err := s.Signal(ctx, inv.WorkflowID, name, payload)
	if errors.Is(err, ErrJourneyEnded) {
		return conflict("the journey of invoice %s has ended", inv.Number)
	}
	return err
}

// saveInvoice writes the columns upd of inv and reads the row back, so that
// the caller answers what is stored.
func (s *Service) saveInvoice(ctx context.Context, inv *models.Invoice, upd map[string]any) error {
	if err := s.db.WithContext(ctx).Model(&models.Invoice{}).Where("id = ?", inv.ID).Updates(upd).Error; err != nil {
		return storeErr(err, "update invoice %d", inv.ID)
	}
	return storeErr(s.db.WithContext(ctx).First(inv, inv.ID).Error, "read invoice %d back", inv.ID)
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
	admSettings, custSettings := adm.ChannelSettings(), cust.ChannelSettings()
	for i := range j.Steps {
		if step := &j.Steps[i]; step.Status == string(workflows.StepPlanned) {
			step.Choice = domain.ChoiceOf(policy.Decide(step.Kind, admSettings, custSettings))
		}
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

// Authenticate returns the organization of an API key, and records its use.
func (s *Service) Authenticate(ctx context.Context, key string) (int64, error) {
	k, err := auth.Lookup(ctx, s.db, key)
	if errors.Is(err, auth.ErrInvalidKey) {
		return 0, fmt.Errorf("authenticate: %w: %w", domain.ErrInvalidKey, err)
	}
	if err != nil {
		return 0, fmt.Errorf("authenticate: %w", err)
	}
	auth.Touch(ctx, s.db, k, s.Now())
	return k.OrganizationID, nil
}

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
