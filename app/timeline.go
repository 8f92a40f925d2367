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
// (pauses, resumes, disputes, email submissions, imports), and its steps
// that its customer's bundle carries (waiting, held, or sent in the
// bundle's messages: docs/bundling.md), in time order;
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
	bundles, bundleMsgs, err := s.invoiceBundles(db, inv)
	if err != nil {
		return domain.InvoiceTimeline{}, err
	}
	out := domain.InvoiceTimeline{Stage: domain.Stage(inv.Stage), Entries: timelineEntries(mergeMessages(msgs, bundleMsgs), pays, events, bundles)}
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

// timelineMessage is an outbox row as the timeline shows it.
func timelineMessage(m models.Message) *domain.TimelineMessage {
	return &domain.TimelineMessage{ID: m.ID, StepKind: policy.StepKind(m.Kind), Channel: m.Channel, State: string(m.State),
		Reason: m.Reason, Manual: m.Manual, Recipient: m.Recipient, Subject: m.Subject, TemplateID: m.TemplateID,
		TemplateVersion: m.TemplateVersion, DeliveryStatus: m.DeliveryStatus, DeliveryAt: m.DeliveryAt}
}

// mergeMessages is the invoice's messages and its bundles' messages, each
// once, in ID order.
func mergeMessages(own, bundles []models.Message) []models.Message {
	seen := make(map[int64]bool, len(own))
	out := append([]models.Message(nil), own...)
	for _, m := range own {
		seen[m.ID] = true
	}
	for _, m := range bundles {
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// timelineEntries merges the invoice's messages, payments, events and
// bundle entries in time order (ties keep that order: a message before the
// payment recorded in the same instant). A message a bundle entry shows is
// not listed again on its own; its delivery reports are.
func timelineEntries(msgs []models.Message, pays []models.Payment, events []models.InvoiceEvent, bundles []domain.TimelineEntry) []domain.TimelineEntry {
	out := make([]domain.TimelineEntry, 0, len(msgs)+len(pays)+len(events)+len(bundles))
	inBundle := map[int64]bool{}
	for _, b := range bundles {
		if b.Bundle == nil {
			continue
		}
		for _, m := range b.Bundle.Messages {
			if m.ID != 0 {
				inBundle[m.ID] = true
			}
		}
	}
	for _, m := range msgs {
		tm := timelineMessage(m)
		at := m.CreatedAt
		if m.SentAt != nil {
			at = *m.SentAt
		}
		if !inBundle[m.ID] {
			out = append(out, domain.TimelineEntry{At: at.UTC(), Kind: domain.EntryMessage, Detail: m.Subject, Message: tm})
		}
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
	out = append(out, bundles...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
