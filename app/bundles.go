package app

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// invoiceBundles reads the invoice's bundle requests (docs/bundling.md) and
// what the timeline shows of them: one entry per request, and the bundles'
// messages (which name no single invoice) so that their delivery reports
// show too.
func (s *Service) invoiceBundles(db *gorm.DB, inv *models.Invoice) ([]domain.TimelineEntry, []models.Message, error) {
	var reqs []models.BundleRequest
	if err := db.Where("invoice_id = ? AND administration_id = ?", inv.ID, inv.AdministrationID).Order("id").Find(&reqs).Error; err != nil {
		return nil, nil, storeErr(err, "bundle requests of invoice %d", inv.ID)
	}
	if len(reqs) == 0 {
		return nil, nil, nil
	}
	answers := make([]*activities.BundleAnswer, len(reqs))
	var ids []int64
	var keys []string
	for i, r := range reqs {
		answers[i] = s.bundleAnswer(r)
		if a := answers[i]; a != nil {
			for _, o := range a.Result.Outcomes {
				if o.MessageID != 0 {
					ids = append(ids, o.MessageID)
				}
			}
		}
		if r.State == models.BundleSent && r.BundleKey != "" {
			keys = append(keys, r.BundleKey)
		}
	}
	var msgs []models.Message
	if len(ids) > 0 {
		if err := db.Where("id IN ? AND administration_id = ?", ids, inv.AdministrationID).Order("id").Find(&msgs).Error; err != nil {
			return nil, nil, storeErr(err, "bundle messages of invoice %d", inv.ID)
		}
	}
	covered := map[string]int{}
	if len(keys) > 0 {
		var counts []struct {
			BundleKey string
			N         int
		}
		err := db.Model(&models.BundleRequest{}).Select("bundle_key, COUNT(*) AS n").
			Where("bundle_key IN ? AND administration_id = ? AND state = ?", keys, inv.AdministrationID, models.BundleSent).
			Group("bundle_key").Scan(&counts).Error
		if err != nil {
			return nil, nil, storeErr(err, "bundles of invoice %d", inv.ID)
		}
		for _, c := range counts {
			covered[c.BundleKey] = c.N
		}
	}
	byID := make(map[int64]models.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	out := make([]domain.TimelineEntry, len(reqs))
	for i, r := range reqs {
		out[i] = bundleEntry(r, answers[i], byID, covered[r.BundleKey])
	}
	return out, msgs, nil
}

// bundleAnswer decodes the answer stored with a request; a request not
// answered yet has none. A row that does not decode is shown from its
// columns alone (and logged): the timeline is never refused for it.
func (s *Service) bundleAnswer(r models.BundleRequest) *activities.BundleAnswer {
	if strings.TrimSpace(r.Outcomes) == "" {
		return nil
	}
	var a activities.BundleAnswer
	if err := json.Unmarshal([]byte(r.Outcomes), &a); err != nil {
		s.log.Warn("bundle request with an unreadable answer", "step_key", r.StepKey, "error", err)
		return nil
	}
	return &a
}

// bundleEntry is the timeline entry of one bundle request: its state as
// the timeline names it, the bundle's workflow, and the bundle's messages
// (msgs holds the stored ones by ID; an outcome without a message row is
// shown from the answer). covered is the number of invoices the bundle
// carried.
func bundleEntry(r models.BundleRequest, a *activities.BundleAnswer, msgs map[int64]models.Message, covered int) domain.TimelineEntry {
	b := &domain.TimelineBundle{StepKey: r.StepKey, Position: r.Position, StepKind: policy.StepKind(r.Kind),
		WorkflowID: workflows.BundleWorkflowID(r.AdministrationID, r.CustomerID, r.Currency),
		BundleKey:  r.BundleKey, Reason: r.Reason}
	if a != nil {
		b.NotBefore = a.NotBefore
		if b.BundleKey == "" {
			b.BundleKey = a.BundleKey
		}
		if b.Reason == "" {
			b.Reason = a.Reason
		}
		if b.Reason == "" {
			b.Reason = a.Result.Reason
		}
	}
	switch r.State {
	case models.BundlePending:
		b.State, b.NotBefore, b.Reason = domain.BundleWaiting, nil, ""
	case models.BundleHeld:
		b.State = domain.BundleHeld
		if b.Reason == "" {
			b.Reason = activities.ReasonBelowMinimum
		}
	case models.BundleSent:
		b.State = domain.BundleSent
		if a != nil && !a.Result.Sent {
			b.State = domain.BundleFailed
			if a.Result.Skipped {
				b.State = domain.BundleSkipped
			}
		}
		b.Invoices = covered
	case models.BundleAnswered:
		switch {
		case a == nil:
			b.State = domain.BundleSkipped
		case a.Requeue:
			b.State = domain.BundleRequeued
		case a.NotBefore != nil:
			b.State = domain.BundlePostponed
		case a.Result.Sent:
			b.State = domain.BundleSent
		default:
			b.State = domain.BundleSkipped
		}
	default:
		b.State = string(r.State)
	}
	if a != nil && (r.State == models.BundleSent || r.State == models.BundleAnswered) {
		for _, o := range a.Result.Outcomes {
			if m, ok := msgs[o.MessageID]; ok && o.MessageID != 0 {
				b.Messages = append(b.Messages, *timelineMessage(m))
				continue
			}
			b.Messages = append(b.Messages, domain.TimelineMessage{ID: o.MessageID, StepKind: b.StepKind,
				Channel: string(o.Channel), State: o.State, Reason: o.Reason})
		}
	}

	// When: the bundle's first message went out; else when the bundle
	// answered; else when the step was queued (or held) last.
	at := r.UpdatedAt
	if r.AnsweredAt != nil && (r.State == models.BundleSent || r.State == models.BundleAnswered) {
		at = *r.AnsweredAt
	}
	detail, first := b.Reason, (*time.Time)(nil)
	for _, m := range b.Messages {
		mm, ok := msgs[m.ID]
		if !ok || m.ID == 0 || r.State != models.BundleSent {
			continue
		}
		if mm.SentAt != nil && (first == nil || mm.SentAt.Before(*first)) {
			first = mm.SentAt
		}
		if detail == "" {
			detail = mm.Subject
		}
	}
	if first != nil {
		at = *first
	}
	return domain.TimelineEntry{At: at.UTC(), Kind: domain.EntryBundle, Detail: detail, Bundle: b}
}

// MessageBundle is what the bundle message m covers: the invoices whose
// steps went out in it (the sent requests of its bundle, whose key is the
// stem of m's outbox key "<bundle key>/<channel>"). A message about one
// invoice covers none.
func (s *Service) MessageBundle(ctx context.Context, m *models.Message) (domain.MessageBundle, error) {
	i := strings.LastIndex(m.Key, "/")
	if i <= 0 {
		return domain.MessageBundle{}, nil
	}
	key := m.Key[:i]
	var reqs []models.BundleRequest
	err := s.db.WithContext(ctx).Where("bundle_key = ? AND administration_id = ? AND state = ?", key, m.AdministrationID, models.BundleSent).
		Order("id").Find(&reqs).Error
	if err != nil {
		return domain.MessageBundle{}, storeErr(err, "bundle of message %d", m.ID)
	}
	if len(reqs) == 0 {
		return domain.MessageBundle{}, nil
	}
	ids := make([]int64, len(reqs))
	for i, r := range reqs {
		ids[i] = r.InvoiceID
	}
	var invs []models.Invoice
	if err := s.db.WithContext(ctx).Where("id IN ? AND administration_id = ?", ids, m.AdministrationID).Find(&invs).Error; err != nil {
		return domain.MessageBundle{}, storeErr(err, "invoices of the bundle of message %d", m.ID)
	}
	byID := make(map[int64]models.Invoice, len(invs))
	for _, inv := range invs {
		byID[inv.ID] = inv
	}
	out := domain.MessageBundle{BundleKey: key, WorkflowID: workflows.BundleWorkflowID(reqs[0].AdministrationID, reqs[0].CustomerID, reqs[0].Currency)}
	for _, r := range reqs {
		inv, ok := byID[r.InvoiceID]
		if !ok {
			continue // deleted since: the bundle still went out
		}
		out.Invoices = append(out.Invoices, domain.BundledInvoice{InvoiceID: inv.ID, Number: inv.Number, Currency: inv.Currency,
			OpenMinor: inv.OpenMinor, DueDate: inv.DueDate, Position: r.Position, StepKind: policy.StepKind(r.Kind)})
	}
	slices.SortStableFunc(out.Invoices, func(a, b domain.BundledInvoice) int { return a.DueDate.Compare(b.DueDate) })
	return out, nil
}

// bundleWorkflows names, for each step waiting in its customer's bundle,
// the bundle workflow: the one of its request's customer and currency (the
// invoice may have moved since: the old bundle answers it with a requeue).
func bundleWorkflows(db *gorm.DB, inv *models.Invoice, steps []domain.JourneyStep) error {
	if !slices.ContainsFunc(steps, func(s domain.JourneyStep) bool { return s.Status == domain.BundleWaiting }) {
		return nil
	}
	var reqs []models.BundleRequest
	err := db.Where("invoice_id = ? AND administration_id = ? AND state IN ?", inv.ID, inv.AdministrationID,
		[]models.BundleState{models.BundlePending, models.BundleHeld}).Order("id").Find(&reqs).Error
	if err != nil {
		return storeErr(err, "bundle requests of invoice %d", inv.ID)
	}
	byPosition := map[int]string{}
	for _, r := range reqs {
		byPosition[r.Position] = workflows.BundleWorkflowID(r.AdministrationID, r.CustomerID, r.Currency)
	}
	for i := range steps {
		if steps[i].Status != domain.BundleWaiting {
			continue
		}
		steps[i].BundleWorkflowID = byPosition[steps[i].Position]
		if steps[i].BundleWorkflowID == "" {
			steps[i].BundleWorkflowID = workflows.BundleWorkflowID(inv.AdministrationID, inv.CustomerID, inv.Currency)
		}
	}
	return nil
}
