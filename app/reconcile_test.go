package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

// deadTemporal is a client of a Temporal that is down: nothing listens there.
func deadTemporal(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: impQuiet()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func reconcileFixture(t *testing.T, gdb *gorm.DB) (*models.Administration, *models.Customer) {
	org := models.Organization{Name: "Down BV", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	adm := &models.Administration{OrganizationID: org.ID, Name: "Down BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(adm).Error)
	cust := &models.Customer{AdministrationID: adm.ID, ExternalRef: "D1", Name: "Down Klant", Language: "nl", Country: "NL",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: app.NewPortalToken()}
	require.NoError(t, gdb.Create(cust).Error)
	return adm, cust
}

// TestCreateInvoiceWhileTemporalIsDown: the API's rule is 503 and nothing
// written; the service answers ErrUnreachable and leaves no row.
func TestCreateInvoiceWhileTemporalIsDown(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		adm, cust := reconcileFixture(t, gdb)
		svc := app.New(app.Options{DB: gdb, Temporal: deadTemporal(t), Logger: slog.New(slog.DiscardHandler)})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		inv := &models.Invoice{Number: "DOWN-1", IssueDate: time.Now().UTC(), DueDate: time.Now().UTC().AddDate(0, 0, 14),
			Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000}
		err := svc.CreateInvoice(ctx, adm, cust, inv)
		require.Error(t, err)
		require.True(t, errors.Is(err, domain.ErrUnavailable), "%v", err)
		var n int64
		require.NoError(t, gdb.Model(&models.Invoice{}).Where("administration_id = ?", adm.ID).Count(&n).Error)
		require.Zero(t, n, "nothing written")
	})
}

// TestReconcilerStartsJourneysOnceTemporalIsBack: an import while Temporal
// is down stores its invoices; once Temporal is back, the reconciler's
// Schedule (created by the worker at start) starts each journey, once.
func TestReconcilerStartsJourneysOnceTemporalIsBack(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		adm, _ := reconcileFixture(t, gdb)
		quiet := slog.New(slog.DiscardHandler)
		csv := []byte("Factuurnummer;Debiteurnummer;Naam;Land;Taal;E-mail;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand\n" +
			"R-1;D2;Klant Twee;NL;nl;twee@klant.example;01-11-2026;01-12-2026;EUR;100,00;100,00\n" +
			"R-2;D3;Klant Drie;NL;nl;drie@klant.example;01-11-2026;01-12-2026;EUR;50,00;50,00\n")
		parsed, err := importer.ParseCSV(bytes.NewReader(csv), importer.Options{DefaultCurrency: "EUR", DefaultCountry: "NL", DefaultLanguage: "nl"})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		down := app.New(app.Options{DB: gdb, Temporal: deadTemporal(t), Logger: quiet})
		rep, err := down.Import(ctx, adm, parsed, domain.ImportOptions{FileSHA256: "reconcile", Format: "csv"})
		require.NoError(t, err, "an import stores its rows while Temporal is down")
		require.Equal(t, 2, rep.Invoices.Created)
		require.Zero(t, rep.JourneysStarted)
		require.Equal(t, 2, rep.JourneysDeferred)
		var invs []models.Invoice
		require.NoError(t, gdb.Where("administration_id = ?", adm.ID).Order("number").Find(&invs).Error)
		require.Len(t, invs, 2)
		for _, inv := range invs {
			require.False(t, inv.JourneyStarted)
			require.Equal(t, 1, inv.JourneyCycle)
		}

		// Temporal is back. The reconciler sees the rows once they are
		// older than its grace period: its clock is ahead by that much.
		_, tc := testkit.DevServer(t)
		up := app.New(app.Options{DB: gdb, Temporal: tc, Logger: quiet,
			Now: func() time.Time { return time.Now().Add(app.ReconcileGrace + time.Minute) }})
		acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour, Logger: quiet,
			Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}
		acts.Reconcile = func(ctx context.Context, limit int) (activities.ReconcileResult, error) {
			r, err := up.ReconcileJourneys(ctx, limit)
			return activities.ReconcileResult(r), err
		}
		wctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- worker.Run(wctx, tc, acts, worker.Options{ReconcileEvery: time.Second, Logger: quiet}) }()
		t.Cleanup(func() { stop(); <-done })

		runs := map[string]string{}
		require.Eventually(t, func() bool {
			for _, inv := range invs {
				var row models.Invoice
				if gdb.First(&row, inv.ID).Error != nil || !row.JourneyStarted {
					return false
				}
				d, err := tc.DescribeWorkflowExecution(ctx, inv.WorkflowID, "")
				if err != nil {
					return false
				}
				runs[inv.WorkflowID] = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
			}
			return true
		}, time.Minute, 100*time.Millisecond, "the reconciler started the journeys")

		// Further passes start nothing: each journey was started once.
		h := tc.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
		before, err := h.Describe(ctx)
		require.NoError(t, err)
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}))
		require.Eventually(t, func() bool {
			d, err := h.Describe(ctx)
			return err == nil && d.Info.NumActions >= before.Info.NumActions+2 && len(d.Info.RunningWorkflows) == 0
		}, time.Minute, 100*time.Millisecond, "two more passes ran")
		again, err := up.ReconcileJourneys(ctx, 100)
		require.NoError(t, err)
		require.Zero(t, again.Found)
		for _, inv := range invs {
			require.Eventually(t, func() bool {
				it, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + inv.WorkflowID + "'"})
				return err == nil && len(it.GetExecutions()) == 1
			}, 30*time.Second, 100*time.Millisecond, "one journey for %s", inv.Number)
			d, err := tc.DescribeWorkflowExecution(ctx, inv.WorkflowID, "")
			require.NoError(t, err)
			require.Equal(t, runs[inv.WorkflowID], d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "not started again")
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus())
		}

		// The Schedule is created idempotently: a second worker start keeps it.
		require.NoError(t, worker.EnsureReconcileSchedule(ctx, tc, time.Second))
		require.NoError(t, worker.EnsureReconcileSchedule(ctx, tc, time.Minute))
		d, err := h.Describe(ctx)
		require.NoError(t, err)
		require.Equal(t, time.Minute, d.Schedule.Spec.Intervals[0].Every, "a later start brings it to its interval")
	})
}

// TestImportReopensAnEndedJourneyInTheNextCycle: an invoice paid by an
// import (its journey ends paid) and brought open again by a later import
// gets a journey of the next cycle under the same workflow ID, whose outbox
// keys carry the cycle.
func TestImportReopensAnEndedJourneyInTheNextCycle(t *testing.T) {
	gdb := testkit.SQLite(t)
	_, tc := testkit.DevServer(t)
	quiet := slog.New(slog.DiscardHandler)
	acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour, Logger: quiet,
		Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(wctx, tc, acts, worker.Options{Logger: quiet}) }()
	t.Cleanup(func() { stop(); <-done })
	adm, _ := reconcileFixture(t, gdb)
	svc := app.New(app.Options{DB: gdb, Temporal: tc, Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	importRow := func(open string) domain.ImportReport {
		csv := "Factuurnummer;Debiteurnummer;Naam;Land;Taal;E-mail;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand\n" +
			"C-1;D9;Klant Negen;NL;nl;negen@klant.example;01-11-2026;01-12-2026;EUR;100,00;" + open + "\n"
		parsed, err := importer.ParseCSV(bytes.NewReader([]byte(csv)), importer.Options{DefaultCurrency: "EUR", DefaultCountry: "NL", DefaultLanguage: "nl"})
		require.NoError(t, err)
		rep, err := svc.Import(ctx, adm, parsed, domain.ImportOptions{FileSHA256: "cycle-" + open, Format: "csv"})
		require.NoError(t, err)
		return rep
	}
	require.Equal(t, 1, importRow("100,00").JourneysStarted)
	var inv models.Invoice
	require.NoError(t, gdb.Where("administration_id = ? AND number = ?", adm.ID, "C-1").First(&inv).Error)
	require.Equal(t, 1, inv.JourneyCycle)
	require.True(t, inv.JourneyStarted)
	first, err := tc.DescribeWorkflowExecution(ctx, inv.WorkflowID, "")
	require.NoError(t, err)

	importRow("0,00") // paid: the journey ends
	var res workflows.JourneyResult
	require.NoError(t, tc.GetWorkflow(ctx, inv.WorkflowID, first.GetWorkflowExecutionInfo().GetExecution().GetRunId()).Get(ctx, &res))
	require.Equal(t, workflows.OutcomePaid, res.Outcome)

	rep := importRow("100,00") // open again
	require.Equal(t, 1, rep.JourneysStarted, "the reopened invoice got a journey")
	require.NoError(t, gdb.First(&inv, inv.ID).Error)
	require.Equal(t, 2, inv.JourneyCycle)
	require.True(t, inv.JourneyStarted)
	require.Empty(t, inv.AttentionReason)
	second, err := tc.DescribeWorkflowExecution(ctx, inv.WorkflowID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, second.GetWorkflowExecutionInfo().GetStatus())
	require.NotEqual(t, first.GetWorkflowExecutionInfo().GetExecution().GetRunId(), second.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	// The new run is of cycle 2 (its input), so its outbox keys carry the
	// cycle (workflows.TestJourneyCycleInTheOutboxKey).
	it := tc.GetWorkflowHistory(ctx, inv.WorkflowID, second.GetWorkflowExecutionInfo().GetExecution().GetRunId(), false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	require.NoError(t, err)
	var in workflows.JourneyInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in))
	require.Equal(t, 2, in.Cycle)
	require.Contains(t, in.Summary, "C-1")
}
