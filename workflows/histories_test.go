package workflows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	relworker "github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

// TestJourneysOnARealServer plays the journey's steering scenarios on a real
// Temporal dev server with the real worker and activities (SQLite, a local
// SMTP server, a letters folder), at a one-second journey day. Each
// scenario's history is replayed at once with the current code; with
// RELANCE_WRITE_HISTORIES=1 it is also written to workflows/testdata, where
// TestReplayCommittedHistories replays it on every run.
func TestJourneysOnARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	s := newLiveStack(t, time.Second)
	t.Run("two invoices in one bundle", func(t *testing.T) {
		t.Parallel()
		b := s.bundleCases(t)
		for _, c := range b {
			c.await(t, func(st workflows.JourneyState) bool {
				for _, st := range st.Steps {
					if st.Kind == policy.StepReminder {
						return st.Status == workflows.StepSent
					}
				}
				return false
			})
		}
		// Two invoice messages, and one reminder for both.
		var reminders []devsink.ReceivedEmail
		for _, m := range s.mail.Messages() {
			if strings.Contains(m.To, b[0].cust.Email) && strings.Contains(m.Subject, "eminder") {
				reminders = append(reminders, m)
			}
		}
		require.Len(t, reminders, 1, "one reminder for the customer's two invoices")
		for _, c := range b {
			require.Contains(t, string(reminders[0].Raw), c.inv.Number)
		}
		for _, st := range b[0].state(t).Steps {
			if st.Kind == policy.StepReminder {
				require.Contains(t, st.Channels, "email:sent")
			}
		}
		bundleID := workflows.BundleWorkflowID(b[0].adm.ID, b[0].cust.ID, "EUR")
		for i, c := range b {
			c.pay(t, int64(2+i))
			require.Equal(t, workflows.OutcomePaid, c.result(t).Outcome)
		}
		b[0].keep(t, "journey_bundled.json", "")
		s.keepWorkflow(t, bundleID, "bundle_two_invoices.json")
	})
	t.Run("paid mid-journey", func(t *testing.T) {
		t.Parallel()
		// The hand-over a long way off: a query on a loaded machine can
		// take longer than the days between the reminders and a near one.
		c := s.start(t, append(shortJourney()[:5:5], journeys.Step{OffsetDays: 60, Kind: policy.StepCollection}), 0)
		// A day lasts a second: on a loaded machine the worker may come to
		// the journey after the final reminder fell due too, and the
		// catch-up rule then sends only that one. Either way it is mid-journey.
		c.await(t, func(st workflows.JourneyState) bool {
			return st.Stage == workflows.StageReminded || st.Stage == workflows.StageFinalReminder
		})
		require.NoError(t, s.db.Model(&c.inv).Updates(map[string]any{"status": models.InvoicePaid, "open_minor": 0}).Error)
		paidAt := time.Now().UTC()
		c.signal(t, workflows.SignalInvoiceUpdated, workflows.InvoiceUpdatedSignal{OpenMinor: 0, Status: workflows.StatusPaid})
		res := c.result(t)
		require.Equal(t, workflows.OutcomePaid, res.Outcome)
		require.Equal(t, workflows.StagePaid, res.Stage)
		require.Empty(t, c.sentBetween(t, paidAt.Add(time.Second), time.Now().UTC()), "nothing after the payment")
		require.Empty(t, c.sentKinds(t, policy.StepCollection), "never handed over")
		c.keep(t, "journey_paid_mid_journey.json", "")
	})
	t.Run("paused until a date, resumes by itself", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, shortJourney(), 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		// Until two days after the first reminder fell due: it waits for the date.
		until := c.stepAt(t, policy.StepReminder).Add(2 * s.day)
		c.signal(t, workflows.SignalPause, workflows.PauseSignal{Until: &until, Reason: "promise to pay"})
		c.await(t, func(st workflows.JourneyState) bool {
			return st.Paused && st.PausedUntil != nil && st.PausedUntil.Equal(until) && st.Next != nil && !st.Next.At.Before(until)
		})
		paused := time.Now().UTC()
		res := c.result(t)
		// No resume was sent: the journey went on by itself at the date.
		require.Equal(t, workflows.OutcomeCollection, res.Outcome)
		require.Empty(t, c.sentBetween(t, paused, until), "a message went during the pause")
		require.NotEmpty(t, c.sentBetween(t, until, time.Now().UTC()))
		c.keep(t, "journey_pause_until_auto_resume.json", "")
	})
	t.Run("dispute and resolution", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, shortJourney(), 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		c.signal(t, workflows.SignalDispute, workflows.DisputeSignal{Reason: "goods damaged"})
		c.await(t, func(st workflows.JourneyState) bool { return st.Disputed && st.DisputeReason == "goods damaged" })
		disputed := time.Now().UTC()
		// Past the next step's date: nothing goes while disputed.
		next := c.stepAt(t, policy.StepReminder).Add(s.day)
		require.Eventually(t, func() bool { return time.Now().After(next) }, time.Minute, 50*time.Millisecond)
		require.True(t, c.state(t).Disputed)
		resolved := time.Now().UTC()
		c.signal(t, workflows.SignalDisputeResolved, workflows.DisputeResolvedSignal{Reason: "credit agreed"})
		res := c.result(t)
		require.Equal(t, workflows.OutcomeCollection, res.Outcome)
		require.Empty(t, c.sentBetween(t, disputed, resolved), "a message went during the dispute")
		require.NotEmpty(t, c.sentKinds(t, policy.StepFinalReminder))
		c.keep(t, "journey_dispute_resolved.json", "")
	})
	t.Run("journey changed mid-way", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, shortJourney(), 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		// The reminders go; a final reminder two days after the due date stays.
		s.replaceSteps(t, c.journeyID, []journeys.Step{
			{OffsetDays: journeys.OffsetAtIssue, Kind: policy.StepInvoice},
			{OffsetDays: 2, Kind: policy.StepFinalReminder},
			{OffsetDays: 4, Kind: policy.StepCollection},
		})
		c.signal(t, workflows.SignalJourneyChanged, workflows.JourneyChangedSignal{JourneyID: c.journeyID})
		c.await(t, func(st workflows.JourneyState) bool {
			for _, p := range st.Planned {
				if p.Kind == policy.StepReminder {
					return false
				}
			}
			return !st.ReplanPending
		})
		reminders := len(c.sentKinds(t, policy.StepReminder))
		res := c.result(t)
		require.Equal(t, workflows.OutcomeCollection, res.Outcome)
		require.Len(t, c.sentKinds(t, policy.StepReminder), reminders, "a reminder went after the change")
		st := c.state(t)
		require.GreaterOrEqual(t, len(st.Steps), 3)
		last := st.Steps[len(st.Steps)-2:]
		require.Equal(t, policy.StepFinalReminder, last[0].Kind)
		require.Equal(t, policy.StepCollection, last[1].Kind)
		require.Equal(t, 2, last[0].OffsetDays, "the new journey's offset")
		c.keep(t, "journey_changed.json", "")
	})
	t.Run("continue-as-new", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, shortJourney(), 40)
		res := c.result(t)
		require.Equal(t, workflows.OutcomeCollection, res.Outcome)
		first := c.history(t, c.firstRun)
		last := c.history(t, "")
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, first.Events[len(first.Events)-1].EventType)
		lastStart := last.Events[0].GetWorkflowExecutionStartedEventAttributes()
		require.NotEmpty(t, lastStart.GetContinuedExecutionRunId(), "the last run continues an earlier one")
		// Every step went once, across the runs: one email per sent row.
		var rows []models.Message
		require.NoError(t, s.db.Where("workflow_id = ? AND channel = ? AND state = ?", c.inv.WorkflowID, "email", models.MessageSent).Find(&rows).Error)
		// Invoice, two reminders, final reminder: 4, fewer when a loaded
		// machine made the short journey catch up (the latest due step only).
		require.NotEmpty(t, rows)
		require.LessOrEqual(t, len(rows), 4, "the collection notice is the case's, not the journey's")
		// The hand-over opened the customer's case, whose notice of default
		// is the fifth email.
		require.Eventually(t, func() bool { return s.mailsTo(c.cust.Email) == len(rows)+1 }, testkit.Patience, 50*time.Millisecond)
		c.keep(t, "journey_continue_as_new_first_run.json", c.firstRun)
		c.keep(t, "journey_continue_as_new_last_run.json", "")
	})
	t.Run("steered by Updates", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, shortJourney(), 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		svc := app.New(app.Options{DB: s.db, Temporal: s.tc})
		ctx := context.Background()
		inv := c.row(t)
		require.ErrorIs(t, svc.ResumeInvoice(ctx, &inv, ""), app.ErrRefused, "not paused: the validator refuses")
		until := time.Now().UTC().Add(30 * s.day)
		require.NoError(t, svc.PauseInvoice(ctx, &inv, &until, "promise to pay"))
		require.NotNil(t, inv.PausedAt, "the journey recorded the pause on the row")
		c.signal(t, workflows.SignalEmailSubmitted, workflows.EmailSubmittedSignal{Email: "given@customer.example"})
		c.await(t, func(st workflows.JourneyState) bool { return st.ProvidedEmail == "given@customer.example" })
		h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: inv.WorkflowID, UpdateName: workflows.UpdateSendNow,
			Args: []any{workflows.SendNowRequest{Kind: policy.StepReminder, Body: "Please call us"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
		require.NoError(t, err)
		var sent workflows.SendNowResult
		require.NoError(t, h.Get(ctx, &sent))
		require.NoError(t, svc.OpenDispute(ctx, &inv, "wrong price"))
		require.NoError(t, svc.ResolveDispute(ctx, &inv, "agreed"))
		require.NoError(t, svc.ResumeInvoice(ctx, &inv, "called"))
		require.Nil(t, inv.PausedAt)
		c.pay(t, 2)
		res := c.result(t)
		require.Equal(t, workflows.OutcomePaid, res.Outcome)
		c.keep(t, "journey_steered_by_updates.json", "")
	})
	t.Run("manual actions in the loop", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, []journeys.Step{
			{OffsetDays: journeys.OffsetAtIssue, Kind: policy.StepInvoice},
			{OffsetDays: 20, Kind: policy.StepReminder},
			{OffsetDays: 30, Kind: policy.StepFinalReminder},
			{OffsetDays: 40, Kind: policy.StepCollection},
		}, 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		svc := app.New(app.Options{DB: s.db, Temporal: s.tc})
		ctx := context.Background()
		inv := c.row(t)
		final := domain.ActionInput{Key: "h-final", Kind: policy.StepFinalReminder, Subject: "Last call", Body: "Please pay today"}
		res, err := svc.SendAction(ctx, &inv, final)
		require.NoError(t, err)
		require.Equal(t, workflows.StageFinalReminder, res.Stage)
		again, err := svc.SendAction(ctx, &inv, final)
		require.NoError(t, err)
		require.Equal(t, res.Outcomes, again.Outcomes, "a retry is answered with the first outcome")
		st := c.state(t)
		for _, step := range st.Steps {
			if step.Kind == policy.StepReminder {
				require.Equal(t, workflows.ReasonSuperseded, step.Reason)
			}
		}
		handed, err := svc.SendAction(ctx, &inv, domain.ActionInput{Key: "h-hand-over", Kind: policy.StepCollection})
		require.NoError(t, err)
		require.Equal(t, workflows.StageCollection, handed.Stage)
		require.True(t, handed.HandedOver)
		out := c.result(t)
		require.Equal(t, workflows.OutcomeCollection, out.Outcome)
		require.Empty(t, c.sentKinds(t, policy.StepReminder), "the superseded reminder never went")
		c.keep(t, "journey_manual_in_loop.json", "")
	})
	t.Run("catch-up and ordered invoice updates", func(t *testing.T) {
		t.Parallel()
		// The hand-over a long way off: with one-second days on a loaded
		// machine the journey must not reach it before the test pays.
		c := s.start(t, append(shortJourney()[:5:5], journeys.Step{OffsetDays: 30, Kind: policy.StepCollection}), 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		c.signal(t, workflows.SignalPause, workflows.PauseSignal{Reason: "customer called"})
		c.await(t, func(st workflows.JourneyState) bool { return st.Paused })
		// Both reminders fall due during the pause: the resume sends the
		// latest only and records the other skipped.
		finalAt := c.stepAt(t, policy.StepFinalReminder)
		require.Eventually(t, func() bool { return time.Now().After(finalAt) }, time.Minute, 50*time.Millisecond)
		c.signal(t, workflows.SignalResume, workflows.ResumeSignal{Reason: "agreed"})
		c.await(t, func(st workflows.JourneyState) bool {
			for _, s := range st.Steps {
				if s.Status == workflows.StepSkipped && s.Reason == workflows.ReasonCaughtUp {
					return true
				}
			}
			return false
		})
		c.signal(t, workflows.SignalInvoiceUpdated, workflows.InvoiceUpdatedSignal{OpenMinor: 20000, Status: workflows.StatusOpen, Revision: 3})
		c.signal(t, workflows.SignalInvoiceUpdated, workflows.InvoiceUpdatedSignal{OpenMinor: 40000, Status: workflows.StatusOpen, Revision: 2})
		c.await(t, func(st workflows.JourneyState) bool { return st.Revision == 3 && st.OpenMinor == 20000 })
		c.pay(t, 4)
		res := c.result(t)
		require.Equal(t, workflows.OutcomePaid, res.Outcome)
		c.keep(t, "journey_catch_up_ordered_updates.json", "")
	})
	t.Run("re-plan failure keeps the plan", func(t *testing.T) {
		t.Parallel()
		c := s.start(t, shortJourney(), 0)
		c.await(t, func(st workflows.JourneyState) bool { return st.Stage == workflows.StageInvoiced })
		// The customer's journey now belongs to another administration:
		// the plan cannot load it (a permanent failure).
		other := models.Administration{OrganizationID: s.adm.OrganizationID, Name: "Other", Country: "NL", TimeZone: "Europe/Amsterdam",
			Currency: "EUR", Language: "en", AdministrationSettings: models.DefaultAdministrationSettings()}
		require.NoError(t, s.db.Create(&other).Error)
		foreign := models.Journey{AdministrationID: other.ID, Name: "Foreign", MinGapDays: 1}
		require.NoError(t, s.db.Create(&foreign).Error)
		require.NoError(t, s.db.Model(&c.cust).Update("journey_id", foreign.ID).Error)
		c.signal(t, workflows.SignalJourneyChanged, workflows.JourneyChangedSignal{JourneyID: foreign.ID})
		c.await(t, func(st workflows.JourneyState) bool { return st.PlanFailures > 0 && !st.ReplanPending })
		require.Eventually(t, func() bool { return c.row(t).AttentionReason == activities.AttentionReplanFailed },
			testkit.Patience, 50*time.Millisecond, "the failing re-plan is flagged on the invoice")
		res := c.result(t)
		require.Equal(t, workflows.OutcomeCollection, res.Outcome, "the journey went on with its plan")
		c.keep(t, "journey_replan_failure.json", "")
	})
	t.Run("signal during an activity", func(t *testing.T) {
		t.Parallel()
		c := s.prepare(t, shortJourney(), 0)
		// The payment arrives while the invoice email is being sent.
		s.onRcpt.Store(c.cust.Email, func() {
			if err := s.tc.SignalWorkflow(context.Background(), c.inv.WorkflowID, "", workflows.SignalInvoiceUpdated,
				workflows.InvoiceUpdatedSignal{OpenMinor: 0, Status: workflows.StatusPaid, Revision: 2}); err != nil {
				t.Errorf("signal the payment during the send: %v", err)
			}
		})
		c.run(t)
		res := c.result(t)
		require.Equal(t, workflows.OutcomePaid, res.Outcome)
		require.Len(t, c.sentKinds(t, policy.StepInvoice), 1)
		c.keep(t, "journey_signal_during_activity.json", "")
	})
}

// historyGeneration names the histories this code records: a recording
// never overwrites a committed history of older code (keep refuses to).
// journey3: recorded under ChangeJourney2 and ChangeManualInLoop;
// journey4: and ChangeBundling.
const historyGeneration = "journey4"

// dueInDays is when the live scenarios' invoices fall due. The invoice
// stage lasts that long and a day: the scenarios that steer an invoiced
// journey need the time to see it invoiced when a query waits seconds on a
// loaded machine (a two-day stage was missed in CI).
const dueInDays = 8

// shortJourney: the invoice at issue (day 0), reminders on days 9 and 10,
// the final reminder with its SMS on day 11, collection on day 13 (due on
// day dueInDays).
func shortJourney() []journeys.Step {
	return []journeys.Step{
		{OffsetDays: journeys.OffsetAtIssue, Kind: policy.StepInvoice},
		{OffsetDays: 1, Kind: policy.StepReminder},
		{OffsetDays: 2, Kind: policy.StepReminder},
		{OffsetDays: 3, Kind: policy.StepFinalReminder},
		{OffsetDays: 3, Kind: policy.StepSMS},
		{OffsetDays: 5, Kind: policy.StepCollection},
	}
}

type liveStack struct {
	db   *gorm.DB
	tc   client.Client
	mail *devsink.SMTPSink
	adm  models.Administration
	day  time.Duration
	n    atomic.Int64
	// onRcpt holds, per recipient address, a func the SMTP server calls
	// while it receives a message for it: during the send activity.
	onRcpt sync.Map
}

func newLiveStack(t *testing.T, day time.Duration) *liveStack {
	_, tc := testkit.DevServer(t)
	s := &liveStack{db: testkit.SQLite(t), tc: tc, day: day}
	s.mail = &devsink.SMTPSink{Reject: func(rcpt string) error {
		if f, ok := s.onRcpt.LoadAndDelete(rcpt); ok {
			f.(func())()
		}
		return nil
	}}
	require.NoError(t, s.mail.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = s.mail.Close() })
	var port int
	_, err := fmt.Sscanf(s.mail.Addr()[strings.LastIndexByte(s.mail.Addr(), ':')+1:], "%d", &port)
	require.NoError(t, err)
	mailer, err := email.New(email.Config{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: 10 * time.Second})
	require.NoError(t, err)
	// A bundle collects for five days: the bundle scenario's two journeys
	// join it even when a loaded machine starts them seconds apart.
	acts := &activities.Activities{DB: s.db, Email: mailer, Letters: letter.FolderProvider{Dir: t.TempDir()},
		Day: day, DefaultFrom: "relance@example.com", BundleWindow: 5 * day}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relworker.Run(ctx, tc, acts, relworker.Options{}) }()
	t.Cleanup(func() { cancel(); <-done })

	org := models.Organization{Name: "Histories", InboxRead: models.ReadManually}
	require.NoError(t, s.db.Create(&org).Error)
	s.adm = models.Administration{OrganizationID: org.ID, Name: "Histories BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: models.DefaultAdministrationSettings(),
		CompanyDetails: models.CompanyDetails{CompanyName: "Histories BV", SenderEmail: "ar@histories.example",
			BankDetails: "IBAN NL91 ABNA 0417 1643 00", LatePenaltyRate: "8%", UserName: "Sanne Jansen", UserEmail: "sanne@example.com", UserPhone: "+31 20 123 4568"}}
	// One message per invoice: the scenarios steer one journey each; the
	// bundle scenario has an administration of its own that bundles.
	s.adm.Bundling = models.BundlingOff
	require.NoError(t, s.db.Create(&s.adm).Error)
	return s
}

func (s *liveStack) mailsTo(addr string) int {
	n := 0
	for _, m := range s.mail.Messages() {
		if strings.Contains(m.To, addr) {
			n++
		}
	}
	return n
}

func (s *liveStack) replaceSteps(t *testing.T, journeyID int64, steps []journeys.Step) {
	require.NoError(t, s.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("journey_id = ?", journeyID).Delete(&models.JourneyStep{}).Error; err != nil {
			return err
		}
		for i, st := range steps {
			row := models.JourneyStep{JourneyID: journeyID, Position: i, OffsetDays: st.OffsetDays, Kind: string(st.Kind), Template: journeys.DefaultTemplate}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	}))
}

// liveCase is one invoice, its customer (with its own journey) and its workflow.
type liveCase struct {
	s *liveStack
	// adm is the case's administration when not the stack's.
	adm        *models.Administration
	cust       models.Customer
	inv        models.Invoice
	journeyID  int64
	firstRun   string
	maxHistory int
}

// start creates a customer on its own journey and an invoice issued today,
// due in dueInDays, and starts the invoice's journey as the ledger does.
func (s *liveStack) start(t *testing.T, steps []journeys.Step, maxHistory int) *liveCase {
	c := s.prepare(t, steps, maxHistory)
	c.run(t)
	return c
}

// prepare stores the customer, its journey and the invoice; run starts the
// invoice's journey as the application does.
func (s *liveStack) prepare(t *testing.T, steps []journeys.Step, maxHistory int) *liveCase {
	n := s.n.Add(1)
	c := &liveCase{s: s}
	j := models.Journey{AdministrationID: s.adm.ID, Name: fmt.Sprintf("Short %d", n), MinGapDays: 1}
	for i, st := range steps {
		j.Steps = append(j.Steps, models.JourneyStep{Position: i, OffsetDays: st.OffsetDays, Kind: string(st.Kind), Template: journeys.DefaultTemplate})
	}
	require.NoError(t, s.db.Create(&j).Error)
	c.journeyID = j.ID
	c.cust = models.Customer{AdministrationID: s.adm.ID, ExternalRef: fmt.Sprintf("H-%d", n), Name: fmt.Sprintf("Customer %d", n),
		Language: "en", Email: fmt.Sprintf("c%d@customer.example", n), AddressLine1: "Street 1", PostalCode: "1234 AB", City: "Utrecht",
		Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: fmt.Sprintf("h-%d-%d", n, time.Now().UnixNano()),
		JourneyID: &j.ID}
	require.NoError(t, s.db.Create(&c.cust).Error)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	c.inv = models.Invoice{Number: fmt.Sprintf("H-%d-%d", n, time.Now().UnixNano()), IssueDate: today, DueDate: today.AddDate(0, 0, dueInDays),
		Currency: "EUR", AmountMinor: 50000, OpenMinor: 50000, Status: models.InvoiceOpen, Stage: "scheduled",
		AdministrationID: s.adm.ID, CustomerID: c.cust.ID}
	opts := app.StartOptions(&s.adm, &c.cust, &c.inv)
	c.inv.WorkflowID, c.inv.JourneyCycle = opts.ID, 1
	require.NoError(t, s.db.Create(&c.inv).Error)
	c.maxHistory = maxHistory
	return c
}

func (c *liveCase) run(t *testing.T) {
	s := c.s
	adm := &s.adm
	if c.adm != nil {
		adm = c.adm
	}
	run, err := s.tc.ExecuteWorkflow(context.Background(), app.StartOptions(adm, &c.cust, &c.inv), workflows.InvoiceJourneyName, workflows.JourneyInput{
		AdministrationID: adm.ID, CustomerID: c.cust.ID, CustomerRef: c.cust.ExternalRef, InvoiceID: c.inv.ID,
		InvoiceNumber: c.inv.Number, OpenMinor: c.inv.OpenMinor, Currency: c.inv.Currency, MaxHistoryEvents: c.maxHistory,
		Cycle: 1, Summary: app.Summary(adm, &c.cust, &c.inv),
	})
	require.NoError(t, err)
	c.firstRun = run.GetRunID()
}

// bundleCases makes an administration that bundles, one customer on a
// journey of an invoice step, a reminder on day 1 and a far hand-over, and
// two invoices of that customer, and starts both journeys.
func (s *liveStack) bundleCases(t *testing.T) []*liveCase {
	adm := s.adm
	adm.ID, adm.Name, adm.Bundling, adm.CustomerMinGapDays = 0, "Bundles BV", models.BundlingOn, 0
	require.NoError(t, s.db.Create(&adm).Error)
	steps := []journeys.Step{
		{OffsetDays: journeys.OffsetAtIssue, Kind: policy.StepInvoice},
		{OffsetDays: 1, Kind: policy.StepReminder},
		{OffsetDays: 30, Kind: policy.StepCollection},
	}
	// The stack's customer and journey, moved to this administration.
	first := s.prepare(t, steps, 0)
	require.NoError(t, s.db.Delete(&models.Invoice{}, first.inv.ID).Error)
	require.NoError(t, s.db.Model(&models.Journey{}).Where("id = ?", first.journeyID).Update("administration_id", adm.ID).Error)
	require.NoError(t, s.db.Model(&first.cust).Update("administration_id", adm.ID).Error)
	var out []*liveCase
	for i := 0; i < 2; i++ {
		c := &liveCase{s: s, adm: &adm, cust: first.cust, journeyID: first.journeyID}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		c.inv = models.Invoice{Number: fmt.Sprintf("B-%d-%d", i, time.Now().UnixNano()), IssueDate: today, DueDate: today.AddDate(0, 0, 2),
			Currency: "EUR", AmountMinor: 40000 + int64(i)*1000, OpenMinor: 40000 + int64(i)*1000, Status: models.InvoiceOpen,
			Stage: "scheduled", AdministrationID: adm.ID, CustomerID: c.cust.ID}
		opts := app.StartOptions(&adm, &c.cust, &c.inv)
		c.inv.WorkflowID, c.inv.JourneyCycle = opts.ID, 1
		require.NoError(t, s.db.Create(&c.inv).Error)
		out = append(out, c)
	}
	for _, c := range out {
		c.run(t)
	}
	return out
}

// keepWorkflow replays a workflow's (latest run's) history with every
// workflow registered and, when asked, writes it to testdata.
func (s *liveStack) keepWorkflow(t *testing.T, workflowID, name string) {
	it := s.tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	require.NotEmpty(t, h.Events)
	writeHistory(t, h, name)
}

// row reads the invoice row as it is now.
func (c *liveCase) row(t *testing.T) models.Invoice {
	var inv models.Invoice
	require.NoError(t, c.s.db.First(&inv, c.inv.ID).Error)
	return inv
}

// pay records the whole open amount as paid (revision rev) and tells the journey.
func (c *liveCase) pay(t *testing.T, rev int64) {
	require.NoError(t, c.s.db.Model(&c.inv).Updates(map[string]any{"status": models.InvoicePaid, "open_minor": 0, "revision": rev}).Error)
	c.signal(t, workflows.SignalInvoiceUpdated, workflows.InvoiceUpdatedSignal{OpenMinor: 0, Status: workflows.StatusPaid, Revision: rev})
}

func (c *liveCase) signal(t *testing.T, name string, payload any) {
	require.NoError(t, app.New(app.Options{Temporal: c.s.tc}).Signal(context.Background(), c.inv.WorkflowID, name, payload))
}

func (c *liveCase) state(t *testing.T) workflows.JourneyState {
	st, err := app.New(app.Options{Temporal: c.s.tc}).JourneyState(context.Background(), c.inv.WorkflowID)
	require.NoError(t, err)
	return st
}

// stepAt is when the journey plans its first step of the kind.
func (c *liveCase) stepAt(t *testing.T, kind policy.StepKind) time.Time {
	t.Helper()
	for _, st := range c.state(t).Steps {
		if st.Kind == kind {
			return st.At
		}
	}
	require.Failf(t, "no such step", "the journey plans no %s", kind)
	return time.Time{}
}

func (c *liveCase) await(t *testing.T, cond func(workflows.JourneyState) bool) {
	t.Helper()
	var (
		last    workflows.JourneyState
		lastErr error
	)
	ok := assert.Eventually(t, func() bool {
		st, err := app.New(app.Options{Temporal: c.s.tc}).JourneyState(context.Background(), c.inv.WorkflowID)
		last, lastErr = st, err
		return err == nil && cond(st)
	}, testkit.Patience, 50*time.Millisecond)
	require.True(t, ok, "journey state never matched; last: stage %q paused %t, error %v", last.Stage, last.Paused, lastErr)
}

func (c *liveCase) result(t *testing.T) workflows.JourneyResult {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.JourneyResult
	require.NoError(t, c.s.tc.GetWorkflow(ctx, c.inv.WorkflowID, "").Get(ctx, &res))
	return res
}

// sentKinds lists the messages of the given kinds that went out.
func (c *liveCase) sentKinds(t *testing.T, kinds ...policy.StepKind) []models.Message {
	var ks []string
	for _, k := range kinds {
		ks = append(ks, string(k))
	}
	var rows []models.Message
	require.NoError(t, c.s.db.Where("workflow_id = ? AND kind IN ? AND state = ?", c.inv.WorkflowID, ks, models.MessageSent).
		Order("sent_at").Find(&rows).Error)
	return rows
}

// sentBetween lists the messages that went out in [from, to).
func (c *liveCase) sentBetween(t *testing.T, from, to time.Time) []models.Message {
	var rows []models.Message
	require.NoError(t, c.s.db.Where("workflow_id = ? AND state = ?", c.inv.WorkflowID, models.MessageSent).Find(&rows).Error)
	var out []models.Message
	for _, m := range rows {
		if m.SentAt != nil && !m.SentAt.Before(from) && m.SentAt.Before(to) {
			out = append(out, m)
		}
	}
	return out
}

func (c *liveCase) history(t *testing.T, runID string) *historypb.History {
	it := c.s.tc.GetWorkflowHistory(context.Background(), c.inv.WorkflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	require.NotEmpty(t, h.Events)
	return h
}

// keep replays the run's history with the current code and, when asked,
// writes it to testdata for the committed replay test.
func (c *liveCase) keep(t *testing.T, name, runID string) {
	writeHistory(t, c.history(t, runID), name)
}

// writeHistory replays h with the current code and, with
// RELANCE_WRITE_HISTORIES=1, writes it to testdata under this generation.
func writeHistory(t *testing.T, h *historypb.History, name string) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.InvoiceJourney, workflow.RegisterOptions{Name: workflows.InvoiceJourneyName})
	r.RegisterWorkflowWithOptions(workflows.CustomerBundle, workflow.RegisterOptions{Name: workflows.CustomerBundleName})
	require.NoError(t, r.ReplayWorkflowHistory(nil, h), "replay %s", name)
	if os.Getenv("RELANCE_WRITE_HISTORIES") != "1" {
		return
	}
	name = strings.TrimSuffix(name, ".json") + "_" + historyGeneration + ".json"
	path := filepath.Join("testdata", name)
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("testdata/%s exists: committed histories are never overwritten; raise historyGeneration", name)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: " "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Logf("wrote testdata/%s (%d events)", name, len(h.Events))
}
