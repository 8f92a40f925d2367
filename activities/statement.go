package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// StatementInput sends one customer its open-items statement (docs/domain.md
// §1.6).
type StatementInput struct {
	WorkflowID       string `json:"workflow_id"`
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	// Key is unique per statement: statement:<customer>:<period> for a
	// scheduled one (so that a period sends it once, whatever is retried),
	// statement:<customer>:req-<id> for one asked through the API. The
	// outbox key adds the channel.
	Key string `json:"key"`
	// Channel is the channel the admin chose; empty sends by the channel
	// rules (policy.Decide with the statement kind).
	Channel policy.Channel `json:"channel,omitempty"`
}

// StatementResult reports the statement's messages.
type StatementResult struct {
	Outcomes []ChannelOutcome `json:"outcomes"`
	Skipped  bool             `json:"skipped"`
	Reason   string           `json:"reason,omitempty"`
	Sent     bool             `json:"sent"`
	// OpenItems is how many open invoices the statement listed.
	OpenItems int `json:"open_items"`
}

// ReasonNoOpenItems: the customer has nothing open, so no statement goes.
const ReasonNoOpenItems = "no_open_items"

// StatementKey is the outbox key of customer's scheduled statement of a
// period ("2026-12", "2026-W49").
func StatementKey(customerID int64, period string) string {
	return fmt.Sprintf("statement:%d:%s", customerID, period)
}

// SendStatement sends a customer the list of its open items, by the
// channel the admin chose or by the channel rules, through the outbox like
// every message: a retry (or a second run of the same period) finds the
// rows of its key and sends nothing twice.
func (a *Activities) SendStatement(ctx context.Context, in StatementInput) (StatementResult, error) {
	logger := a.log().With("workflow_id", in.WorkflowID, "key", in.Key, "customer_id", in.CustomerID)
	db := a.DB.WithContext(ctx)
	d := &sendData{}
	if err := db.First(&d.adm, "id = ?", in.AdministrationID).Error; err != nil {
		return StatementResult{}, notFound("administration", in.AdministrationID, err)
	}
	if err := db.First(&d.cust, "id = ? AND administration_id = ?", in.CustomerID, in.AdministrationID).Error; err != nil {
		return StatementResult{}, notFound("customer", in.CustomerID, err)
	}
	if err := db.Where("customer_id = ? AND status = ? AND open_minor > 0", d.cust.ID, models.InvoiceOpen).
		Order("due_date, number").Limit(500).Find(&d.items).Error; err != nil {
		return StatementResult{}, fmt.Errorf("load open items of customer %d: %w", d.cust.ID, err)
	}
	res := StatementResult{OpenItems: len(d.items)}
	if len(d.items) == 0 {
		res.Skipped, res.Reason = true, ReasonNoOpenItems
		return res, nil
	}
	send := SendInput{WorkflowID: in.WorkflowID, AdministrationID: d.adm.ID, CustomerID: d.cust.ID,
		Step: StepRef{Kind: policy.StepStatement}, Key: in.Key}
	var dec policy.Decision
	if in.Channel != "" {
		dec = policy.DecideChannel(policy.StepStatement, in.Channel, d.admSettings(), d.custSettings())
	} else {
		dec = policy.Decide(policy.StepStatement, d.admSettings(), d.custSettings())
	}
	for _, r := range dec.Refusals {
		row, err := a.recordSkip(ctx, send, d, r.Channel, string(r.Reason))
		if err != nil {
			return StatementResult{}, err
		}
		res.Outcomes = append(res.Outcomes, ChannelOutcome{Channel: r.Channel, State: string(row.State), Reason: row.Reason, MessageID: row.ID})
	}
	if dec.Skipped {
		res.Skipped, res.Reason = true, string(dec.Reason)
		logger.Info("statement skipped", "reason", res.Reason)
		return res, nil
	}
	if held, err := a.holdStatement(ctx, send, d, dec, &res); held || err != nil {
		return res, err
	}
	var retry error
	for _, ch := range dec.Channels {
		activity.RecordHeartbeat(ctx, string(ch))
		out, err := a.sendOn(ctx, send, d, dec, ch)
		if err != nil {
			logger.Warn("statement send failed, will retry", "channel", ch, "error", err)
			retry = errors.Join(retry, fmt.Errorf("%s: %w", ch, err))
		}
		res.Outcomes = append(res.Outcomes, out)
		if out.State == string(models.MessageSent) || out.State == string(models.MessageUncertain) {
			res.Sent = true
		}
	}
	if retry != nil {
		return StatementResult{}, retry
	}
	if !res.Sent {
		res.Reason = "all_channels_failed"
	}
	logger.Info("statement sent", "outcomes", res.Outcomes, "items", len(d.items))
	return res, nil
}

// holdStatement holds a statement whose texts print a company detail the
// administration lacks, as holdForMissingDetails holds a step: the channels
// are recorded skipped with company_details_missing and the administration
// is flagged. A statement that already handed a message over is not held.
func (a *Activities) holdStatement(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, res *StatementResult) (bool, error) {
	var missing []string
	data := a.renderData(d, in.Anchor)
	for _, ch := range dec.Channels {
		tpl, err := a.template(ctx, d, "", policy.StepStatement, ch, data.Language)
		if err != nil {
			continue
		}
		missing = appendMissing(missing, data, tpl.Subject, tpl.Body)
	}
	outcomes, held, err := a.holdChannels(ctx, in, d, dec, missing)
	if !held || err != nil {
		return false, err
	}
	res.Outcomes = append(res.Outcomes, outcomes...)
	reason := string(policy.ReasonCompanyDetailsMissing)
	res.Skipped, res.Reason = true, reason
	a.log().Warn("statement held: company details missing", "key", in.Key, "administration_id", d.adm.ID, "missing", missing)
	return true, nil
}

// StatementCustomersInput asks for one page of the customers with open items.
type StatementCustomersInput struct {
	AdministrationID int64 `json:"administration_id"`
	// AfterID is the last customer ID of the previous page (keyset paging:
	// a page is the same whatever was sent meanwhile).
	AfterID int64 `json:"after_id"`
	Limit   int   `json:"limit"`
}

// StatementCustomersResult is one page of customer IDs, ascending: the
// scheduled run passes references, never the customers themselves.
type StatementCustomersResult struct {
	CustomerIDs []int64 `json:"customer_ids"`
}

// StatementCustomers lists the administration's customers that have open
// items, after AfterID, at most Limit of them.
func (a *Activities) StatementCustomers(ctx context.Context, in StatementCustomersInput) (StatementCustomersResult, error) {
	limit := in.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var ids []int64
	db := a.DB.WithContext(ctx)
	var adm models.Administration
	if err := db.First(&adm, "id = ?", in.AdministrationID).Error; err != nil {
		return StatementCustomersResult{}, notFound("administration", in.AdministrationID, err)
	}
	if adm.ArchivedAt != nil {
		// An archived administration sends nothing new, statements included.
		return StatementCustomersResult{}, nil
	}
	err := db.Model(&models.Customer{}).
		Where("administration_id = ? AND id > ?", in.AdministrationID, in.AfterID).
		Where("EXISTS (?)", db.Model(&models.Invoice{}).Select("1").
			Where("invoices.customer_id = customers.id AND invoices.status = ? AND invoices.open_minor > 0", models.InvoiceOpen)).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	if err != nil {
		return StatementCustomersResult{}, fmt.Errorf("list customers with open items of administration %d: %w", in.AdministrationID, err)
	}
	return StatementCustomersResult{CustomerIDs: ids}, nil
}
