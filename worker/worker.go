// Package worker registers Relance's workflows and activities on the task
// queues and runs them until the context ends.
package worker

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/workflows"
)

// Options tune the worker processes.
type Options struct {
	// SMSPerSecond is the Vonage account's rate; the server enforces it on
	// the SMS task queue across all workers.
	SMSPerSecond float64
	// MaxCachedWorkflows bounds the sticky cache (0: the SDK's default).
	MaxCachedWorkflows int
}

// Register puts every workflow and the activities on w.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.InvoiceJourney, workflow.RegisterOptions{Name: workflows.InvoiceJourneyName})
	w.RegisterActivity(acts)
}

// New creates the two workers: the main task queue, and the SMS queue whose
// activity rate is limited server-side.
func New(c client.Client, acts *activities.Activities, opt Options) []sdkworker.Worker {
	if opt.MaxCachedWorkflows > 0 {
		sdkworker.SetStickyWorkflowCacheSize(opt.MaxCachedWorkflows)
	}
	main := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{})
	Register(main, acts)
	rate := opt.SMSPerSecond
	if rate <= 0 {
		rate = 30
	}
	sms := sdkworker.New(c, workflows.SMSTaskQueue, sdkworker.Options{
		TaskQueueActivitiesPerSecond: rate,
		DisableWorkflowWorker:        true,
	})
	sms.RegisterActivity(acts)
	return []sdkworker.Worker{main, sms}
}

// Run starts the workers and blocks until ctx ends, then stops them.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opt Options) error {
	ws := New(c, acts, opt)
	for i, w := range ws {
		if err := w.Start(); err != nil {
			for _, s := range ws[:i] {
				s.Stop()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	<-ctx.Done()
	for _, w := range ws {
		w.Stop()
	}
	return nil
}
