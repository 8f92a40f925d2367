package app_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
)

// TestJourneyChangeWhileTemporalIsDown: the change is stored, its operation
// is recorded failed with the reason, and the answer is ErrUnavailable (the
// API's 503), so that the caller repeats the request. Another
// organization does not see the operation.
func TestJourneyChangeWhileTemporalIsDown(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		adm, _ := reconcileFixture(t, gdb)
		svc := app.New(app.Options{DB: gdb, Temporal: deadTemporal(t), Logger: slog.New(slog.DiscardHandler)})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		j, err := svc.CreateJourney(ctx, adm, domain.JourneyInput{Name: "Kort", Steps: []journeys.Step{
			{OffsetDays: 0, Kind: "invoice"}, {OffsetDays: 7, Kind: "reminder"}}})
		require.NoError(t, err)
		_, op, err := svc.SetDefaultJourney(ctx, adm, j.ID)
		require.True(t, errors.Is(err, domain.ErrUnavailable), "%v", err)
		require.NotNil(t, op)

		var stored models.Administration
		require.NoError(t, gdb.First(&stored, adm.ID).Error)
		require.Equal(t, j.ID, *stored.DefaultJourneyID, "the change is stored")
		got, err := svc.Operation(ctx, adm.OrganizationID, op.ID)
		require.NoError(t, err)
		require.Equal(t, models.OperationFailed, got.State)
		require.Contains(t, got.LastError, "not started")
		require.NotNil(t, got.FinishedAt)
		_, err = svc.Operation(ctx, adm.OrganizationID+1000, op.ID)
		require.True(t, errors.Is(err, domain.ErrNotFound), "%v", err)
	})
}
