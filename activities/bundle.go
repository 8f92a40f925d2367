package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
	"github.com/relance/relance/schedule"
)

// SignalBundleAnswer is the name of the signal a bundle answers a journey
// with. It must equal workflows.SignalBundleAnswer (activities cannot
// import workflows; a test asserts they are the same).
const SignalBundleAnswer = "bundle-answer"

// wantsBundle reports whether SendStep queues the step for the customer's
// bundle instead of sending it: the journey takes a bundle's answer, the
// administration bundles, the kind is one a bundle carries, and nobody
// chose this message by hand (a manual action, or one naming its channels,
// goes at once and alone).
func wantsBundle(in SendInput, d *sendData) bool {
	return in.Bundle && d.adm.Bundling == models.BundlingOn && BundledKind(in.Step.Kind) &&
		!in.Manual && len(in.Channels) == 0
}

// bundleWindow is how long a bundle collects.
func (a *Activities) bundleWindow() time.Duration {
	if a.BundleWindow > 0 {
		return a.BundleWindow
	}
	return BundleWindowFor(a.Day)
}

// day is the length of a journey day (24h when unset).
func (a *Activities) day() time.Duration {
	if a.Day <= 0 {
		return 24 * time.Hour
	}
	return a.Day
}

// realDays reports whether days are real (not a demo's scaled day): only
// then do send windows apply.
func (a *Activities) realDays() bool { return a.Day <= 0 || a.Day == 24*time.Hour }

// queueForBundle records the step as a request of its customer's bundle
// (a BundleRequest row, keyed by the step key) and nudges the bundle's
// workflow. A request the bundle already sent is not sent again: its
// stored answer is the step's result (Bundled false), so a journey that
// asks again (it missed the answer) gets it at once. A request answered
// or held before is reopened with the invoice as it is now (its customer
// and currency may have changed).
func (a *Activities) queueForBundle(ctx context.Context, in SendInput, d *sendData, res SendResult) (SendResult, error) {
	if a.Bundles == nil {
		return SendResult{}, permanent(errors.New("this worker has no Temporal client to start customers' bundles"))
	}
	var stored *BundleAnswer
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fields := map[string]any{
			"administration_id": d.adm.ID, "customer_id": d.inv.CustomerID, "currency": d.inv.Currency,
			"invoice_id": d.inv.ID, "workflow_id": in.WorkflowID, "position": in.Step.Position,
			"offset_days": in.Step.OffsetDays, "kind": string(in.Step.Kind), "template": in.Step.Template,
			"stage": in.Stage, "anchor": in.Anchor.UTC(),
		}
		fresh := models.BundleRequest{
			AdministrationID: d.adm.ID, CustomerID: d.inv.CustomerID, Currency: d.inv.Currency, InvoiceID: d.inv.ID,
			WorkflowID: in.WorkflowID, StepKey: in.Key, Position: in.Step.Position, OffsetDays: in.Step.OffsetDays,
			Kind: string(in.Step.Kind), Template: in.Step.Template, Stage: in.Stage, Anchor: in.Anchor.UTC(),
			State: models.BundlePending,
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "step_key"}}, DoNothing: true}).Create(&fresh).Error; err != nil {
			return fmt.Errorf("create bundle request %s: %w", in.Key, err)
		}
		var row models.BundleRequest
		if err := tx.Clauses(lockForUpdate(tx)...).First(&row, "step_key = ?", in.Key).Error; err != nil {
			return fmt.Errorf("load bundle request %s: %w", in.Key, err)
		}
		switch row.State {
		case models.BundleSent:
			var ans BundleAnswer
			if err := json.Unmarshal([]byte(row.Outcomes), &ans); err != nil {
				return permanent(fmt.Errorf("bundle request %s: stored answer: %w", in.Key, err))
			}
			stored = &ans
			return nil
		case models.BundlePending:
			// Still waiting: the invoice's details are refreshed; a bundle
			// that took it already (bundle_key) keeps it.
		default:
			fields["state"], fields["bundle_key"], fields["reason"] = models.BundlePending, "", ""
			fields["outcomes"], fields["answered_at"] = "", nil
		}
		return tx.Model(&models.BundleRequest{}).Where("id = ?", row.ID).Updates(fields).Error
	})
	if err != nil {
		return SendResult{}, err
	}
	if stored != nil {
		out := stored.Result
		out.Bundled, out.BundleWorkflowID = false, ""
		out.InvoiceStatus, out.OpenMinor = res.InvoiceStatus, res.OpenMinor
		return out, nil
	}
	id, err := a.Bundles.JoinBundle(ctx, BundleJoin{
		AdministrationID: d.adm.ID, CustomerID: d.inv.CustomerID, CustomerRef: d.cust.ExternalRef,
		Currency: d.inv.Currency, Window: a.bundleWindow(), InvoiceID: d.inv.ID, Kind: in.Step.Kind,
		Summary: truncate(fmt.Sprintf("%s of invoice %s", in.Step.Kind, d.inv.Number), 255),
	})
	if err != nil {
		return SendResult{}, fmt.Errorf("join the bundle of customer %d (%s): %w", d.inv.CustomerID, d.inv.Currency, err)
	}
	res.Bundled, res.BundleWorkflowID = true, id
	a.log().Info("step queued for the customer's bundle", "workflow_id", in.WorkflowID, "key", in.Key,
		"kind", in.Step.Kind, "bundle", id)
	return res, nil
}

// answered is a request and the answer the bundle gives its journey.
type answered struct {
	row    models.BundleRequest
	answer BundleAnswer
	state  models.BundleState
}

// SendBundle sends the bundle of one customer and currency: every step
// queued for it (BundleRequest rows), as ONE message per channel, after
// answering the steps that must not go (invoice closed, paused, disputed,
// moved: see dropOut), holding all of them while the customer's minimum
// gap runs or its overdue total is under the administration's minimum, and
// then answers each journey with a signal (SignalBundleAnswer).
//
// It is idempotent under retries: the messages go through the outbox under
// "<Key>/<channel>" (claim, begin, uncertain: never sent twice); once a
// message of Key exists the bundle's content is fixed (the rows it took,
// bundle_key = Key), so a request arriving meanwhile waits for the next
// bundle; and the rows Key already answered are signalled again.
func (a *Activities) SendBundle(ctx context.Context, in SendBundleInput) (SendBundleResult, error) {
	logger := a.log().With("workflow_id", in.WorkflowID, "key", in.Key, "customer_id", in.CustomerID, "currency", in.Currency)
	if a.Signals == nil {
		return SendBundleResult{}, permanent(errors.New("this worker has no Temporal client to answer journeys"))
	}
	if in.Key == "" {
		return SendBundleResult{}, permanent(errors.New("a bundle needs a key"))
	}
	at := in.At.UTC()
	if at.IsZero() {
		at = a.now()
	}
	d, err := a.loadCustomerData(ctx, in.AdministrationID, in.CustomerID)
	if err != nil {
		return SendBundleResult{}, err
	}
	db := a.DB.WithContext(ctx)
	started, err := a.bundleStarted(ctx, in.Key)
	if err != nil {
		return SendBundleResult{}, err
	}
	var done []models.BundleRequest
	if err := db.Where("bundle_key = ? AND state <> ?", in.Key, models.BundlePending).Order("id").Find(&done).Error; err != nil {
		return SendBundleResult{}, fmt.Errorf("load the answered requests of bundle %s: %w", in.Key, err)
	}
	queue := func(state models.BundleState) *gorm.DB {
		return db.Where("administration_id = ? AND customer_id = ? AND currency = ? AND state = ?",
			in.AdministrationID, in.CustomerID, in.Currency, state).Order("id")
	}
	var pending, held []models.BundleRequest
	q := queue(models.BundlePending)
	if started {
		q = q.Where("bundle_key = ?", in.Key)
	}
	if err := q.Find(&pending).Error; err != nil {
		return SendBundleResult{}, fmt.Errorf("load the requests of bundle %s: %w", in.Key, err)
	}
	if !started {
		if err := queue(models.BundleHeld).Find(&held).Error; err != nil {
			return SendBundleResult{}, fmt.Errorf("load the held requests of bundle %s: %w", in.Key, err)
		}
	}
	invs, err := a.requestInvoices(ctx, append(slices.Clone(pending), held...))
	if err != nil {
		return SendBundleResult{}, err
	}

	var res SendBundleResult
	var answers []answered
	answer := func(row models.BundleRequest, ans BundleAnswer, state models.BundleState) {
		ans.StepKey, ans.BundleKey = row.StepKey, in.Key
		answers = append(answers, answered{row: row, answer: ans, state: state})
	}
	// Drop-outs: nothing is sent about an invoice that closed, paused or
	// left this customer or currency while it waited. Once the bundle's
	// messages exist (a retry) its content is fixed: only an invoice that
	// is gone leaves it.
	keep := func(rows []models.BundleRequest) []models.BundleRequest {
		var out []models.BundleRequest
		for _, row := range rows {
			inv, ok := invs[row.InvoiceID]
			if started && ok {
				out = append(out, row)
				continue
			}
			if ans, drop := dropOut(row, inv, ok, &d.cust, in.CustomerID, in.Currency, at); drop {
				answer(row, ans, models.BundleAnswered)
				res.Answered++
				continue
			}
			out = append(out, row)
		}
		return out
	}
	pending = keep(pending)

	if !started && len(pending) > 0 {
		if nb, wait := a.gapUntil(d, at); wait {
			for _, row := range pending {
				answer(row, BundleAnswer{NotBefore: &nb, Reason: ReasonCustomerGap}, models.BundleAnswered)
				res.Answered++
			}
			pending = nil
		}
	}
	if !started && len(pending) > 0 {
		minimum, err := a.minimumAmount(ctx, in.AdministrationID, in.Currency)
		if err != nil {
			return SendBundleResult{}, err
		}
		total := int64(0)
		if minimum > 0 {
			requested := map[int64]bool{}
			for _, row := range append(slices.Clone(pending), held...) {
				requested[row.InvoiceID] = true
			}
			if total, err = a.overdueTotal(ctx, in, requested, at); err != nil {
				return SendBundleResult{}, err
			}
		}
		if total < minimum {
			nb := at.Add(a.day())
			for _, row := range pending {
				answer(row, BundleAnswer{NotBefore: &nb, Reason: ReasonBelowMinimum}, models.BundleHeld)
				res.Held++
			}
			pending = nil
			logger.Info("bundle held under the minimum amount", "overdue_minor", total, "minimum_minor", minimum)
		} else {
			// Over the minimum (or none): the steps held before go along.
			pending = append(pending, keep(held)...)
		}
	}

	// The answers without a send are recorded before sending: should the
	// send fail and be retried, the retry signals them again (done).
	if err := a.recordAnswers(ctx, answers); err != nil {
		return SendBundleResult{}, err
	}
	if len(pending) > 0 {
		sent, err := a.sendBundled(ctx, in, d, pending, invs, at, &res)
		if err != nil {
			return SendBundleResult{}, err
		}
		n := len(answers)
		for _, s := range sent {
			answer(s.row, s.answer, models.BundleSent)
		}
		if err := a.recordAnswers(ctx, answers[n:]); err != nil {
			return SendBundleResult{}, err
		}
	}
	if err := a.signalAnswers(ctx, done, answers); err != nil {
		return SendBundleResult{}, err
	}
	logger.Info("bundle done", "items", res.Items, "answered", res.Answered, "held", res.Held, "kind", res.Kind, "outcomes", res.Outcomes)
	return res, nil
}

// bundleStarted reports whether the bundle has an outbox row: its content
// is fixed from then on.
func (a *Activities) bundleStarted(ctx context.Context, key string) (bool, error) {
	keys := []string{key + "/" + string(policy.ChannelEmail), key + "/" + string(policy.ChannelPost), key + "/" + string(policy.ChannelSMS)}
	var n int64
	if err := a.DB.WithContext(ctx).Model(&models.Message{}).Where("key IN ?", keys).Count(&n).Error; err != nil {
		return false, fmt.Errorf("look for the messages of bundle %s: %w", key, err)
	}
	return n > 0, nil
}

// requestInvoices loads the invoices of rows by ID.
func (a *Activities) requestInvoices(ctx context.Context, rows []models.BundleRequest) (map[int64]models.Invoice, error) {
	out := map[int64]models.Invoice{}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.InvoiceID)
	}
	for chunk := range slices.Chunk(ids, 500) {
		var invs []models.Invoice
		if err := a.DB.WithContext(ctx).Where("id IN ?", chunk).Find(&invs).Error; err != nil {
			return nil, fmt.Errorf("load the invoices of a bundle: %w", err)
		}
		for _, inv := range invs {
			out[inv.ID] = inv
		}
	}
	return out, nil
}

// dropOut decides whether a waiting step leaves the bundle with an answer
// instead of going out: its invoice is gone or closed (a skipped Result,
// invoice_closed), or paused, disputed, or its customer is paused, or it
// now belongs to another customer or currency than the bundle's (Requeue:
// the journey takes the step back; a moved invoice joins its new
// customer's bundle and never goes in the old one's).
func dropOut(row models.BundleRequest, inv models.Invoice, found bool, cust *models.Customer, customerID int64, currency string, at time.Time) (BundleAnswer, bool) {
	switch {
	case !found:
		return BundleAnswer{Result: SendResult{Skipped: true, Reason: ReasonInvoiceClosed}, Reason: ReasonInvoiceClosed}, true
	case inv.Status != models.InvoiceOpen || inv.OpenMinor <= 0:
		return BundleAnswer{Result: SendResult{Skipped: true, Reason: ReasonInvoiceClosed, InvoiceStatus: string(inv.Status), OpenMinor: inv.OpenMinor},
			Reason: ReasonInvoiceClosed}, true
	case inv.CustomerID != customerID || inv.Currency != currency || row.CustomerID != customerID,
		inv.Disputed, pausedAt(inv.PausedAt, inv.PausedUntil, at), pausedAt(cust.PausedAt, cust.PausedUntil, at):
		return BundleAnswer{Requeue: true, Reason: ReasonRequeued,
			Result: SendResult{InvoiceStatus: string(inv.Status), OpenMinor: inv.OpenMinor}}, true
	}
	return BundleAnswer{}, false
}

// pausedAt reports whether a pause (from, until) holds at t.
func pausedAt(from, until *time.Time, t time.Time) bool {
	return from != nil && (until == nil || until.After(t))
}

// gapUntil is the instant the customer's minimum gap after its last bundle
// ends, and whether it is still ahead of at. At the real day length the
// instant moves into the administration's send window, spread by the
// customer as PlanJourney spreads its steps.
func (a *Activities) gapUntil(d *sendData, at time.Time) (time.Time, bool) {
	if d.adm.CustomerMinGapDays <= 0 || d.cust.LastRemindedAt == nil {
		return time.Time{}, false
	}
	nb := d.cust.LastRemindedAt.UTC().Add(time.Duration(d.adm.CustomerMinGapDays) * a.day())
	if !nb.After(at) {
		return time.Time{}, false
	}
	if a.realDays() {
		loc, err := time.LoadLocation(d.adm.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		w := schedule.Window{Country: d.adm.Country, Location: loc, StartHour: d.adm.SendWindowStart, EndHour: d.adm.SendWindowEnd}
		nb = schedule.Spread(w.Next(nb), w, fmt.Sprintf("customer:%d:%d", d.adm.ID, d.cust.ID))
	}
	return nb, true
}

// minimumAmount is the administration's minimum overdue total in currency
// (0: none).
func (a *Activities) minimumAmount(ctx context.Context, admID int64, currency string) (int64, error) {
	var m models.MinimumAmount
	err := a.DB.WithContext(ctx).First(&m, "administration_id = ? AND currency = ?", admID, currency).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load the minimum amount of administration %d in %s: %w", admID, currency, err)
	}
	return max(m.AmountMinor, 0), nil
}

// overdueTotal is the customer's overdue total in the bundle's currency
// (OverdueTotal over its open invoices).
func (a *Activities) overdueTotal(ctx context.Context, in SendBundleInput, requested map[int64]bool, at time.Time) (int64, error) {
	var open []models.Invoice
	if err := a.DB.WithContext(ctx).Select("id", "due_date", "open_minor", "status", "currency").
		Where("administration_id = ? AND customer_id = ? AND currency = ? AND status = ? AND open_minor > 0",
			in.AdministrationID, in.CustomerID, in.Currency, models.InvoiceOpen).
		Find(&open).Error; err != nil {
		return 0, fmt.Errorf("sum the overdue invoices of customer %d: %w", in.CustomerID, err)
	}
	return OverdueTotal(open, requested, at), nil
}

// OverdueTotal sums the open amounts of the open invoices past due at at
// (the due date before at's calendar day) and of those requested, whose
// journey says a reminder is due whatever the date.
func OverdueTotal(invs []models.Invoice, requested map[int64]bool, at time.Time) int64 {
	y, m, d := at.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var total int64
	for _, inv := range invs {
		if inv.Status != models.InvoiceOpen || inv.OpenMinor <= 0 {
			continue
		}
		if requested[inv.ID] || inv.DueDate.Before(today) {
			total += inv.OpenMinor
		}
	}
	return total
}

// HighestKind is the kind a bundle's email and letter are written as: a
// final reminder when any step is one, else a reminder.
func HighestKind(kinds []policy.StepKind) policy.StepKind {
	if slices.Contains(kinds, policy.StepFinalReminder) {
		return policy.StepFinalReminder
	}
	return policy.StepReminder
}

// MostOverdue returns the index of the invoice longest past due (the
// earliest due date; then the largest open amount; then the number), -1
// for none: it leads its bundle (the step's template set and clock).
func MostOverdue(invs []models.Invoice) int {
	best := -1
	for i, inv := range invs {
		if best < 0 {
			best = i
			continue
		}
		b := invs[best]
		c := inv.DueDate.Compare(b.DueDate)
		if c == 0 {
			c = cmp.Compare(b.OpenMinor, inv.OpenMinor)
		}
		if c == 0 {
			c = strings.Compare(inv.Number, b.Number)
		}
		if c < 0 {
			best = i
		}
	}
	return best
}

// sendBundled sends the rows: the email and post steps as one message per
// channel (of the highest kind), the SMS steps as one SMS. It returns each
// row with its answer (the Result of its part) and records the invoices'
// stage and the customer's last reminder.
func (a *Activities) sendBundled(ctx context.Context, in SendBundleInput, d *sendData, rows []models.BundleRequest, invs map[int64]models.Invoice, at time.Time, res *SendBundleResult) ([]answered, error) {
	// The rows are the bundle's from now on: a retry after a message was
	// claimed sends these, not the requests that arrived meanwhile.
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	for chunk := range slices.Chunk(ids, 500) {
		if err := a.DB.WithContext(ctx).Model(&models.BundleRequest{}).Where("id IN ? AND state IN ?", chunk,
			[]models.BundleState{models.BundlePending, models.BundleHeld}).
			Updates(map[string]any{"bundle_key": in.Key, "state": models.BundlePending}).Error; err != nil {
			return nil, fmt.Errorf("take the requests of bundle %s: %w", in.Key, err)
		}
	}
	var mail, texts []models.BundleRequest
	for _, r := range rows {
		if policy.StepKind(r.Kind) == policy.StepSMS {
			texts = append(texts, r)
		} else {
			mail = append(mail, r)
		}
	}
	var out []answered
	sent := false
	for _, part := range [][]models.BundleRequest{mail, texts} {
		if len(part) == 0 {
			continue
		}
		kind, r, err := a.sendBundlePart(ctx, in, d, part, invs)
		if err != nil {
			return nil, err
		}
		if res.Kind == "" {
			res.Kind = kind // the email's kind when there is one (it goes first)
		}
		res.Outcomes = append(res.Outcomes, r.Outcomes...)
		sent = sent || r.Sent
		for i, row := range part {
			if i%100 == 99 {
				activity.RecordHeartbeat(ctx, "recording stages")
			}
			inv := invs[row.InvoiceID]
			rr := r
			rr.Outcomes = slices.Clone(r.Outcomes)
			rr.InvoiceStatus, rr.OpenMinor = string(inv.Status), inv.OpenMinor
			out = append(out, answered{row: row, answer: BundleAnswer{Result: rr}})
			if err := a.recordStage(ctx, row, rr); err != nil {
				return nil, err
			}
		}
	}
	res.Items = len(out)
	res.Sent = sent
	if sent {
		if err := a.DB.WithContext(ctx).Model(&models.Customer{}).Where("id = ?", d.cust.ID).
			Update("last_reminded_at", at).Error; err != nil {
			return nil, fmt.Errorf("record the last reminder of customer %d: %w", d.cust.ID, err)
		}
		metrics.BundleSent(string(res.Kind), len(out))
	}
	return out, nil
}

// recordStage writes a step's result on its invoice as SendStep does: the
// stage when something went, the attention reason when nothing did; only
// on an invoice still open.
func (a *Activities) recordStage(ctx context.Context, row models.BundleRequest, r SendResult) error {
	upd := map[string]any{"attention_reason": ""}
	if r.Sent && row.Stage != "" {
		upd["stage"] = row.Stage
	}
	if !r.Sent {
		upd["attention_reason"] = cmp.Or(r.Reason, "all_channels_failed")
	}
	if err := a.DB.WithContext(ctx).Model(&models.Invoice{}).Where("id = ? AND status = ?", row.InvoiceID, models.InvoiceOpen).
		Updates(upd).Error; err != nil {
		return fmt.Errorf("record stage of invoice %d: %w", row.InvoiceID, err)
	}
	return nil
}

// sendBundlePart sends one part of a bundle (its email and post steps, or
// its SMS steps) by the channel rules of its kind, as SendStep sends one
// step: refusals recorded, a message held for missing company details,
// one outbox row per channel under "<Key>/<channel>".
func (a *Activities) sendBundlePart(ctx context.Context, in SendBundleInput, d *sendData, rows []models.BundleRequest, invs map[int64]models.Invoice) (policy.StepKind, SendResult, error) {
	var r SendResult
	kinds := make([]policy.StepKind, len(rows))
	bundled := make([]models.Invoice, len(rows))
	for i, row := range rows {
		kinds[i], bundled[i] = policy.StepKind(row.Kind), invs[row.InvoiceID]
	}
	kind := policy.StepSMS
	if kinds[0] != policy.StepSMS {
		kind = HighestKind(kinds)
	}
	// The lead row names the template and the clock: the most overdue
	// invoice among the steps of the bundle's kind.
	var ofKind []int
	var ofKindInvs []models.Invoice
	for i, k := range kinds {
		if k == kind {
			ofKind = append(ofKind, i)
			ofKindInvs = append(ofKindInvs, bundled[i])
		}
	}
	lead := rows[ofKind[MostOverdue(ofKindInvs)]]
	send := SendInput{
		WorkflowID: in.WorkflowID, AdministrationID: in.AdministrationID, CustomerID: in.CustomerID, Key: in.Key,
		Step:   StepRef{Position: lead.Position, OffsetDays: lead.OffsetDays, Kind: kind, Template: lead.Template},
		Anchor: lead.Anchor,
	}
	sd := &sendData{adm: d.adm, cust: d.cust, contacts: d.contacts}
	single := len(rows) == 1
	if single {
		// One invoice: exactly the message SendStep would have sent.
		sd.inv, sd.items = bundled[0], d.items
	} else {
		sd.items = bundled
	}
	var dec policy.Decision
	if kind == policy.StepSMS {
		dec = policy.DecideChannel(policy.StepSMS, policy.ChannelSMS, sd.admSettings(), sd.custSettings())
	} else {
		dec = policy.Decide(kind, sd.admSettings(), sd.custSettings())
	}
	for _, ref := range dec.Refusals {
		row, err := a.recordSkip(ctx, send, sd, ref.Channel, string(ref.Reason))
		if err != nil {
			return kind, r, err
		}
		r.Outcomes = append(r.Outcomes, ChannelOutcome{Channel: ref.Channel, State: string(row.State), Reason: row.Reason, MessageID: row.ID})
		metrics.StepSkipped(string(ref.Reason))
	}
	if dec.Skipped {
		r.Skipped, r.Reason = true, string(dec.Reason)
		metrics.StepSkipped(r.Reason)
		return kind, r, nil
	}
	labels := make(map[int64]string, len(rows))
	lang := firstOf(d.cust.Language, d.adm.Language)
	for _, row := range rows {
		labels[row.InvoiceID] = render.StepLabel(row.Kind, lang)
	}
	renderOn := func(ch policy.Channel) (rendered, error) {
		if single {
			return a.render(ctx, send, sd, dec, ch)
		}
		return a.renderBundle(ctx, send, sd, dec, ch, labels)
	}
	var missing []string
	for _, ch := range dec.Channels {
		tpl, data, err := a.bundleTemplate(ctx, send, sd, ch, single, labels)
		if err != nil {
			continue // the render fails the message with the reason
		}
		missing = appendMissing(missing, data, tpl.Subject, tpl.Body)
	}
	outcomes, held, err := a.holdChannels(ctx, send, sd, dec, missing)
	if err != nil {
		return kind, r, err
	}
	if held {
		r.Outcomes = append(r.Outcomes, outcomes...)
		r.Skipped, r.Reason = true, string(policy.ReasonCompanyDetailsMissing)
		a.log().Warn("bundle held: company details missing", "key", in.Key, "administration_id", d.adm.ID, "missing", missing)
		return kind, r, nil
	}
	var retry error
	for _, ch := range dec.Channels {
		activity.RecordHeartbeat(ctx, string(ch))
		msg, rerr := renderOn(ch)
		out, err := a.sendRendered(ctx, send, sd, dec, ch, msg, rerr)
		if err != nil {
			a.log().Warn("bundle send failed, will retry", "key", in.Key, "channel", ch, "error", err)
			retry = errors.Join(retry, fmt.Errorf("%s: %w", ch, err))
		}
		r.Outcomes = append(r.Outcomes, out)
		if out.State == string(models.MessageSent) || out.State == string(models.MessageUncertain) {
			r.Sent = true
		}
	}
	if retry != nil {
		return kind, r, retry
	}
	if !r.Sent {
		r.Reason = "all_channels_failed"
	}
	return kind, r, nil
}

// bundleTemplate is the text a bundle's message on ch is written from,
// with its data: for one invoice SendStep's; for several the
// administration's own bundle text (kind "bundle_<step kind>": the step's
// named set, else its default set; the customer's language, else the
// administration's, else English), else the shipped bundle text, over the
// bundled invoices with their step labels and no single invoice. The
// administration's text of the step kind itself is not used for several
// invoices: what the templates API lists under "bundle_…" is what is sent.
func (a *Activities) bundleTemplate(ctx context.Context, in SendInput, d *sendData, ch policy.Channel, single bool, labels map[int64]string) (render.Template, render.Data, error) {
	data := a.renderData(d, in.Anchor)
	if single {
		tpl, err := a.template(ctx, d, in.Step.Template, in.Step.Kind, ch, data.Language)
		return tpl, data, err
	}
	for i, inv := range d.items {
		data.Items[i].Step = labels[inv.ID]
	}
	kind := policy.StepKind(render.BundleKind(string(in.Step.Kind)))
	tpl, ok, err := a.storedTemplate(ctx, d, in.Step.Template, kind, ch, data.Language)
	if err != nil || ok {
		return tpl, data, err
	}
	tpl, ok = render.DefaultBundle(string(in.Step.Kind), string(ch), data.Language)
	if !ok {
		return tpl, data, fmt.Errorf("no bundle template for %s on %s", in.Step.Kind, ch)
	}
	return tpl, data, nil
}

// renderBundle renders the message of a bundle of several invoices on ch.
func (a *Activities) renderBundle(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, ch policy.Channel, labels map[int64]string) (rendered, error) {
	tpl, data, err := a.bundleTemplate(ctx, in, d, ch, false, labels)
	if err != nil {
		return rendered{}, err
	}
	return renderWith(tpl, data, d, dec, ch)
}

// recordAnswers writes each answer on its request: state, bundle key,
// reason and the answer's JSON (what a retry signals again, and what
// SendStep returns for a step asked again), and the held steps' timeline
// row (once per step).
func (a *Activities) recordAnswers(ctx context.Context, answers []answered) error {
	now := a.now()
	for i, x := range answers {
		if i%100 == 99 {
			activity.RecordHeartbeat(ctx, "recording answers")
		}
		raw, err := json.Marshal(x.answer)
		if err != nil {
			return permanent(fmt.Errorf("encode the answer of %s: %w", x.row.StepKey, err))
		}
		reason := x.answer.Reason
		if reason == "" {
			reason = x.answer.Result.Reason
		}
		if err := a.DB.WithContext(ctx).Model(&models.BundleRequest{}).Where("id = ?", x.row.ID).Updates(map[string]any{
			"state": x.state, "bundle_key": x.answer.BundleKey, "reason": truncate(reason, 255),
			"outcomes": string(raw), "answered_at": now,
		}).Error; err != nil {
			return fmt.Errorf("record the answer of %s: %w", x.row.StepKey, err)
		}
		if x.state != models.BundleSent {
			metrics.BundleAnswered(reason)
		}
		if x.state == models.BundleHeld {
			inv := x.row.InvoiceID
			msg := models.Message{
				Key: x.row.StepKey + "/held", AdministrationID: x.row.AdministrationID, CustomerID: x.row.CustomerID,
				InvoiceID: &inv, WorkflowID: x.row.WorkflowID, Step: x.row.Position, Kind: x.row.Kind,
				Channel: "none", State: models.MessageSkipped, Reason: ReasonBelowMinimum,
			}
			tx := a.DB.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoNothing: true}).Create(&msg)
			if tx.Error != nil {
				return fmt.Errorf("record held step %s: %w", x.row.StepKey, tx.Error)
			}
			if tx.RowsAffected > 0 {
				metrics.StepSkipped(ReasonBelowMinimum)
			}
		}
	}
	return nil
}

// signalAnswers signals each journey its answer: the rows this bundle
// answered on an earlier attempt (done, from their stored answer) and the
// new ones. A journey that no longer runs is not an error; any other
// failure is retried (the sends are not repeated: the outbox has them).
func (a *Activities) signalAnswers(ctx context.Context, done []models.BundleRequest, answers []answered) error {
	type sig struct {
		workflowID string
		answer     BundleAnswer
	}
	var sigs []sig
	for _, row := range done {
		var ans BundleAnswer
		if err := json.Unmarshal([]byte(row.Outcomes), &ans); err != nil {
			a.log().Error("stored bundle answer unreadable, not signalled again", "step_key", row.StepKey, "error", err)
			continue
		}
		sigs = append(sigs, sig{row.WorkflowID, ans})
	}
	for _, x := range answers {
		sigs = append(sigs, sig{x.row.WorkflowID, x.answer})
	}
	var failed error
	for i, s := range sigs {
		if i%20 == 0 {
			activity.RecordHeartbeat(ctx, "signalling")
		}
		err := a.Signals.SignalWorkflow(ctx, s.workflowID, "", SignalBundleAnswer, s.answer)
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			metrics.JourneySignaled(SignalBundleAnswer, metrics.SignalOK)
		case errors.As(err, &nf):
			metrics.JourneySignaled(SignalBundleAnswer, metrics.SignalNotRunning)
		default:
			metrics.JourneySignaled(SignalBundleAnswer, metrics.SignalError)
			failed = errors.Join(failed, fmt.Errorf("signal %s about %s: %w", s.workflowID, s.answer.StepKey, err))
		}
	}
	return failed
}
