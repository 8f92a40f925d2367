package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"

	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
)

// Signaller sends a signal to a running workflow: the worker's Temporal
// client (client.Client has this method).
type Signaller interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// JourneyChanged is the payload of the journey-changed signal
// (workflows.JourneyChangedSignal is this type).
type JourneyChanged struct {
	JourneyID int64 `json:"journey_id"`
}

// JourneyChangeScope names an operation and the running journeys it
// reaches: the open invoices with a journey whose customer follows
// JourneyID, and, when Unassigned (JourneyID is the administration's
// default), those whose customer has no journey of its own.
type JourneyChangeScope struct {
	OperationID      int64 `json:"operation_id"`
	AdministrationID int64 `json:"administration_id"`
	JourneyID        int64 `json:"journey_id"`
	Unassigned       bool  `json:"unassigned,omitempty"`
}

// invoices selects the scope's invoices (keyset pagination on invoices.id).
func (sc JourneyChangeScope) invoices(db *gorm.DB) *gorm.DB {
	q := db.Model(&models.Invoice{}).
		Joins("JOIN customers ON customers.id = invoices.customer_id").
		Where("invoices.administration_id = ? AND invoices.status = ? AND invoices.workflow_id <> ''", sc.AdministrationID, models.InvoiceOpen)
	if sc.Unassigned {
		return q.Where("(customers.journey_id = ? OR customers.journey_id IS NULL)", sc.JourneyID)
	}
	return q.Where("customers.journey_id = ?", sc.JourneyID)
}

// BeginJourneyChange counts the running journeys the change reaches and
// records that total on the operation.
func (a *Activities) BeginJourneyChange(ctx context.Context, sc JourneyChangeScope) (int, error) {
	var n int64
	if err := sc.invoices(a.DB.WithContext(ctx)).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count journeys of operation %d: %w", sc.OperationID, err)
	}
	if err := a.DB.WithContext(ctx).Model(&models.Operation{}).Where("id = ?", sc.OperationID).
		Updates(map[string]any{"total": n, "updated_at": a.now()}).Error; err != nil {
		return 0, fmt.Errorf("record total of operation %d: %w", sc.OperationID, err)
	}
	return int(n), nil
}

// JourneyChangePageInput asks for one page of a journey change: the
// journeys after invoice After (keyset), at most Size of them, with the
// operation's counts before this page (so that a retried page writes the
// same progress, not twice as much).
type JourneyChangePageInput struct {
	Scope   JourneyChangeScope `json:"scope"`
	Signal  string             `json:"signal"`
	After   int64              `json:"after"`
	Size    int                `json:"size"`
	Reached int                `json:"reached"`
	Skipped int                `json:"skipped"`
	Errors  int                `json:"errors"`
}

// JourneyChangePageResult is what one page did: Last is the cursor of the
// next page; Done when the page was the last.
type JourneyChangePageResult struct {
	Last      int64  `json:"last"`
	Count     int    `json:"count"`
	Reached   int    `json:"reached"`
	Skipped   int    `json:"skipped"`
	Errors    int    `json:"errors"`
	Done      bool   `json:"done"`
	LastError string `json:"last_error,omitempty"`
}

// JourneyChangeAttempts is how many times a page is tried while some of
// its signals fail; on the last attempt the journeys still failing are
// counted as errors and the change goes on. Signalling again a journey
// that was told already is harmless: it plans its future steps again.
const JourneyChangeAttempts = 3

// signalConcurrency bounds the signals of one page in flight.
const signalConcurrency = 16

// JourneyChangePage signals one page of the scope's running journeys and
// records the operation's progress (and its completion after the last page).
func (a *Activities) JourneyChangePage(ctx context.Context, in JourneyChangePageInput) (JourneyChangePageResult, error) {
	if a.Signals == nil {
		return JourneyChangePageResult{}, permanent(errors.New("this worker has no Temporal client to signal journeys"))
	}
	size := max(in.Size, 1)
	var rows []struct {
		ID         int64
		WorkflowID string
	}
	if err := in.Scope.invoices(a.DB.WithContext(ctx)).Where("invoices.id > ?", in.After).
		Order("invoices.id").Limit(size).Select("invoices.id, invoices.workflow_id").Scan(&rows).Error; err != nil {
		return JourneyChangePageResult{}, fmt.Errorf("page of operation %d after invoice %d: %w", in.Scope.OperationID, in.After, err)
	}
	res := JourneyChangePageResult{Last: in.After, Count: len(rows), Done: len(rows) < size}
	if len(rows) > 0 {
		res.Last = rows[len(rows)-1].ID
	}
	payload := JourneyChanged{JourneyID: in.Scope.JourneyID}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		last error
	)
	sem := make(chan struct{}, signalConcurrency)
	for _, r := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := a.Signals.SignalWorkflow(ctx, r.WorkflowID, "", in.Signal, payload)
			var nf *serviceerror.NotFound
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				metrics.JourneySignaled(in.Signal, metrics.SignalOK)
				res.Reached++
			case errors.As(err, &nf):
				metrics.JourneySignaled(in.Signal, metrics.SignalNotRunning)
				res.Skipped++ // ended since the page was read: nothing to re-plan
			default:
				metrics.JourneySignaled(in.Signal, metrics.SignalError)
				res.Errors++
				last = fmt.Errorf("signal %s: %w", r.WorkflowID, err)
			}
		})
	}
	wg.Wait()
	if last != nil {
		res.LastError = last.Error()
		if activity.GetInfo(ctx).Attempt < JourneyChangeAttempts {
			return JourneyChangePageResult{}, fmt.Errorf("operation %d: %d of %d journeys not signalled: %w", in.Scope.OperationID, res.Errors, len(rows), last)
		}
	}
	set := map[string]any{
		"reached": in.Reached + res.Reached, "skipped": in.Skipped + res.Skipped, "errors": in.Errors + res.Errors,
		"updated_at": a.now(),
	}
	if res.LastError != "" {
		set["last_error"] = res.LastError
	}
	if res.Done {
		set["state"], set["finished_at"] = models.OperationCompleted, a.now()
	}
	if err := a.DB.WithContext(ctx).Model(&models.Operation{}).Where("id = ?", in.Scope.OperationID).Updates(set).Error; err != nil {
		return JourneyChangePageResult{}, fmt.Errorf("record progress of operation %d: %w", in.Scope.OperationID, err)
	}
	activity.RecordHeartbeat(ctx, res.Last)
	return res, nil
}

// OperationFailure records that an operation gave up.
type OperationFailure struct {
	OperationID int64  `json:"operation_id"`
	Error       string `json:"error"`
}

// FailOperation marks an operation failed with its error.
func (a *Activities) FailOperation(ctx context.Context, in OperationFailure) error {
	now := a.now()
	err := a.DB.WithContext(ctx).Model(&models.Operation{}).Where("id = ?", in.OperationID).
		Updates(map[string]any{"state": models.OperationFailed, "last_error": in.Error, "finished_at": now, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("record failure of operation %d: %w", in.OperationID, err)
	}
	return nil
}
