package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// SendStatement sends cust the list of its open items now, by the channel
// asked for (email, post or sms) or, without one, by the channel rules
// (docs/domain.md §1.6). A channel the rules refuse (a statement by SMS to
// a customer without a mobile number, or with the administration's
// statement SMS switched off) is refused here with the rule's reason, and
// nothing is started.
func (s *Service) SendStatement(ctx context.Context, cust *models.Customer, in domain.StatementInput) (domain.StatementRequested, error) {
	var out domain.StatementRequested
	ch := policy.Channel(strings.ToLower(strings.TrimSpace(in.Channel)))
	switch ch {
	case "", policy.ChannelEmail, policy.ChannelPost, policy.ChannelSMS:
	default:
		return out, domain.Invalid("channel", "must be email, post or sms, got %q", in.Channel)
	}
	db := s.db.WithContext(ctx)
	var adm models.Administration
	if err := db.First(&adm, "id = ?", cust.AdministrationID).Error; err != nil {
		return out, storeErr(err, "administration %d", cust.AdministrationID)
	}
	var open int64
	if err := db.Model(&models.Invoice{}).Where("customer_id = ? AND status = ? AND open_minor > 0", cust.ID, models.InvoiceOpen).
		Count(&open).Error; err != nil {
		return out, storeErr(err, "count open items of customer %d", cust.ID)
	}
	if open == 0 {
		return out, domain.RuleBroken("customer", "customer %d has no open items to put in a statement", cust.ID)
	}
	var dec policy.Decision
	if ch != "" {
		dec = policy.DecideChannel(policy.StepStatement, ch, adm.ChannelSettings(), cust.ChannelSettings())
	} else {
		dec = policy.Decide(policy.StepStatement, adm.ChannelSettings(), cust.ChannelSettings())
	}
	if dec.Skipped {
		if ch == "" {
			return out, domain.RuleBroken("channel", "no channel can carry the statement (%s)", refusals(dec))
		}
		return out, domain.RuleBroken("channel", "the statement cannot go by %s: %s", ch, dec.Reason)
	}
	req := uuid.NewString()
	in2 := workflows.StatementRequestInput{AdministrationID: adm.ID, CustomerID: cust.ID,
		Key: fmt.Sprintf("statement:%d:req-%s", cust.ID, req), Channel: ch}
	opts := client.StartWorkflowOptions{
		ID:                    workflows.StatementRequestWorkflowID(adm.ID, cust.ID, req),
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrAdministration.ValueSet(workflows.AdministrationKey(adm.ID)),
			workflows.AttrCustomer.ValueSet(cust.ExternalRef),
		),
		StaticSummary: fmt.Sprintf("Statement · %s · %d open items", cust.Name, open),
	}
	if _, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.CustomerStatementName, in2); err != nil {
		if temporalUnavailable(err) {
			return out, fmt.Errorf("start statement of customer %d: %w: %w", cust.ID, domain.ErrUnavailable, err)
		}
		return out, fmt.Errorf("start statement of customer %d: %w", cust.ID, err)
	}
	out = domain.StatementRequested{WorkflowID: opts.ID, Key: in2.Key, OpenItems: int(open)}
	for _, c := range dec.Channels {
		out.Channels = append(out.Channels, string(c))
	}
	s.log.Info("statement requested", "customer_id", cust.ID, "workflow_id", opts.ID, "channels", out.Channels)
	return out, nil
}

func refusals(d policy.Decision) string {
	var parts []string
	for _, r := range d.Refusals {
		parts = append(parts, string(r.Channel)+": "+string(r.Reason))
	}
	return strings.Join(parts, ", ")
}

// validStatementSchedule checks the administration's statement schedule
// and day together (monthly: 1–28, so that every month has the day;
// weekly: 1 Monday – 7 Sunday; off: the day is cleared).
func validStatementSchedule(st *models.StatementSettings) error {
	switch st.StatementSchedule {
	case models.StatementOff:
		st.StatementDay = 0
	case models.StatementMonthly:
		if st.StatementDay < 1 || st.StatementDay > 28 {
			return domain.RuleBroken("statement_day", "a monthly statement takes a day of the month from 1 to 28, got %d", st.StatementDay)
		}
	case models.StatementWeekly:
		if st.StatementDay < 1 || st.StatementDay > 7 {
			return domain.RuleBroken("statement_day", "a weekly statement takes a weekday from 1 (Monday) to 7 (Sunday), got %d", st.StatementDay)
		}
	default:
		return domain.Invalid("statement_schedule", "must be off, monthly or weekly, got %q", st.StatementSchedule)
	}
	return nil
}

// syncStatementSchedule makes the administration's Temporal Schedule match
// its statement setting: created or updated when on, deleted when off (or
// archived). It is idempotent: repeating the settings call repairs a
// schedule a Temporal outage left behind.
func (s *Service) syncStatementSchedule(ctx context.Context, adm *models.Administration) error {
	sc := s.temporal.ScheduleClient()
	id := workflows.StatementScheduleID(adm.ID)
	st := adm.StatementSettings
	if st.StatementSchedule == models.StatementOff || st.StatementSchedule == "" || adm.ArchivedAt != nil {
		err := sc.GetHandle(ctx, id).Delete(ctx)
		var nf *serviceerror.NotFound
		if err == nil || errors.As(err, &nf) {
			return nil
		}
		return scheduleErr(id, err)
	}
	opts, err := workflows.StatementScheduleOptions(adm.ID, string(st.StatementSchedule), st.StatementDay, adm.TimeZone)
	if err != nil {
		return domain.RuleBroken("statement_day", "%v", err)
	}
	_, err = sc.Create(ctx, opts)
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = sc.GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			sched.Spec = &opts.Spec
			sched.Action = opts.Action
			// A pause set by ops in the UI stays: the setting says when,
			// the pause says not now.
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		}})
	}
	if err != nil {
		return scheduleErr(id, err)
	}
	s.log.Info("statement schedule set", "administration_id", adm.ID, "schedule_id", id, "schedule", st.StatementSchedule, "day", st.StatementDay)
	return nil
}

func scheduleErr(id string, err error) error {
	if temporalUnavailable(err) {
		return fmt.Errorf("statement schedule %s: %w: %w", id, domain.ErrUnavailable, err)
	}
	return fmt.Errorf("statement schedule %s: %w", id, err)
}
