package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

// BundleInput starts the bundle of one customer and currency
// (docs/bundling.md). It carries no invoices: the journeys' requests are
// rows the SendBundle activity reads, so the workflow's history stays the
// same size whatever the number of invoices.
type BundleInput struct {
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	Currency         string `json:"currency"`
	// Window is how long the bundle collects requests before it sends.
	Window time.Duration `json:"window"`
	// Rounds counts the sends of the runs before this one (continue-as-new).
	Rounds int `json:"rounds,omitempty"`
}

// BundleResult counts what a run of the bundle sent.
type BundleResult struct {
	Rounds int `json:"rounds"`
	Items  int `json:"items"`
}

// BundleNudgeSignal tells the bundle that a request row waits, and its kind.
type BundleNudgeSignal struct {
	InvoiceID int64           `json:"invoice_id"`
	Kind      policy.StepKind `json:"kind,omitempty"`
}

// bundleOptions: rendering and answering thousands of journeys takes
// longer than one step's send, so the attempt has more time, and it
// heartbeats. A round that carries an SMS step runs on the rate-limited
// SMS queue (bundleSMSOptions); the others do not wait for the SMS rate
// (an SMS step swept in with them still waits for the SMS client's own
// limiter).
var bundleOptions = workflow.ActivityOptions{
	TaskQueue:              TaskQueue,
	StartToCloseTimeout:    10 * time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	HeartbeatTimeout:       time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        5 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
	},
}

var bundleSMSOptions = func() workflow.ActivityOptions {
	o := bundleOptions
	o.TaskQueue = SMSTaskQueue
	return o
}()

// bundleHistoryLimit bounds a bundle's history: each nudge costs a few
// events (its signal, often a workflow task) and each round about ten, so
// a window of thousands of steps is sent early and the run continues as
// new, long before Temporal's limits.
const bundleHistoryLimit = 2000

// CustomerBundle collects a customer's reminders of one send window and
// sends them as one message per channel: it waits Window after its start
// (the journeys' requests arrive as nudges), runs SendBundle, which sends
// the bundle and answers each journey, and ends — unless requests arrived
// while it sent, then it collects and sends again.
func CustomerBundle(ctx workflow.Context, in BundleInput) (BundleResult, error) {
	if in.AdministrationID <= 0 || in.CustomerID <= 0 || len(in.Currency) != 3 {
		return BundleResult{}, temporal.NewNonRetryableApplicationError("bundle input needs administration, customer and currency", "InvalidInput", nil)
	}
	info := workflow.GetInfo(ctx)
	logger := log.With(workflow.GetLogger(ctx), "administration", in.AdministrationID, "customer", in.CustomerID, "currency", in.Currency)
	nudges := workflow.GetSignalChannel(ctx, SignalBundleNudge)
	// sms: a nudge of this round is an SMS step's.
	sms := false
	drain := func() bool {
		got := false
		for {
			var s BundleNudgeSignal
			if !nudges.ReceiveAsync(&s) {
				return got
			}
			got = true
			sms = sms || s.Kind == policy.StepSMS
		}
	}
	window := max(in.Window, 0)
	res := BundleResult{}
	round := in.Rounds
	for {
		if window > 0 {
			// Each nudge costs a few history events: a window that brings
			// thousands of them is sent early, and the run continues as
			// new after it, so that the history stays bounded.
			if _, err := workflow.AwaitWithTimeout(ctx, window, func() bool {
				return workflow.GetInfo(ctx).GetCurrentHistoryLength() > bundleHistoryLimit
			}); err != nil {
				return res, err
			}
		}
		// The requests nudged so far are rows SendBundle reads now.
		drain()
		opts := bundleOptions
		if sms {
			opts = bundleSMSOptions
		}
		round++
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("Sending round %d of the bundle", round))
		var out activities.SendBundleResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.SendBundle, activities.SendBundleInput{
			WorkflowID: info.WorkflowExecution.ID, AdministrationID: in.AdministrationID, CustomerID: in.CustomerID,
			Currency: in.Currency, Key: BundleKey(info.WorkflowExecution.ID, info.WorkflowExecution.RunID, round),
			At: workflow.Now(ctx),
		}).Get(ctx, &out)
		var canceled *temporal.CanceledError
		switch {
		case errors.As(err, &canceled):
			return res, err
		case err != nil:
			// The requests stay queued: the next round (or, if none comes,
			// each journey asking again after a day) sends them.
			logger.Error("bundle failed after retries", "round", round, "error", err)
		default:
			res.Rounds++
			res.Items += out.Items
			logger.Info("bundle sent", "round", round, "items", out.Items, "answered", out.Answered, "held", out.Held, "kind", out.Kind)
		}
		// Nudges that arrived while it sent may be requests it did not see.
		sms = false
		if !drain() {
			workflow.SetCurrentDetails(ctx, fmt.Sprintf("Done: %d rounds, %d items", res.Rounds, res.Items))
			return res, nil
		}
		if info := workflow.GetInfo(ctx); info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > bundleHistoryLimit {
			next := in
			next.Rounds = round
			return res, workflow.NewContinueAsNewError(ctx, CustomerBundle, next)
		}
	}
}

// BundleKey is the outbox stem of one round of a bundle: unique per round
// and stable across the activity's retries.
func BundleKey(workflowID, runID string, round int) string {
	return fmt.Sprintf("%s/%s/%d", workflowID, runID, round)
}

// BundleStarter nudges customers' bundles with signal-with-start: the
// first request of a window starts the bundle, the later ones signal it,
// in one call that cannot start it twice (activities.BundleStarter).
type BundleStarter struct {
	Client client.Client
}

// BundleStartOptions are the start options of a bundle's workflow: its
// readable ID, the search attributes that find it in the UI, a summary.
// A bundle ends after it sent, so its ID is reused by the next window.
func BundleStartOptions(j activities.BundleJoin) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       BundleWorkflowID(j.AdministrationID, j.CustomerID, j.Currency),
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrAdministration.ValueSet(AdministrationKey(j.AdministrationID)),
			AttrCustomer.ValueSet(j.CustomerRef),
		),
		StaticSummary: j.Summary,
	}
}

// JoinBundle nudges the customer's bundle, starting it when none runs.
func (s BundleStarter) JoinBundle(ctx context.Context, j activities.BundleJoin) (string, error) {
	if s.Client == nil {
		return "", fmt.Errorf("no Temporal client to start the bundle of customer %d", j.CustomerID)
	}
	opts := BundleStartOptions(j)
	in := BundleInput{AdministrationID: j.AdministrationID, CustomerID: j.CustomerID, Currency: j.Currency, Window: j.Window}
	if _, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, SignalBundleNudge, BundleNudgeSignal{InvoiceID: j.InvoiceID, Kind: j.Kind}, opts, CustomerBundleName, in); err != nil {
		return "", fmt.Errorf("signal-with-start bundle %s: %w", opts.ID, err)
	}
	return opts.ID, nil
}
