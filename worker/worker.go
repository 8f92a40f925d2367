// Package worker registers Relance's workflows and activities on the task
// queues and runs them until the context ends.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

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
	// StopTimeout is how long a stopping worker (SIGTERM, a deploy) lets
	// running activities finish before cancelling them; 0 means
	// DefaultStopTimeout. A send cancelled while the provider holds the
	// message cannot know whether it was accepted, so it must be rare.
	StopTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ReconcileEvery is the interval of the journey reconciler's Schedule,
	// created (or brought to this interval) at start; 0 leaves it alone.
	ReconcileEvery time.Duration
}

// DefaultStopTimeout lets a send in flight finish on SIGTERM (an SMTP step
// times out after 30 s at most, an SMS request after 10 s) and stays under
// Kubernetes' default 30 s grace period.
const DefaultStopTimeout = 20 * time.Second

func (o Options) stopTimeout() time.Duration {
	if o.StopTimeout > 0 {
		return o.StopTimeout
	}
	return DefaultStopTimeout
}

// Register puts every workflow and the activities on w.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.InvoiceJourney, workflow.RegisterOptions{Name: workflows.InvoiceJourneyName})
	w.RegisterWorkflowWithOptions(workflows.CollectionCase, workflow.RegisterOptions{Name: workflows.CollectionCaseName})
	w.RegisterWorkflowWithOptions(workflows.ReconcileJourneys, workflow.RegisterOptions{Name: workflows.ReconcileJourneysName})
	w.RegisterActivity(acts)
}

// New creates the two workers: the main task queue, and the SMS queue whose
// activity rate is limited server-side.
func New(c client.Client, acts *activities.Activities, opt Options) []sdkworker.Worker {
	if opt.MaxCachedWorkflows > 0 {
		sdkworker.SetStickyWorkflowCacheSize(opt.MaxCachedWorkflows)
	}
	if acts.Cases == nil {
		// The journeys' hand-over starts case workflows on this cluster.
		acts.Cases = workflows.CaseStarter{Client: c}
	}
	stop := opt.stopTimeout()
	main := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{WorkerStopTimeout: stop})
	Register(main, acts)
	rate := opt.SMSPerSecond
	if rate <= 0 {
		rate = 30
	}
	sms := sdkworker.New(c, workflows.SMSTaskQueue, sdkworker.Options{
		TaskQueueActivitiesPerSecond: rate,
		DisableWorkflowWorker:        true,
		WorkerStopTimeout:            stop,
	})
	sms.RegisterActivity(acts)
	return []sdkworker.Worker{main, sms}
}

// ReconcileLimit is how many invoices one reconciler pass starts at most.
const ReconcileLimit = 500

// EnsureReconcileSchedule creates the Schedule that runs the journey
// reconciler every interval, or brings an existing one to that interval:
// every worker calls it at start, so it is idempotent. The Schedule skips
// a pass while the previous one runs.
func EnsureReconcileSchedule(ctx context.Context, c client.Client, every time.Duration) error {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      workflows.ReconcileScheduleID,
		Spec:    spec,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID:                  workflows.ReconcileWorkflowID,
			Workflow:            workflows.ReconcileJourneysName,
			Args:                []any{activities.ReconcileInput{Limit: ReconcileLimit}},
			TaskQueue:           workflows.TaskQueue,
			WorkflowRunTimeout:  10 * time.Minute,
			WorkflowTaskTimeout: 10 * time.Second,
		},
		Note: "Starts the journeys of open invoices that have none (Temporal was down at their import, a start failed).",
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		h := c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			if sched.Spec != nil && len(sched.Spec.Intervals) == 1 && sched.Spec.Intervals[0].Every == every {
				return nil, temporal.ErrSkipScheduleUpdate // as wanted
			}
			sched.Spec = &spec
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		}})
	}
	if err != nil {
		return fmt.Errorf("ensure the reconciler's schedule: %w", err)
	}
	return nil
}

// Run starts the workers and blocks until ctx ends, then stops them.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opt Options) error {
	if opt.ReconcileEvery > 0 {
		if err := EnsureReconcileSchedule(ctx, c, opt.ReconcileEvery); err != nil {
			return err
		}
	}
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
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Info("worker stopping: running activities may finish", "timeout", opt.stopTimeout())
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Stop()
		}()
	}
	wg.Wait()
	log.Info("worker stopped")
	return nil
}
