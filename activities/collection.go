package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/costs"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
)

// ErrNoCaseStarter is returned when the worker gave the activities no way to
// start case workflows.
var ErrNoCaseStarter = errors.New("no case starter configured")

// JoinCase hands an unpaid invoice over to its customer's open collection
// case in the invoice's currency, opening one when there is none, and
// signals the case's workflow (signal-with-start). It is idempotent: a
// retry finds the invoice already in the case and signals again, which the
// case ignores.
func (a *Activities) JoinCase(ctx context.Context, in JoinCaseInput) (JoinCaseResult, error) {
	if a.Cases == nil {
		return JoinCaseResult{}, permanent(ErrNoCaseStarter)
	}
	db := a.DB.WithContext(ctx)
	var inv models.Invoice
	if err := db.First(&inv, "id = ? AND administration_id = ?", in.InvoiceID, in.AdministrationID).Error; err != nil {
		return JoinCaseResult{}, notFound("invoice", in.InvoiceID, err)
	}
	res := JoinCaseResult{InvoiceStatus: string(inv.Status), OpenMinor: inv.OpenMinor}
	if inv.Status != models.InvoiceOpen || inv.OpenMinor <= 0 {
		res.Skipped, res.Reason = true, ReasonInvoiceClosed
		return res, nil
	}
	var cust models.Customer
	if err := db.First(&cust, "id = ?", inv.CustomerID).Error; err != nil {
		return JoinCaseResult{}, notFound("customer", inv.CustomerID, err)
	}
	var cs models.CollectionCase
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		cs, err = openCase(tx, a.now(), &inv)
		if err != nil {
			return err
		}
		ci := models.CaseInvoice{CaseID: cs.ID, InvoiceID: inv.ID, PrincipalMinor: inv.OpenMinor, JoinedAt: a.now()}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ci).Error; err != nil {
			return fmt.Errorf("add invoice %s to case %d: %w", inv.Number, cs.ID, err)
		}
		return tx.Model(&models.Invoice{}).Where("id = ?", inv.ID).
			Updates(map[string]any{"case_id": cs.ID, "stage": "collection"}).Error
	})
	if err != nil {
		return JoinCaseResult{}, err
	}
	wfID, err := a.Cases.JoinCase(ctx, CaseJoin{
		AdministrationID: inv.AdministrationID, CustomerID: cust.ID, CustomerRef: cust.ExternalRef, CaseID: cs.ID,
		Currency: cs.Currency, InvoiceID: inv.ID, InvoiceNumber: inv.Number, OpenMinor: inv.OpenMinor,
		Summary: fmt.Sprintf("Case %d · %s · %s", cs.ID, cust.Name, cs.Currency),
	})
	if err != nil {
		return JoinCaseResult{}, err
	}
	res.CaseID, res.CaseWorkflowID = cs.ID, wfID
	a.log().Info("invoice joined its collection case", "invoice", inv.Number, "case", cs.ID, "workflow_id", wfID)
	return res, nil
}

// openCase finds the customer's open case in the invoice's currency, locked
// (CloseCase takes the same lock, so an invoice never joins a case that is
// closing), or creates it. Two journeys handing over at once race on the
// partial unique index ux_open_case; the loser finds the winner's case.
func openCase(tx *gorm.DB, now time.Time, inv *models.Invoice) (models.CollectionCase, error) {
	var cs models.CollectionCase
	for attempt := 0; attempt < 2; attempt++ {
		err := tx.Clauses(lockForUpdate(tx)...).Where("administration_id = ? AND customer_id = ? AND currency = ? AND stage <> ?",
			inv.AdministrationID, inv.CustomerID, inv.Currency, models.CaseClosed).First(&cs).Error
		if err == nil {
			return cs, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return cs, fmt.Errorf("find open case of customer %d: %w", inv.CustomerID, err)
		}
		cs = models.CollectionCase{AdministrationID: inv.AdministrationID, CustomerID: inv.CustomerID,
			Period: now.Format("2006-01"), Stage: models.CaseOpen, Currency: inv.Currency}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&cs)
		if res.Error != nil {
			return cs, fmt.Errorf("open case for customer %d: %w", inv.CustomerID, res.Error)
		}
		if res.RowsAffected == 1 {
			wf := fmt.Sprintf("case:%d:%d", cs.AdministrationID, cs.ID)
			if err := tx.Model(&cs).Update("workflow_id", wf).Error; err != nil {
				return cs, fmt.Errorf("name case %d: %w", cs.ID, err)
			}
			cs.WorkflowID = wf
			return cs, nil
		}
	}
	return cs, fmt.Errorf("open case for customer %d: lost the race twice", inv.CustomerID)
}

// PlanCase gives the case's stage gap in journey days: the administration's
// case_stage_days, and for a consumer at least the WIK's 14 days after the
// day of receipt, so that the last notice may charge the costs.
func (a *Activities) PlanCase(ctx context.Context, in PlanCaseInput) (PlanCaseResult, error) {
	d, err := a.loadCase(ctx, in.AdministrationID, in.CaseID)
	if err != nil {
		return PlanCaseResult{}, err
	}
	days := d.adm.CaseStageDays
	if days <= 0 {
		days = models.DefaultCollectionSettings().CaseStageDays
	}
	consumer := d.cust.Type == models.CustomerConsumer
	if consumer {
		notice := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		days = max(days, int(costs.CostsDueFrom(costs.Consumer, notice).Sub(notice)/(24*time.Hour)))
	}
	day := a.Day
	if day <= 0 {
		day = 24 * time.Hour
	}
	return PlanCaseResult{Gap: time.Duration(days) * day, Consumer: consumer}, nil
}

// caseData is a case with what its messages are made of.
type caseData struct {
	cs   models.CollectionCase
	adm  models.Administration
	cust models.Customer
	// open are the case's invoices still to collect; closed the others.
	open   []models.Invoice
	closed []int64
}

func (a *Activities) loadCase(ctx context.Context, admID, caseID int64) (*caseData, error) {
	db := a.DB.WithContext(ctx)
	d := &caseData{}
	if err := db.First(&d.cs, "id = ? AND administration_id = ?", caseID, admID).Error; err != nil {
		return nil, notFound("case", caseID, err)
	}
	if err := db.First(&d.adm, "id = ?", admID).Error; err != nil {
		return nil, notFound("administration", admID, err)
	}
	if err := db.First(&d.cust, "id = ?", d.cs.CustomerID).Error; err != nil {
		return nil, notFound("customer", d.cs.CustomerID, err)
	}
	var invs []models.Invoice
	if err := db.Where("id IN (?)", db.Model(&models.CaseInvoice{}).Select("invoice_id").Where("case_id = ? AND left_at IS NULL", caseID)).
		Order("due_date, number").Find(&invs).Error; err != nil {
		return nil, fmt.Errorf("load invoices of case %d: %w", caseID, err)
	}
	for _, i := range invs {
		if i.Status == models.InvoiceOpen && i.OpenMinor > 0 {
			d.open = append(d.open, i)
		} else {
			d.closed = append(d.closed, i.ID)
		}
	}
	return d, nil
}

// caseClaim is what the customer owes on invoices at asOf: the open principal,
// the statutory interest (each invoice from the day after its due date, on
// its open amount as partial payments changed it), and the collection costs
// by the customer's type. costsDue is false while a consumer's 14 days run.
type caseClaim struct {
	principal, interest, costs int64
	costsDue                   bool
	waived                     int64
	total                      int64
}

// computeClaim reads the invoices' payments and applies the costs package.
func (a *Activities) computeClaim(ctx context.Context, adm *models.Administration, cust *models.Customer, invs []models.Invoice,
	noticeAt *time.Time, asOf time.Time, waived int64, waiveAll bool) (caseClaim, error) {
	var c caseClaim
	if len(invs) == 0 {
		return c, nil
	}
	var principals []int64
	for _, inv := range invs {
		var pays []models.Payment
		if err := a.DB.WithContext(ctx).Where("invoice_id = ?", inv.ID).Order("paid_at").Find(&pays).Error; err != nil {
			return c, fmt.Errorf("load payments of invoice %s: %w", inv.Number, err)
		}
		// The principal at the due date is what is open now plus what was
		// paid since; each payment reduces it from the day after.
		principal := inv.OpenMinor
		var cp []costs.Payment
		for _, p := range pays {
			principal += p.AmountMinor
			cp = append(cp, costs.Payment{On: p.PaidAt, AmountMinor: p.AmountMinor})
		}
		c.interest += costs.Interest(principal, inv.DueDate, cp, asOf, adm.InterestRateBP)
		c.principal += inv.OpenMinor
		principals = append(principals, inv.OpenMinor)
	}
	kind := costs.Business
	if cust.Type == models.CustomerConsumer {
		kind = costs.Consumer
	}
	cc, err := costs.CollectionCosts(kind, invs[0].Currency, principals)
	if err != nil && !errors.Is(err, costs.ErrCurrency) {
		return c, err
	}
	// Outside EUR the fixed amounts do not apply: no costs, interest only.
	notice := asOf
	if noticeAt != nil {
		notice = *noticeAt
	}
	c.costsDue = !asOf.Before(costs.CostsDueFrom(kind, notice))
	if waiveAll {
		waived = math.MaxInt64 / 4
	}
	// The waiver takes the costs first, whether they are charged already
	// or only announced (a consumer's 14 days): the letter shows them net.
	cl, err := costs.ApplyWaiver(c.principal, c.interest, cc, waived)
	if err != nil {
		return c, permanent(err)
	}
	c.costs, c.interest, c.waived = cl.CostsMinor, cl.InterestMinor, cl.WaivedMinor
	c.total = c.principal + c.interest
	if c.costsDue {
		c.total += c.costs
	}
	return c, nil
}

// SendCaseStage sends one stage of a collection case: ONE message per
// channel for the whole case, by the channel rules of a collection notice
// (policy.Decide: email, a letter too, and an SMS unless the administration
// switched collection SMS off), with the costs and interest filled in. The
// outbox key is the case's workflow ID and stage, so a retry never sends a
// stage twice.
func (a *Activities) SendCaseStage(ctx context.Context, in CaseStageInput) (CaseStageResult, error) {
	logger := a.log().With("workflow_id", in.WorkflowID, "key", in.Key, "stage", in.Stage)
	d, err := a.loadCase(ctx, in.AdministrationID, in.CaseID)
	if err != nil {
		return CaseStageResult{}, err
	}
	res := CaseStageResult{OpenInvoices: len(d.open), ClosedInvoices: d.closed}
	if len(d.open) == 0 {
		return res, nil
	}
	now := a.journeyNow(in.Anchor)
	noticeAt := d.cs.NoticeAt
	if in.Stage == string(models.CaseNoticeOfDefault) {
		noticeAt = &now
	}
	cl, err := a.computeClaim(ctx, &d.adm, &d.cust, d.open, noticeAt, now, in.WaivedMinor, in.WaiveAll)
	if err != nil {
		return CaseStageResult{}, err
	}
	res.PrincipalMinor, res.InterestMinor, res.CostsMinor, res.TotalMinor = cl.principal, cl.interest, cl.costs, cl.total

	contacts, err := a.contactsOf(ctx, d.cust.ID)
	if err != nil {
		return CaseStageResult{}, err
	}
	sd := &sendData{adm: d.adm, cust: d.cust, items: d.open, claim: &cl, contacts: contacts}
	send := SendInput{
		WorkflowID: in.WorkflowID, AdministrationID: in.AdministrationID, CustomerID: d.cust.ID, CaseID: in.CaseID,
		Step: StepRef{Position: caseStagePosition(in.Stage), Kind: policy.StepCollection, Template: in.Stage},
		Key:  in.Key, Anchor: in.Anchor,
	}
	dec := policy.Decide(policy.StepCollection, sd.admSettings(), sd.custSettings())
	for _, r := range dec.Refusals {
		row, err := a.recordSkip(ctx, send, sd, r.Channel, string(r.Reason))
		if err != nil {
			return CaseStageResult{}, err
		}
		res.Outcomes = append(res.Outcomes, ChannelOutcome{Channel: r.Channel, State: string(row.State), Reason: row.Reason, MessageID: row.ID})
	}
	if dec.Skipped {
		res.Skipped, res.Reason = true, string(dec.Reason)
		logger.Info("case stage skipped", "reason", res.Reason)
		return res, a.recordCaseStage(ctx, d, in.Stage, now, cl, false)
	}
	var retry error
	for _, ch := range dec.Channels {
		activity.RecordHeartbeat(ctx, string(ch))
		out, err := a.sendOn(ctx, send, sd, dec, ch)
		if err != nil {
			logger.Warn("case stage send failed, will retry", "channel", ch, "error", err)
			retry = errors.Join(retry, fmt.Errorf("%s: %w", ch, err))
		}
		res.Outcomes = append(res.Outcomes, out)
		if out.State == string(models.MessageSent) || out.State == string(models.MessageUncertain) {
			res.Sent = true
		}
	}
	if retry != nil {
		return CaseStageResult{}, retry
	}
	if !res.Sent {
		res.Reason = "all_channels_failed"
	}
	logger.Info("case stage sent", "outcomes", res.Outcomes, "total", cl.total)
	return res, a.recordCaseStage(ctx, d, in.Stage, now, cl, res.Sent)
}

func caseStagePosition(stage string) int {
	switch models.CaseStage(stage) {
	case models.CaseNoticeOfDefault:
		return 1
	case models.CaseLastNotice:
		return 2
	case models.CaseAgency:
		return 3
	}
	return 0
}

// recordCaseStage writes the stage and the claim on the case row.
func (a *Activities) recordCaseStage(ctx context.Context, d *caseData, stage string, now time.Time, cl caseClaim, sent bool) error {
	upd := map[string]any{"stage": stage, "interest_minor": cl.interest, "costs_minor": cl.costs}
	if sent && stage == string(models.CaseNoticeOfDefault) && d.cs.NoticeAt == nil {
		upd["notice_at"] = now
	}
	if err := a.DB.WithContext(ctx).Model(&models.CollectionCase{}).Where("id = ?", d.cs.ID).Updates(upd).Error; err != nil {
		return fmt.Errorf("record stage of case %d: %w", d.cs.ID, err)
	}
	return nil
}

// CaseFile is a case as the collection agency gets it: the body of the
// agency webhook, and the content of the downloadable case file (CSV, PDF).
// Amounts are in minor units of Currency; the claim is computed at AsOf.
type CaseFile struct {
	Key            string            `json:"key,omitempty"`
	CaseID         int64             `json:"case_id"`
	Administration string            `json:"administration"`
	Customer       CaseFileCustomer  `json:"customer"`
	Currency       string            `json:"currency"`
	PrincipalMinor int64             `json:"principal_minor"`
	InterestMinor  int64             `json:"interest_minor"`
	CostsMinor     int64             `json:"costs_minor"`
	WaivedMinor    int64             `json:"waived_minor"`
	TotalMinor     int64             `json:"total_minor"`
	NoticeAt       *time.Time        `json:"notice_at,omitempty"`
	AsOf           time.Time         `json:"as_of"`
	Invoices       []CaseFileInvoice `json:"invoices"`
}

// CaseFileCustomer is the debtor of a case file.
type CaseFileCustomer struct {
	Reference  string `json:"reference"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	LegalID    string `json:"legal_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Address    string `json:"address,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
	Country    string `json:"country,omitempty"`
	Language   string `json:"language,omitempty"`
}

// CaseFileInvoice is one open invoice of a case file.
type CaseFileInvoice struct {
	Number      string `json:"number"`
	IssueDate   string `json:"issue_date"`
	DueDate     string `json:"due_date"`
	AmountMinor int64  `json:"amount_minor"`
	OpenMinor   int64  `json:"open_minor"`
}

// caseFile builds the case file of d at now, with the waiver as the
// workflow (or the case row) has it.
func (a *Activities) caseFile(ctx context.Context, d *caseData, now time.Time, waived int64, waiveAll bool) (CaseFile, error) {
	cl, err := a.computeClaim(ctx, &d.adm, &d.cust, d.open, d.cs.NoticeAt, now, waived, waiveAll)
	if err != nil {
		return CaseFile{}, err
	}
	f := CaseFile{CaseID: d.cs.ID, Administration: firstOf(d.adm.CompanyName, d.adm.Name),
		Customer: CaseFileCustomer{Reference: d.cust.ExternalRef, Name: d.cust.Name, Type: string(d.cust.Type), LegalID: d.cust.LegalID,
			Email: d.cust.Email, Phone: firstOf(d.cust.Mobile, d.cust.Phone), Address: strings.Join(nonEmpty(d.cust.AddressLine1, d.cust.AddressLine2), ", "),
			PostalCode: d.cust.PostalCode, City: d.cust.City, Country: d.cust.Country, Language: firstOf(d.cust.Language, d.adm.Language)},
		Currency: d.cs.Currency, PrincipalMinor: cl.principal, InterestMinor: cl.interest, CostsMinor: cl.costs, WaivedMinor: cl.waived,
		TotalMinor: cl.total, NoticeAt: d.cs.NoticeAt, AsOf: now, Invoices: []CaseFileInvoice{}}
	for _, i := range d.open {
		f.Invoices = append(f.Invoices, CaseFileInvoice{Number: i.Number, IssueDate: i.IssueDate.Format("2006-01-02"),
			DueDate: i.DueDate.Format("2006-01-02"), AmountMinor: i.AmountMinor, OpenMinor: i.OpenMinor})
	}
	return f, nil
}

// BuildCaseFile is the case file of case caseID of administration admID at
// now, with the waiver recorded on the case row: what the API serves as CSV
// and PDF, and what the agency webhook would receive now.
func BuildCaseFile(ctx context.Context, db *gorm.DB, now time.Time, admID, caseID int64) (CaseFile, error) {
	a := &Activities{DB: db, Now: func() time.Time { return now }}
	d, err := a.loadCase(ctx, admID, caseID)
	if err != nil {
		return CaseFile{}, err
	}
	return a.caseFile(ctx, d, now.UTC(), d.cs.WaivedMinor, d.cs.CostsWaived)
}

// AgencySignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
// request body under the administration's agency_webhook_secret.
const AgencySignatureHeader = "X-Relance-Signature"

// SignAgencyBody is the signature of body under secret, as sent.
func SignAgencyBody(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// HandOverCase gives the case to the collection agency: a signed POST to
// the administration's agency webhook, or, without one, the case file
// (CSV/PDF from the API) is the hand-over. A 4xx answer is permanent (the
// request is wrong, retrying cannot fix it); 5xx and network errors retry.
// The key (X-Relance-Key) lets the agency drop a repeated delivery.
func (a *Activities) HandOverCase(ctx context.Context, in HandOverInput) (HandOverResult, error) {
	d, err := a.loadCase(ctx, in.AdministrationID, in.CaseID)
	if err != nil {
		return HandOverResult{}, err
	}
	now := a.now()
	res := HandOverResult{Via: "case_file"}
	if d.adm.AgencyWebhookURL != "" {
		p, err := a.caseFile(ctx, d, now, in.WaivedMinor, in.WaiveAll)
		if err != nil {
			return HandOverResult{}, err
		}
		p.Key = in.Key
		body, err := json.Marshal(p)
		if err != nil {
			return HandOverResult{}, permanent(fmt.Errorf("encode case %d: %w", d.cs.ID, err))
		}
		if err := a.postAgency(ctx, d.adm.AgencyWebhookURL, d.adm.AgencyWebhookSecret, in.Key, body); err != nil {
			return HandOverResult{}, err
		}
		res.Via = "webhook"
	}
	if err := a.DB.WithContext(ctx).Model(&models.CollectionCase{}).Where("id = ? AND handed_over_at IS NULL", d.cs.ID).
		Update("handed_over_at", now).Error; err != nil {
		return HandOverResult{}, fmt.Errorf("record hand-over of case %d: %w", d.cs.ID, err)
	}
	return res, nil
}

func (a *Activities) postAgency(ctx context.Context, url, secret, key string, body []byte) error {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("agency webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Relance-Key", key)
	req.Header.Set(AgencySignatureHeader, SignAgencyBody(secret, body))
	client := a.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("agency webhook: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return permanent(fmt.Errorf("agency webhook answered %d: %s", resp.StatusCode, msg))
	}
	return fmt.Errorf("agency webhook answered %d: %s", resp.StatusCode, msg)
}

// SyncCase writes the case's timeline events (once each, by key), the
// invoices that left, and the case row as the workflow sees it.
func (a *Activities) SyncCase(ctx context.Context, in SyncCaseInput) (SyncCaseResult, error) {
	var res SyncCaseResult
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, e := range in.Events {
			row := models.CaseEvent{CaseID: in.CaseID, Key: e.Key, Kind: e.Kind, Detail: truncate(e.Detail, 512), AmountMinor: e.AmountMinor, At: e.At.UTC()}
			r := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoNothing: true}).Create(&row)
			if r.Error != nil {
				return fmt.Errorf("record case event %s: %w", e.Key, r.Error)
			}
			res.Recorded += int(r.RowsAffected)
		}
		for _, l := range in.Left {
			if err := tx.Model(&models.CaseInvoice{}).Where("case_id = ? AND invoice_id = ? AND left_at IS NULL", in.CaseID, l.InvoiceID).
				Updates(map[string]any{"left_at": l.At.UTC(), "left_reason": l.Reason}).Error; err != nil {
				return fmt.Errorf("record invoice %d leaving case %d: %w", l.InvoiceID, in.CaseID, err)
			}
		}
		upd := map[string]any{"paused": in.Paused, "paused_until": in.PausedUntil, "pause_reason": in.PauseReason,
			"disputed": in.Disputed, "waived_minor": in.WaivedMinor, "costs_waived": in.WaiveAll}
		if in.Paused {
			upd["paused_at"] = gorm.Expr("COALESCE(paused_at, ?)", a.now())
		} else {
			upd["paused_at"] = nil
		}
		if in.Stage != "" && in.Stage != string(models.CaseClosed) {
			upd["stage"] = in.Stage
		}
		return tx.Model(&models.CollectionCase{}).Where("id = ? AND stage <> ?", in.CaseID, models.CaseClosed).Updates(upd).Error
	})
	if err != nil {
		return SyncCaseResult{}, err
	}
	return res, nil
}

// CloseCase closes a case none of whose invoices is open any more. It takes
// the case's lock, like JoinCase, so an invoice joining at that moment
// either makes it refuse (Closed false) or opens a new case.
func (a *Activities) CloseCase(ctx context.Context, in CloseCaseInput) (CloseCaseResult, error) {
	var res CloseCaseResult
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cs models.CollectionCase
		if err := tx.Clauses(lockForUpdate(tx)...).First(&cs, "id = ?", in.CaseID).Error; err != nil {
			return notFound("case", in.CaseID, err)
		}
		if cs.Stage == models.CaseClosed {
			res.Closed = true
			return nil
		}
		var open int64
		if err := tx.Model(&models.Invoice{}).
			Where("id IN (?)", tx.Model(&models.CaseInvoice{}).Select("invoice_id").Where("case_id = ?", in.CaseID)).
			Where("status = ? AND open_minor > 0", models.InvoiceOpen).Count(&open).Error; err != nil {
			return fmt.Errorf("count open invoices of case %d: %w", in.CaseID, err)
		}
		if open > 0 {
			return nil
		}
		now := a.now()
		if err := tx.Model(&models.CaseInvoice{}).Where("case_id = ? AND left_at IS NULL", in.CaseID).
			Updates(map[string]any{"left_at": now, "left_reason": "paid"}).Error; err != nil {
			return fmt.Errorf("close invoices of case %d: %w", in.CaseID, err)
		}
		if err := tx.Model(&models.CollectionCase{}).Where("id = ?", in.CaseID).
			Updates(map[string]any{"stage": models.CaseClosed, "closed_at": now, "paused": false}).Error; err != nil {
			return fmt.Errorf("close case %d: %w", in.CaseID, err)
		}
		res.Closed = true
		return nil
	})
	return res, err
}

// fill fills the #collection_costs, #interest and #total_claim tags.
func (c *caseClaim) fill(data *render.Data, currency string) {
	if c == nil {
		return
	}
	cc := render.Money{Minor: c.costs, Currency: currency}
	in := render.Money{Minor: c.interest, Currency: currency}
	data.CollectionCosts, data.Interest = &cc, &in
	data.CostsAnnounced = !c.costsDue
}
