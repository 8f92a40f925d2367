package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/app"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// TestStartJourneyOnce: a second start of the same invoice's journey, while
// it runs, is a no-op that says so (imports count the journeys they start).
func TestStartJourneyOnce(t *testing.T) {
	_, tc := testkit.DevServer(t)
	adm := &models.Administration{ID: 41, Name: "A"}
	cust := &models.Customer{ID: 7, ExternalRef: "C-7", Name: "C"}
	inv := &models.Invoice{ID: 9, Number: "F-9", Currency: "EUR", OpenMinor: 100,
		IssueDate: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), DueDate: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	started, err := app.New(app.Options{Temporal: tc}).StartJourney(ctx, adm, cust, inv)
	require.NoError(t, err)
	require.True(t, started)
	started, err = app.New(app.Options{Temporal: tc}).StartJourney(ctx, adm, cust, inv)
	require.NoError(t, err)
	require.False(t, started, "already running: not started again")
}
