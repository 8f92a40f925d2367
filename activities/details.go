package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
)

// holdForMissingDetails holds a step whose templates print a company detail
// the administration lacks (render.MissingDetails): instead of an email
// saying "transfer to:" and nothing, every chosen channel is recorded as
// skipped with company_details_missing, the invoice is listed for attention
// and the administration is flagged with the fields to fill in. It reports
// whether it held the step (res then says so).
func (a *Activities) holdForMissingDetails(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, res *SendResult) (bool, error) {
	data := a.renderData(d, in.Anchor)
	var missing []string
	for _, ch := range dec.Channels {
		tpl, err := a.template(ctx, d, in.Step.Template, in.Step.Kind, ch, data.Language)
		if err != nil {
			// No template: the render path fails the message with the reason.
			continue
		}
		if in.Manual && in.Body != "" {
			tpl.Body = in.Body
			if in.Subject != "" {
				tpl.Subject = in.Subject
			}
		}
		missing = appendMissing(missing, data, tpl.Subject, tpl.Body)
	}
	outcomes, held, err := a.holdChannels(ctx, in, d, dec, missing)
	if !held || err != nil {
		return false, err
	}
	res.Outcomes = append(res.Outcomes, outcomes...)
	reason := string(policy.ReasonCompanyDetailsMissing)
	if err := a.DB.WithContext(ctx).Model(&models.Invoice{}).Where("id = ?", d.inv.ID).Update("attention_reason", reason).Error; err != nil {
		return false, fmt.Errorf("flag invoice %d for attention: %w", d.inv.ID, err)
	}
	res.Skipped, res.Reason = true, reason
	a.log().Warn("step held: company details missing", "workflow_id", in.WorkflowID, "key", in.Key,
		"administration_id", d.adm.ID, "missing", missing)
	return true, nil
}

// holdChannels holds a message whose texts print the company details
// missing names: every chosen channel is recorded skipped with
// company_details_missing and the administration is flagged with the
// fields to fill in. A retry of a message that already handed a message
// over is not held (held false): the outbox finishes it as it started.
func (a *Activities) holdChannels(ctx context.Context, in SendInput, d *sendData, dec policy.Decision, missing []string) (outcomes []ChannelOutcome, held bool, err error) {
	if len(missing) == 0 {
		return nil, false, nil
	}
	keys := make([]string, len(dec.Channels))
	for i, ch := range dec.Channels {
		keys[i] = in.Key + "/" + string(ch)
	}
	var started int64
	if err := a.DB.WithContext(ctx).Model(&models.Message{}).Where("key IN ? AND state <> ?", keys, models.MessageSkipped).
		Count(&started).Error; err != nil {
		return nil, false, fmt.Errorf("look for messages of %s: %w", in.Key, err)
	}
	if started > 0 {
		return nil, false, nil
	}
	reason := string(policy.ReasonCompanyDetailsMissing)
	for _, ch := range dec.Channels {
		row, err := a.recordSkip(ctx, in, d, ch, reason)
		if err != nil {
			return nil, false, err
		}
		outcomes = append(outcomes, ChannelOutcome{Channel: ch, State: string(row.State), Reason: row.Reason, MessageID: row.ID})
	}
	if err := a.DB.WithContext(ctx).Model(&models.Administration{}).Where("id = ?", d.adm.ID).
		Update("details_missing", strings.Join(missing, ",")).Error; err != nil {
		return nil, false, fmt.Errorf("flag administration %d for missing details: %w", d.adm.ID, err)
	}
	return outcomes, true, nil
}

// appendMissing adds the company details subject and body print but data
// lacks to missing, each once.
func appendMissing(missing []string, data render.Data, subject, body string) []string {
	for _, f := range render.MissingDetails(data, subject, body) {
		if !slices.Contains(missing, f) {
			missing = append(missing, f)
		}
	}
	return missing
}
