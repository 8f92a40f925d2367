package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// Bounds of a manual action: the journey must accept it (its validator)
// within actionAcceptTimeout, and the request waits at most the service's
// ActionWait (DefaultActionWait) for the send's outcome; past that the action is answered as pending, while
// the journey sends it (its send retries for up to a day on a provider
// outage, which no HTTP request may wait for).
const (
	actionAcceptTimeout = 15 * time.Second
	// DefaultActionWait is how long SendAction waits for the send's outcome.
	DefaultActionWait = 10 * time.Second
	// MaxActionSubject and MaxActionBody bound an edited text.
	MaxActionSubject = 255
	MaxActionBody    = 20000
)

// actionKey is the shape of an idempotency key: it becomes the Update's ID
// and part of the outbox keys.
var actionKey = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ValidActionKey reports whether key can be a manual action's idempotency key.
func ValidActionKey(key string) bool { return actionKey.MatchString(key) }

// SendAction sends a step of an open invoice's journey now (the send-now
// Update, whose ID is in.Key: a repeated request is answered with the first
// one's outcome and sends nothing again). Bad input is a FieldError (400);
// a closed invoice, an edited automatic step and whatever the journey
// refuses (disputed, handed over, a kind it has no step of) break a rule
// (422); a journey that has ended is a conflict; Temporal down is
// ErrUnavailable.
func (s *Service) SendAction(ctx context.Context, inv *models.Invoice, in domain.ActionInput) (domain.ActionResult, error) {
	if err := checkAction(in); err != nil {
		return domain.ActionResult{}, err
	}
	if inv.Status != models.InvoiceOpen {
		return domain.ActionResult{}, domain.RuleBroken("invoice", "invoice %s is %s: nothing to send", inv.Number, inv.Status)
	}
	if inv.WorkflowID == "" {
		return domain.ActionResult{}, fmt.Errorf("invoice %s has no journey: %w: %w", inv.Number, domain.ErrConflict, domain.ErrJourneyEnded)
	}
	if s.temporal == nil {
		return domain.ActionResult{}, fmt.Errorf("action on invoice %s: %w: no Temporal client", inv.Number, domain.ErrUnavailable)
	}
	req := workflows.SendNowRequest{Kind: in.Kind, Position: in.Position, Channels: in.Channels, Subject: in.Subject, Body: in.Body}
	actx, cancel := context.WithTimeout(ctx, actionAcceptTimeout)
	defer cancel()
	h, err := s.temporal.UpdateWorkflow(actx, client.UpdateWorkflowOptions{
		UpdateID: in.Key, WorkflowID: inv.WorkflowID, UpdateName: workflows.UpdateSendNow, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		return domain.ActionResult{}, s.actionErr(inv, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, s.actionWait)
	defer wcancel()
	var res workflows.SendNowResult
	out := domain.ActionResult{Key: in.Key}
	if err := h.Get(wctx, &res); err != nil {
		var app *temporal.ApplicationError
		switch {
		case workflows.IsRefused(err), journeyEnded(err), ctx.Err() != nil:
			// Refused when the journey came to it (its state had moved),
			// or the journey or the request is gone.
			return domain.ActionResult{}, s.actionErr(inv, err)
		case errors.As(err, &app):
			// The send failed after its retries: an outcome, not an
			// error of the request (the timeline shows the failed rows).
			s.log.Error("manual action failed", "invoice_id", inv.ID, "key", in.Key, "error", err)
			out.Failed, out.Reason = true, workflows.ReasonSendFailed
			return out, nil
		default:
			// Accepted — the journey's history holds it, it will be sent —
			// and no outcome within the wait (its deadline, as the client
			// or the server saw it): pending.
			metrics.JourneySignaled(workflows.UpdateSendNow, metrics.SignalOK)
			s.log.Info("manual action pending", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "key", in.Key, "wait", err)
			out.Pending = true
			return out, nil
		}
	}
	metrics.JourneySignaled(workflows.UpdateSendNow, metrics.SignalOK)
	out.Skipped, out.Reason, out.Stage = res.Skipped, res.Reason, res.Stage
	out.HandedOver = res.Reason == workflows.ReasonHandedOver
	out.Failed = !res.Sent && !res.Skipped
	for _, o := range res.Outcomes {
		out.Outcomes = append(out.Outcomes, domain.ActionOutcome{Channel: o.Channel, State: o.State, Reason: o.Reason, MessageID: o.MessageID})
	}
	s.log.Info("manual action sent", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "key", in.Key,
		"kind", in.Kind, "stage", res.Stage, "skipped", res.Skipped)
	return out, nil
}

// checkAction reads the action's own fields, before the journey is asked.
func checkAction(in domain.ActionInput) error {
	switch {
	case !ValidActionKey(in.Key):
		return domain.Invalid("idempotency_key", "must be 1 to 64 letters, digits or . _ : -")
	case !in.Kind.Valid():
		return domain.Invalid("kind", "unknown step kind %q", in.Kind)
	case in.Position != nil && (in.Subject != "" || in.Body != ""):
		return domain.RuleBroken("body", "the text of an automatic step cannot be edited; send a manual action (without step) to write your own")
	case utf8.RuneCountInString(in.Subject) > MaxActionSubject:
		return domain.Invalid("subject", "is longer than %d characters", MaxActionSubject)
	case utf8.RuneCountInString(in.Body) > MaxActionBody:
		return domain.Invalid("body", "is longer than %d characters", MaxActionBody)
	case in.Subject != "" && strings.ContainsAny(in.Subject, "\r\n"):
		return domain.Invalid("subject", "must be one line")
	}
	for i, c := range in.Channels {
		switch c {
		case policy.ChannelEmail, policy.ChannelPost, policy.ChannelSMS:
		default:
			return domain.Invalid(fmt.Sprintf("channels[%d]", i), "unknown channel %q (email, post or sms)", c)
		}
	}
	return nil
}

// actionErr maps the answer of Temporal to a manual action.
func (s *Service) actionErr(inv *models.Invoice, err error) error {
	switch {
	case workflows.IsRefused(err):
		metrics.JourneySignaled(workflows.UpdateSendNow, metrics.SignalRefused)
		var app *temporal.ApplicationError
		errors.As(err, &app)
		return domain.RuleBroken("kind", "the journey refused the action: %s", app.Message())
	case journeyEnded(err):
		metrics.JourneySignaled(workflows.UpdateSendNow, metrics.SignalNotRunning)
		return fmt.Errorf("action on invoice %s: the journey has ended: %w: %w", inv.Number, domain.ErrConflict, domain.ErrJourneyEnded)
	default:
		metrics.JourneySignaled(workflows.UpdateSendNow, metrics.SignalError)
		return fmt.Errorf("action on invoice %s: %w: %w", inv.Number, domain.ErrUnavailable, err)
	}
}
