package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// signalCase tells the collection case of an invoice whose journey has
// handed it over about a payment or credit: paid, the invoice leaves the
// case, and a case with nothing left closes. An invoice in no case, or a
// case whose workflow has ended, is fine (nothing to steer).
func (s *Service) signalCase(ctx context.Context, inv *models.Invoice) (bool, error) {
	if inv.CaseID == nil {
		return false, nil
	}
	id := workflows.CaseWorkflowID(inv.AdministrationID, *inv.CaseID)
	err := s.Signal(ctx, id, workflows.SignalCaseInvoiceUpdated, workflows.CaseInvoiceUpdatedSignal{
		InvoiceID: inv.ID, OpenMinor: inv.OpenMinor, Status: string(inv.Status), Revision: inv.Revision,
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, domain.ErrJourneyEnded):
		return false, nil
	}
	return false, fmt.Errorf("signal case of invoice %s: %w", inv.Number, err)
}

// Case loads collection case id of organization org; another
// organization's is ErrNotFound.
func (s *Service) Case(ctx context.Context, org, id int64) (*models.CollectionCase, error) {
	var cs models.CollectionCase
	err := s.ofOrganization(ctx, org).Where("id = ?", id).First(&cs).Error
	return &cs, storeErr(err, "case %d", id)
}

// Cases lists an administration's collection cases matching f.
func (s *Service) Cases(ctx context.Context, adm int64, f domain.CaseFilter, p domain.PageRequest) (domain.Page[models.CollectionCase], error) {
	q := s.db.WithContext(ctx).Model(&models.CollectionCase{}).Where("administration_id = ?", adm)
	if f.Stage != "" {
		q = q.Where("stage = ?", f.Stage)
	}
	if f.Paused != nil {
		q = q.Where("paused = ?", *f.Paused)
	}
	if f.CustomerID > 0 {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	out, err := page(q, p, func(c models.CollectionCase) int64 { return c.ID })
	return out, storeErr(err, "list cases of administration %d", adm)
}

// CaseDetail is the case with its invoices and its workflow's stages.
func (s *Service) CaseDetail(ctx context.Context, cs *models.CollectionCase) (domain.CaseDetail, error) {
	d := domain.CaseDetail{Case: *cs, Invoices: []domain.CaseInvoice{}, Stages: []domain.CaseStage{}}
	var rows []struct {
		models.CaseInvoice
		Number    string
		DueDate   time.Time
		Currency  string
		OpenMinor int64
		Status    models.InvoiceStatus
	}
	err := s.db.WithContext(ctx).Table("case_invoices").
		Select("case_invoices.*, invoices.number, invoices.due_date, invoices.currency, invoices.open_minor, invoices.status").
		Joins("JOIN invoices ON invoices.id = case_invoices.invoice_id").
		Where("case_invoices.case_id = ?", cs.ID).Order("case_invoices.id").Scan(&rows).Error
	if err != nil {
		return d, storeErr(err, "invoices of case %d", cs.ID)
	}
	for _, r := range rows {
		d.Invoices = append(d.Invoices, domain.CaseInvoice{InvoiceID: r.InvoiceID, Number: r.Number, DueDate: r.DueDate,
			Currency: r.Currency, OpenMinor: r.OpenMinor, Status: r.Status, JoinedAt: r.JoinedAt, LeftAt: r.LeftAt, LeftReason: r.LeftReason})
	}
	var st workflows.CaseState
	v, err := s.temporal.QueryWorkflow(ctx, cs.WorkflowID, "", workflows.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		d.StateError = err.Error()
		return d, nil
	}
	for _, x := range st.Stages {
		d.Stages = append(d.Stages, domain.CaseStage{Stage: string(x.Stage), At: x.At, Sent: x.Sent, Reason: x.Reason,
			Channels: x.Channels, InterestMinor: x.InterestMinor, CostsMinor: x.CostsMinor, TotalMinor: x.TotalMinor})
	}
	d.NextStage, d.NextAt = string(st.NextStage), st.NextAt
	return d, nil
}

// CaseTimeline lists the case's messages and events, oldest first.
func (s *Service) CaseTimeline(ctx context.Context, cs *models.CollectionCase) ([]domain.CaseTimelineEntry, error) {
	db := s.db.WithContext(ctx)
	var events []models.CaseEvent
	if err := db.Where("case_id = ?", cs.ID).Order("at, id").Find(&events).Error; err != nil {
		return nil, storeErr(err, "events of case %d", cs.ID)
	}
	var msgs []models.Message
	if err := db.Where("case_id = ?", cs.ID).Order("created_at, id").Find(&msgs).Error; err != nil {
		return nil, storeErr(err, "messages of case %d", cs.ID)
	}
	out := make([]domain.CaseTimelineEntry, 0, len(events)+len(msgs))
	for _, e := range events {
		out = append(out, domain.CaseTimelineEntry{At: e.At, Kind: e.Kind, Detail: e.Detail, AmountMinor: e.AmountMinor})
	}
	for _, m := range msgs {
		at := m.CreatedAt
		if m.SentAt != nil {
			at = *m.SentAt
		}
		out = append(out, domain.CaseTimelineEntry{At: at, Kind: "message", Detail: m.Subject, MessageID: m.ID,
			Channel: m.Channel, State: string(m.State), Reason: m.Reason})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

func caseClosed(cs *models.CollectionCase) error {
	if cs.Stage == models.CaseClosed {
		return conflict("case %d is closed", cs.ID)
	}
	return nil
}

// PauseCase pauses a case's stages, until a date or until resumed.
func (s *Service) PauseCase(ctx context.Context, cs *models.CollectionCase, until *time.Time, reason string) error {
	now := s.Now()
	if until != nil && !until.After(now) {
		return domain.RuleBroken("until", "%s is in the past", until.UTC().Format(time.RFC3339))
	}
	if err := caseClosed(cs); err != nil {
		return err
	}
	if err := s.steerCase(ctx, cs, workflows.SignalPause, workflows.PauseSignal{Until: until, Reason: reason}); err != nil {
		return err
	}
	return s.saveCase(ctx, cs, map[string]any{"paused": true, "paused_at": now, "paused_until": until, "pause_reason": reason})
}

// ResumeCase ends a case's pause.
func (s *Service) ResumeCase(ctx context.Context, cs *models.CollectionCase, reason string) error {
	if err := caseClosed(cs); err != nil {
		return err
	}
	if !cs.Paused || (cs.PausedUntil != nil && !cs.PausedUntil.After(s.Now())) {
		return conflict("case %d is not paused", cs.ID)
	}
	if err := s.steerCase(ctx, cs, workflows.SignalResume, workflows.ResumeSignal{Reason: reason}); err != nil {
		return err
	}
	return s.saveCase(ctx, cs, map[string]any{"paused": false, "paused_at": nil, "paused_until": nil, "pause_reason": ""})
}

// WaiveCaseCosts waives all or part of a case's costs and interest; the
// case's workflow records it on the timeline and the next stage shows it.
func (s *Service) WaiveCaseCosts(ctx context.Context, cs *models.CollectionCase, in domain.WaiverInput) (*models.CollectionCase, error) {
	if in.AmountMinor < 0 {
		return nil, domain.Invalid("amount_minor", "must not be negative, got %d", in.AmountMinor)
	}
	if !in.All && in.AmountMinor == 0 {
		return nil, domain.Invalid("amount_minor", "give a positive amount, or all")
	}
	if err := caseClosed(cs); err != nil {
		return nil, err
	}
	var res workflows.WaiveCostsResult
	if err := s.updateCase(ctx, cs, workflows.UpdateWaiveCosts, workflows.WaiveCostsRequest{AmountMinor: in.AmountMinor, All: in.All, Reason: in.Reason}, &res); err != nil {
		return nil, err
	}
	if err := s.saveCase(ctx, cs, map[string]any{"waived_minor": res.WaivedMinor, "costs_waived": res.WaiveAll}); err != nil {
		return nil, err
	}
	return cs, nil
}

// HandOverCaseNow sends the case to the collection agency at once.
func (s *Service) HandOverCaseNow(ctx context.Context, cs *models.CollectionCase, reason string) error {
	if err := caseClosed(cs); err != nil {
		return err
	}
	if cs.Stage == models.CaseAgency || cs.HandedOverAt != nil {
		return conflict("case %d is already with the agency", cs.ID)
	}
	var res workflows.HandOverNowResult
	return s.updateCase(ctx, cs, workflows.UpdateHandOverNow, workflows.HandOverNowRequest{Reason: reason}, &res)
}

func (s *Service) steerCase(ctx context.Context, cs *models.CollectionCase, name string, payload any) error {
	err := s.Signal(ctx, cs.WorkflowID, name, payload)
	if errors.Is(err, domain.ErrJourneyEnded) {
		return conflict("case %d has ended", cs.ID)
	}
	return err
}

// updateCase runs an Update of the case's workflow and waits for its result;
// a refusal of the workflow (closed, already handed over) is a conflict.
func (s *Service) updateCase(ctx context.Context, cs *models.CollectionCase, name string, arg, out any) error {
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: cs.WorkflowID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if err == nil {
		return nil
	}
	var nf *serviceerror.NotFound
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &nf) || strings.Contains(err.Error(), "workflow execution already completed"):
		return conflict("case %d has ended", cs.ID)
	case errors.As(err, &app):
		return conflict("case %d: %s", cs.ID, app.Message())
	case temporalUnavailable(err):
		return fmt.Errorf("%s case %d: %w: %w", name, cs.ID, domain.ErrUnavailable, err)
	}
	return fmt.Errorf("%s case %d: %w", name, cs.ID, err)
}

func (s *Service) saveCase(ctx context.Context, cs *models.CollectionCase, upd map[string]any) error {
	if err := s.db.WithContext(ctx).Model(cs).Updates(upd).Error; err != nil {
		return storeErr(err, "save case %d", cs.ID)
	}
	return storeErr(s.db.WithContext(ctx).First(cs, cs.ID).Error, "reload case %d", cs.ID)
}

// DisputeCase records that the customer disputes the case: its stages stop
// until the dispute is resolved (docs/domain.md §1.5), and the timeline
// shows it. The workflow is told first, so when Temporal is down nothing
// is recorded and the call can be repeated.
func (s *Service) DisputeCase(ctx context.Context, cs *models.CollectionCase, reason string) error {
	if err := caseClosed(cs); err != nil {
		return err
	}
	if cs.Disputed {
		return conflict("case %d is already disputed", cs.ID)
	}
	if err := s.steerCase(ctx, cs, workflows.SignalDispute, workflows.DisputeSignal{Reason: reason}); err != nil {
		return err
	}
	return s.saveCase(ctx, cs, map[string]any{"disputed": true})
}

// ResolveCaseDispute ends the case's dispute; its stages go on.
func (s *Service) ResolveCaseDispute(ctx context.Context, cs *models.CollectionCase, reason string) error {
	if err := caseClosed(cs); err != nil {
		return err
	}
	if !cs.Disputed {
		return conflict("case %d is not disputed", cs.ID)
	}
	if err := s.steerCase(ctx, cs, workflows.SignalDisputeResolved, workflows.DisputeResolvedSignal{Reason: reason}); err != nil {
		return err
	}
	return s.saveCase(ctx, cs, map[string]any{"disputed": false})
}
