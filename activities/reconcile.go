package activities

import (
	"context"
	"errors"
	"fmt"
)

// ReconcileInput asks for one reconciliation pass.
type ReconcileInput struct {
	// Limit bounds the invoices handled in one pass.
	Limit int `json:"limit"`
}

// ReconcileResult counts what the pass did (app.ReconcileReport).
type ReconcileResult struct {
	Found   int `json:"found"`
	Started int `json:"started"`
	Running int `json:"running"`
	Failed  int `json:"failed"`
}

// ReconcileFunc runs one reconciliation pass: the application service's
// ReconcileJourneys, injected by the process that builds the worker
// (activities cannot import the application layer, which imports them
// through the workflows).
type ReconcileFunc func(ctx context.Context, limit int) (ReconcileResult, error)

// ReconcileJourneys starts the journeys of open invoices that have none
// running (see app.Service.ReconcileJourneys).
func (a *Activities) ReconcileJourneys(ctx context.Context, in ReconcileInput) (ReconcileResult, error) {
	if a.Reconcile == nil {
		return ReconcileResult{}, permanent(errors.New("this worker has no reconciler"))
	}
	res, err := a.Reconcile(ctx, max(in.Limit, 1))
	if err != nil {
		return res, fmt.Errorf("reconcile journeys: %w", err)
	}
	return res, nil
}
