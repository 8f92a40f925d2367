package activities

import (
	"context"
	"time"

	"github.com/relance/relance/policy"
)

// BundledKind reports whether steps of kind k go out in the customer's
// bundle when the administration bundles: reminders, final reminders and
// SMS steps. The invoice itself, collection notices (the case's) and
// statements never do.
func BundledKind(k policy.StepKind) bool {
	switch k {
	case policy.StepReminder, policy.StepFinalReminder, policy.StepSMS:
		return true
	}
	return false
}

// The reasons a bundle gives a journey for not sending its step now.
const (
	// ReasonBelowMinimum: the customer's overdue total in the currency is
	// under the administration's minimum amount; the step is held, and
	// the journey asks again a day later (or a bundle over the minimum takes
	// it along before that).
	ReasonBelowMinimum = "below_minimum_amount"
	// ReasonCustomerGap: the customer's last bundle went out less than the
	// administration's minimum gap ago; the step moves to NotBefore.
	ReasonCustomerGap = "customer_min_gap"
	// ReasonRequeued: the invoice was paused, disputed or moved to another
	// customer while it waited; the journey takes the step back and asks
	// again when it may (a moved invoice joins its new customer's bundle).
	ReasonRequeued = "requeued"
)

// BundleJoin is what a bundle's workflow is started (or signalled) with.
type BundleJoin struct {
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	CustomerRef      string `json:"customer_ref"`
	Currency         string `json:"currency"`
	// InvoiceID is the invoice whose step asks to join (for the logs).
	InvoiceID int64 `json:"invoice_id"`
	// Kind is the step's kind: a bundle that carries an SMS step sends on
	// the rate-limited SMS task queue.
	Kind policy.StepKind `json:"kind"`
	// Window is how long the bundle collects after its first request.
	Window  time.Duration `json:"window"`
	Summary string        `json:"summary"`
}

// BundleStarter nudges the customer's bundle workflow with
// signal-with-start (workflows.BundleStarter); the request itself is a
// BundleRequest row, not a payload.
type BundleStarter interface {
	JoinBundle(ctx context.Context, j BundleJoin) (workflowID string, err error)
}

// BundleAnswer is the signal a bundle sends a journey about one of its
// steps (workflows.SignalBundleAnswer). Exactly one of three: Result (the
// step went out in the bundle, or was skipped, e.g. invoice closed);
// NotBefore (the step waits until then: minimum gap or minimum amount);
// Requeue (the journey takes the step back as planned).
type BundleAnswer struct {
	StepKey   string     `json:"step_key"`
	BundleKey string     `json:"bundle_key,omitempty"`
	Result    SendResult `json:"result"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	Requeue   bool       `json:"requeue,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// SendBundleInput sends the bundle of one customer and currency: every
// pending request (and the held ones, once the minimum is reached) at the
// moment it runs. Key is the bundle's outbox stem, unique per bundle and
// stable across retries; At is the bundle's clock (workflow time).
type SendBundleInput struct {
	WorkflowID       string    `json:"workflow_id"`
	AdministrationID int64     `json:"administration_id"`
	CustomerID       int64     `json:"customer_id"`
	Currency         string    `json:"currency"`
	Key              string    `json:"key"`
	At               time.Time `json:"at"`
}

// SendBundleResult counts what the bundle did; the journeys have been
// answered (signalled) by the activity itself.
type SendBundleResult struct {
	// Items went out in the bundle; Answered were answered without a send
	// (closed, requeued, gap); Held wait under the minimum amount.
	Items    int `json:"items"`
	Answered int `json:"answered"`
	Held     int `json:"held"`
	// Outcomes are the bundle's messages, one per channel.
	Outcomes []ChannelOutcome `json:"outcomes,omitempty"`
	// Kind is the highest step kind of the bundle (its template).
	Kind policy.StepKind `json:"kind,omitempty"`
	Sent bool            `json:"sent"`
}

// BundleWindowFor is the default collection window of a bundle: five
// minutes at the real day length (a customer's steps of one day are spread
// to one instant, schedule.Spread), a tenth of a scaled day.
func BundleWindowFor(day time.Duration) time.Duration {
	if day <= 0 || day == 24*time.Hour {
		return 5 * time.Minute
	}
	return day / 10
}
