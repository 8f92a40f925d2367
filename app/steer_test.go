package app_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

// TestSteeringKeepsRowAndJourneyTogether: pause, resume and dispute go
// through the journey's Updates; a refused one writes nothing anywhere; the
// journey writes every accepted change on the row, a pause sent as a signal
// (from the Temporal UI or CLI) too; a journey that ended is recognised by
// the error's type.
func TestSteeringKeepsRowAndJourneyTogether(t *testing.T) {
	gdb := testkit.SQLite(t)
	_, tc := testkit.DevServer(t)
	quiet := slog.New(slog.DiscardHandler)
	acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour, Logger: quiet,
		Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(wctx, tc, acts, worker.Options{Logger: quiet}) }()
	t.Cleanup(func() { stop(); <-done })

	adm, cust := reconcileFixture(t, gdb)
	svc := app.New(app.Options{DB: gdb, Temporal: tc, Logger: quiet})
	ctx := context.Background()
	inv := &models.Invoice{Number: "S-1", IssueDate: time.Now().UTC().AddDate(0, 0, 10), DueDate: time.Now().UTC().AddDate(0, 0, 40),
		Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000}
	require.NoError(t, svc.CreateInvoice(ctx, adm, cust, inv))
	require.True(t, inv.JourneyStarted)

	err := svc.ResumeInvoice(ctx, inv, "")
	require.ErrorIs(t, err, app.ErrRefused, "not paused: the journey's validator refuses")
	require.ErrorIs(t, err, domain.ErrConflict)
	err = svc.PauseInvoice(ctx, inv, nil, " ")
	require.ErrorIs(t, err, app.ErrRefused, "a pause without a reason")
	var row models.Invoice
	require.NoError(t, gdb.First(&row, inv.ID).Error)
	require.Nil(t, row.PausedAt, "nothing written")

	until := time.Now().UTC().AddDate(0, 0, 7).Truncate(time.Second)
	require.NoError(t, svc.PauseInvoice(ctx, inv, &until, "promise to pay"))
	require.NotNil(t, inv.PausedAt, "the journey wrote the pause before it answered")
	require.True(t, until.Equal(*inv.PausedUntil))
	require.Equal(t, "promise to pay", inv.PauseReason)
	st, err := svc.JourneyState(ctx, inv.WorkflowID)
	require.NoError(t, err)
	require.True(t, st.Paused)

	require.NoError(t, svc.OpenDispute(ctx, inv, "wrong price"))
	require.True(t, inv.Disputed)
	require.NoError(t, svc.ResolveDispute(ctx, inv, "agreed"))
	require.False(t, inv.Disputed)
	require.NoError(t, svc.ResumeInvoice(ctx, inv, "called"))
	require.Nil(t, inv.PausedAt)

	// A pause from the Temporal UI or CLI is a signal: the row follows.
	require.NoError(t, tc.SignalWorkflow(ctx, inv.WorkflowID, "", workflows.SignalPause, workflows.PauseSignal{Reason: "from the UI"}))
	require.Eventually(t, func() bool {
		var row models.Invoice
		return gdb.First(&row, inv.ID).Error == nil && row.PausedAt != nil && row.PauseReason == "from the UI"
	}, 30*time.Second, 50*time.Millisecond, "the signalled pause reached the invoice row")

	// An ended journey is recognised by the error's type.
	require.NoError(t, tc.TerminateWorkflow(ctx, inv.WorkflowID, "", "test"))
	err = svc.Signal(ctx, inv.WorkflowID, workflows.SignalResume, workflows.ResumeSignal{})
	require.ErrorIs(t, err, domain.ErrJourneyEnded)
	err = svc.ResumeInvoice(ctx, inv, "")
	require.ErrorIs(t, err, domain.ErrJourneyEnded)
	var nf *serviceerror.NotFound
	require.True(t, errors.As(tc.SignalWorkflow(ctx, inv.WorkflowID, "", workflows.SignalResume, nil), &nf),
		"Temporal answers a signal to an ended workflow with NotFound")
}
