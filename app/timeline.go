package app

import (
	"context"
	"sort"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// InvoiceTimeline is the invoice's timeline (docs/domain.md §1.7): its
// messages from the outbox (sent, skipped with the reason, failed, with
// their delivery reports and bounces), its payments and its events
// (pauses, resumes, disputes, email submissions, imports), in time order;
// and the steps its journey plans, with the channel choice as it would be
// made now (InvoiceJourney, the one channel rule). When the journey cannot
// be asked (Temporal down) the past is returned with PlannedError set.
func (s *Service) InvoiceTimeline(ctx context.Context, inv *models.Invoice) (domain.InvoiceTimeline, error) {
	db := s.db.WithContext(ctx)
	var msgs []models.Message
	if err := db.Where("invoice_id = ?", inv.ID).Order("id").Find(&msgs).Error; err != nil {
		return domain.InvoiceTimeline{}, storeErr(err, "messages of invoice %d", inv.ID)
	}
	var pays []models.Payment
	if err := db.Where("invoice_id = ?", inv.ID).Order("id").Find(&pays).Error; err != nil {
		return domain.InvoiceTimeline{}, storeErr(err, "payments of invoice %d", inv.ID)
	}
	var events []models.InvoiceEvent
	if err := db.Where("invoice_id = ?", inv.ID).Order("at, id").Find(&events).Error; err != nil {
		return domain.InvoiceTimeline{}, storeErr(err, "events of invoice %d", inv.ID)
	}
	out := domain.InvoiceTimeline{Stage: domain.Stage(inv.Stage), Entries: timelineEntries(msgs, pays, events)}
	if inv.WorkflowID == "" || inv.Status != models.InvoiceOpen {
		return out, nil
	}
	j, err := s.InvoiceJourney(ctx, inv)
	if err != nil {
		s.log.Warn("timeline without its planned part", "invoice_id", inv.ID, "error", err)
		out.PlannedError = err.Error()
		return out, nil
	}
	out.Stage = j.Stage
	for _, st := range j.Steps {
		if st.Status != string(workflows.StepPlanned) || j.Stage == domain.StageCollection {
			continue
		}
		out.Planned = append(out.Planned, domain.PlannedStep{Position: st.Position, Kind: st.Kind, At: st.At,
			Next: j.Next != nil && j.Next.Position == st.Position, Choice: st.Choice})
	}
	return out, nil
}

// timelineEntries merges the invoice's messages, payments and events in
// time order (ties keep that order: a message before the payment recorded
// in the same instant).
func timelineEntries(msgs []models.Message, pays []models.Payment, events []models.InvoiceEvent) []domain.TimelineEntry {
	out := make([]domain.TimelineEntry, 0, len(msgs)+len(pays)+len(events))
	for _, m := range msgs {
		tm := &domain.TimelineMessage{ID: m.ID, StepKind: policy.StepKind(m.Kind), Channel: m.Channel, State: string(m.State),
			Reason: m.Reason, Manual: m.Manual, Recipient: m.Recipient, Subject: m.Subject, TemplateID: m.TemplateID,
			TemplateVersion: m.TemplateVersion, DeliveryStatus: m.DeliveryStatus, DeliveryAt: m.DeliveryAt}
		at := m.CreatedAt
		if m.SentAt != nil {
			at = *m.SentAt
		}
		out = append(out, domain.TimelineEntry{At: at.UTC(), Kind: domain.EntryMessage, Detail: m.Subject, Message: tm})
		if m.DeliveryAt != nil && m.DeliveryStatus != "" {
			out = append(out, domain.TimelineEntry{At: m.DeliveryAt.UTC(), Kind: domain.EntryDelivery,
				Detail: m.DeliveryStatus, Message: tm})
		}
	}
	for _, p := range pays {
		// At is when Relance learnt of the payment (paid_at may be a
		// business date): the order of what the journey did follows it.
		out = append(out, domain.TimelineEntry{At: p.CreatedAt.UTC(), Kind: domain.EntryPayment, Detail: p.Reference,
			AmountMinor: p.AmountMinor, Currency: p.Currency})
	}
	for _, e := range events {
		out = append(out, domain.TimelineEntry{At: e.At.UTC(), Kind: string(e.Kind), Detail: e.Detail})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
