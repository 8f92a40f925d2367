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
	"go.temporal.io/sdk/interceptor"
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
	// MaxCachedWorkflows bounds the sticky cache, shared by every worker of
	// the process (0: DefaultStickyCacheSize).
	MaxCachedWorkflows int
	// MaxActivities and MaxSMSActivities bound the activities running at
	// once on the main and the SMS task queue; MaxWorkflowTasks the
	// workflow tasks (0: the Default… constants).
	MaxActivities    int
	MaxSMSActivities int
	MaxWorkflowTasks int
	// WorkflowPollers and ActivityPollers are the long polls each worker
	// keeps open on its task queue (0: the Default… constants).
	WorkflowPollers int
	ActivityPollers int
	// DBMaxConns is the database pool the activities share (0: no cap). The
	// activity limits are capped to it, less DBReserve (see Limits).
	DBMaxConns int
	// Interceptors wrap every workflow and activity (tracing, tests).
	Interceptors []interceptor.WorkerInterceptor
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

// Defaults of the worker's bounds, sized for a day's burst on a few cores:
// a journey is busy for a second or two per step, so even when thousands
// of steps fall in one send window only the journeys of the last minutes
// need to stay cached, and a dozen sends in flight already keep an SMTP
// server and a 20-connection pool busy.
const (
	DefaultStickyCacheSize  = 2000
	DefaultMaxActivities    = 12
	DefaultMaxSMSActivities = 4
	DefaultMaxWorkflowTasks = 16
	// DefaultWorkflowPollers and DefaultActivityPollers replace the SDK's
	// two polls per queue. A poll returns one task, so a worker takes at
	// most pollers ÷ poll latency tasks a second: two polls against a
	// server on PostgreSQL (tens of milliseconds a poll under load) planned
	// the 100,000-invoice book slower than it was started, with most of the
	// workflow-task slots idle. The sticky and the normal queue share the
	// workflow polls.
	DefaultWorkflowPollers = 8
	DefaultActivityPollers = 4
	// DBReserve is the part of the pool activities never take: the health
	// checks and the SMS limiter's completion writes.
	DBReserve = 2
)

// Limits are the bounds a worker process runs with.
type Limits struct {
	StickyCache   int
	Activities    int
	SMSActivities int
	WorkflowTasks int
	// WorkflowPollers and ActivityPollers are the long polls per task
	// queue; never more than the slots they feed (but two workflow polls
	// at least).
	WorkflowPollers int
	ActivityPollers int
	// Capped reports that the activity limits were lowered to fit the pool.
	Capped bool
}

// Limits resolves the options' bounds: defaults for zeros, and the two
// activity limits capped so that together they never exceed the database
// pool less DBReserve. Each running activity may then hold a connection
// without waiting for one: a send whose outcome waited on the pool past its
// timeout would turn a delivered message into an uncertain one. When the cap
// bites, the SMS queue keeps at least one slot and at most a quarter.
func (o Options) Limits() Limits {
	l := Limits{
		StickyCache:   orDefault(o.MaxCachedWorkflows, DefaultStickyCacheSize),
		Activities:    orDefault(o.MaxActivities, DefaultMaxActivities),
		SMSActivities: orDefault(o.MaxSMSActivities, DefaultMaxSMSActivities),
		WorkflowTasks: orDefault(o.MaxWorkflowTasks, DefaultMaxWorkflowTasks),
	}
	if budget := max(o.DBMaxConns-DBReserve, 2); o.DBMaxConns > 0 && l.Activities+l.SMSActivities > budget {
		l.Capped = true
		l.SMSActivities = max(1, min(l.SMSActivities, budget/4))
		l.Activities = max(1, min(l.Activities, budget-l.SMSActivities))
	}
	// The SDK needs two workflow polls at least (it panics on one: sticky
	// and normal).
	l.WorkflowPollers = max(2, pollers(orDefault(o.WorkflowPollers, DefaultWorkflowPollers), l.WorkflowTasks))
	l.ActivityPollers = pollers(orDefault(o.ActivityPollers, DefaultActivityPollers), l.Activities)
	return l
}

// pollers is how many polls to keep open for a queue with slots task
// slots when want are asked for: a poll holding a task no slot can run
// only delays it.
func pollers(want, slots int) int {
	return max(1, min(want, slots))
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

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
	w.RegisterWorkflowWithOptions(workflows.CustomerStatement, workflow.RegisterOptions{Name: workflows.CustomerStatementName})
	w.RegisterWorkflowWithOptions(workflows.StatementRun, workflow.RegisterOptions{Name: workflows.StatementRunName})
	w.RegisterWorkflowWithOptions(workflows.InboxReply, workflow.RegisterOptions{Name: workflows.InboxReplyName})
	w.RegisterWorkflowWithOptions(workflows.JourneyChange, workflow.RegisterOptions{Name: workflows.JourneyChangeName})
	w.RegisterWorkflowWithOptions(workflows.CustomerBundle, workflow.RegisterOptions{Name: workflows.CustomerBundleName})
	w.RegisterActivity(acts)
}

// New creates the two workers: the main task queue, and the SMS queue whose
// activity rate is limited server-side.
func New(c client.Client, acts *activities.Activities, opt Options) []sdkworker.Worker {
	lim := opt.Limits()
	// Process-wide, and read when the first worker starts.
	sdkworker.SetStickyWorkflowCacheSize(lim.StickyCache)
	if acts.Cases == nil {
		// The journeys' hand-over starts case workflows on this cluster.
		acts.Cases = workflows.CaseStarter{Client: c}
	}
	if acts.Bundles == nil {
		// Sends start and nudge customers' bundles on this cluster.
		acts.Bundles = workflows.BundleStarter{Client: c}
	}
	if acts.Signals == nil {
		// Journey-change operations signal the journeys on this cluster.
		acts.Signals = c
	}
	stop := opt.stopTimeout()
	main := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		WorkerStopTimeout:                       stop,
		MaxConcurrentActivityExecutionSize:      lim.Activities,
		MaxConcurrentLocalActivityExecutionSize: lim.Activities,
		MaxConcurrentWorkflowTaskExecutionSize:  lim.WorkflowTasks,
		MaxConcurrentWorkflowTaskPollers:        lim.WorkflowPollers,
		MaxConcurrentActivityTaskPollers:        lim.ActivityPollers,
		Interceptors:                            opt.Interceptors,
	})
	Register(main, acts)
	rate := opt.SMSPerSecond
	if rate <= 0 {
		rate = 30
	}
	sms := sdkworker.New(c, workflows.SMSTaskQueue, sdkworker.Options{
		TaskQueueActivitiesPerSecond:       rate,
		DisableWorkflowWorker:              true,
		WorkerStopTimeout:                  stop,
		MaxConcurrentActivityExecutionSize: lim.SMSActivities,
		MaxConcurrentActivityTaskPollers:   pollers(lim.ActivityPollers, lim.SMSActivities),
		Interceptors:                       opt.Interceptors,
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
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	lim := opt.Limits()
	if lim.Capped {
		log.Warn("activity concurrency lowered to fit the database pool", "db_max_conns", opt.DBMaxConns,
			"activities", lim.Activities, "sms_activities", lim.SMSActivities)
	}
	log.Info("worker limits", "sticky_cache", lim.StickyCache, "activities", lim.Activities,
		"sms_activities", lim.SMSActivities, "workflow_tasks", lim.WorkflowTasks,
		"workflow_pollers", lim.WorkflowPollers, "activity_pollers", lim.ActivityPollers)
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
