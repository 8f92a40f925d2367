package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/models"
	. "github.com/relance/relance/workflows"
)

// lostAfterSend makes the first attempt of every SendStatement fail AFTER
// the real activity ran (its messages are out): what a worker killed
// between the provider's answer and the activity's completion looks like
// to Temporal, which retries it.
type lostAfterSend struct {
	interceptor.WorkerInterceptorBase
	mu     sync.Mutex
	failed map[string]bool
	lost   int
}

func (l *lostAfterSend) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &lostAfterSendActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, l: l}
}

type lostAfterSendActivity struct {
	interceptor.ActivityInboundInterceptorBase
	l *lostAfterSend
}

func (a *lostAfterSendActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	info := activity.GetInfo(ctx)
	if info.ActivityType.Name != "SendStatement" || err != nil {
		return res, err
	}
	var si activities.StatementInput
	if len(in.Args) == 1 {
		si, _ = in.Args[0].(activities.StatementInput)
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	if a.l.failed[si.Key] {
		return res, err
	}
	a.l.failed[si.Key] = true
	a.l.lost++
	return nil, errors.New("worker lost after the provider took the statement")
}

// statementFixture is the caseFixture's database, sinks and activities
// with a book of customers for statements.
type statementFixture struct {
	*caseFixture
	lost *lostAfterSend
	// withItems are the customers that have open items.
	withItems []models.Customer
	// other is a customer of another administration, with open items.
	other models.Customer
}

func newStatementFixture(t *testing.T) *statementFixture {
	f := &statementFixture{caseFixture: newCaseFixture(t, func(adm *models.Administration, _ *models.Customer) {
		adm.BankDetails, adm.UserName, adm.UserPhone = "IBAN NL00 BANK 0123 4567 89", "Anna Jansen", "+31 20 123 4567"
		adm.StatementSMSEnabled = true
	}), lost: &lostAfterSend{failed: map[string]bool{}}}
	openInvoice := func(cust models.Customer, number string, status models.InvoiceStatus) {
		inv := models.Invoice{AdministrationID: cust.AdministrationID, CustomerID: cust.ID, Number: number,
			IssueDate: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), DueDate: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
			Currency: "EUR", AmountMinor: 25000, OpenMinor: 25000, Status: status, WorkflowID: "invoice:x:" + number, Stage: "reminder"}
		if status != models.InvoiceOpen {
			inv.OpenMinor = 0
		}
		require.NoError(t, f.db.Create(&inv).Error)
	}
	customer := func(admID int64, ref string, mod func(*models.Customer)) models.Customer {
		c := models.Customer{AdministrationID: admID, ExternalRef: ref, Name: "Debtor " + ref, Language: "nl", Email: ref + "@example.com",
			AddressLine1: "Kade 2", PostalCode: "1011 AB", City: "Amsterdam", Country: "NL",
			CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-" + ref, Type: models.CustomerBusiness}
		if mod != nil {
			mod(&c)
		}
		require.NoError(t, f.db.Create(&c).Error)
		return c
	}
	// The fixture's customer: email and mobile, two open invoices.
	openInvoice(f.cust, "S-1", models.InvoiceOpen)
	openInvoice(f.cust, "S-2", models.InvoiceOpen)
	// An email-only customer with one open invoice.
	b := customer(f.adm.ID, "B", nil)
	openInvoice(b, "S-3", models.InvoiceOpen)
	// Nothing open: no statement.
	c := customer(f.adm.ID, "C", nil)
	openInvoice(c, "S-4", models.InvoicePaid)
	// No email address: the statement goes by post.
	d := customer(f.adm.ID, "D", func(c *models.Customer) { c.Email = "" })
	openInvoice(d, "S-5", models.InvoiceOpen)
	f.withItems = []models.Customer{f.cust, b, d}

	org := models.Organization{Name: "Other", InboxRead: models.ReadManually}
	require.NoError(t, f.db.Create(&org).Error)
	adm2 := models.Administration{OrganizationID: org.ID, Name: "Other BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, f.db.Create(&adm2).Error)
	f.other = customer(adm2.ID, "E", nil)
	openInvoice(f.other, "S-6", models.InvoiceOpen)
	return f
}

// run executes one scheduled pass starting at at, following its
// continue-as-new runs (each in a fresh environment, as a new run gets a
// fresh history), and returns the pass's result.
func (f *statementFixture) run(at time.Time, in StatementRunInput) (StatementRunResult, int) {
	runs := 0
	for {
		runs++
		require.Less(f.t, runs, 20, "the pass never ends")
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.SetStartTime(at)
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{f.lost}})
		env.RegisterWorkflowWithOptions(StatementRun, workflow.RegisterOptions{Name: StatementRunName})
		f.acts.Now = func() time.Time { return env.Now() }
		env.RegisterActivity(f.acts)
		env.SetTestTimeout(time.Minute)
		env.ExecuteWorkflow(StatementRunName, in)
		require.True(f.t, env.IsWorkflowCompleted())
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			require.Equal(f.t, StatementRunName, can.WorkflowType.Name)
			require.NoError(f.t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
			continue
		}
		require.NoError(f.t, err)
		var res StatementRunResult
		require.NoError(f.t, env.GetWorkflowResult(&res))
		return res, runs
	}
}

func (f *statementFixture) letters() []string {
	entries, err := os.ReadDir(f.caseFixture.letters)
	require.NoError(f.t, err)
	var names []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".pdf" {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestStatementRunOncePerPeriod: a scheduled pass sends one statement per
// customer with open items, by the channel rules (email, else post; an SMS
// too where the administration sends statements by SMS), through the real
// activities to the loopback sinks; every statement's first attempt is
// "lost" after sending and retried; the pass pages one customer at a time
// and continues as new after two; a second pass in the same period sends
// nothing, and the next month's pass sends again.
func TestStatementRunOncePerPeriod(t *testing.T) {
	f := newStatementFixture(t)
	in := StatementRunInput{AdministrationID: f.adm.ID, Schedule: StatementMonthly, TimeZone: "Europe/Amsterdam", PageSize: 1, RunLimit: 2}

	december := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	res, runs := f.run(december, in)
	require.Equal(t, StatementRunResult{Period: "2026-12", Customers: 3, Sent: 3, Runs: 2}, res)
	require.Equal(t, 2, runs, "three customers, two a run: one continue-as-new")
	require.Equal(t, 3, f.lost.lost, "every statement's first attempt was lost after sending")

	mails := f.mail.Messages()
	require.Len(t, mails, 2, "one email each to the two customers with an address, despite the retries")
	got := map[string]bool{}
	for _, m := range mails {
		for _, to := range m.EnvelopeTo {
			got[to] = true
		}
		require.Contains(t, m.Subject, "Cases BV")
	}
	require.Equal(t, map[string]bool{"debtor@example.com": true, "B@example.com": true}, got)
	require.Len(t, f.vonage.Messages(), 1, "the customer with a mobile number also gets the short SMS")
	require.Contains(t, f.vonage.Messages()[0].Text, "https://relance.test")
	require.Len(t, f.letters(), 1, "the customer without email gets a letter")

	var rows []models.Message
	require.NoError(t, f.db.Where("kind = ?", "statement").Order("key").Find(&rows).Error)
	keys := map[string]models.MessageState{}
	for _, r := range rows {
		keys[r.Key] = r.State
		require.Nil(t, r.InvoiceID)
		require.Nil(t, r.CaseID)
	}
	cust, b, d := f.withItems[0], f.withItems[1], f.withItems[2]
	require.Equal(t, models.MessageSent, keys[fmt.Sprintf("statement:%d:2026-12/email", cust.ID)])
	require.Equal(t, models.MessageSent, keys[fmt.Sprintf("statement:%d:2026-12/sms", cust.ID)])
	require.Equal(t, models.MessageSent, keys[fmt.Sprintf("statement:%d:2026-12/email", b.ID)])
	require.Equal(t, models.MessageSkipped, keys[fmt.Sprintf("statement:%d:2026-12/sms", b.ID)], "B has no mobile: on the timeline")
	require.Equal(t, models.MessageSent, keys[fmt.Sprintf("statement:%d:2026-12/post", d.ID)])
	for k := range keys {
		require.NotContains(t, k, fmt.Sprintf("statement:%d:", f.other.ID), "another administration's customer")
	}

	// The pass again in December (the run retried, or triggered by hand):
	// nothing new reaches the customers.
	res, _ = f.run(december.Add(20*24*time.Hour), in)
	require.Equal(t, "2026-12", res.Period)
	require.Len(t, f.mail.Messages(), 2)
	require.Len(t, f.vonage.Messages(), 1)
	require.Len(t, f.letters(), 1)

	// January is a new period.
	res, _ = f.run(time.Date(2027, 1, 1, 7, 0, 0, 0, time.UTC), in)
	require.Equal(t, "2027-01", res.Period)
	require.Equal(t, 3, res.Sent)
	require.Len(t, f.mail.Messages(), 4)
	require.Len(t, f.vonage.Messages(), 2)
	require.Len(t, f.letters(), 2)
}

func TestStatementPeriod(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	require.Equal(t, "2026-12", StatementPeriod(StatementMonthly, at))
	require.Equal(t, "2026-W53", StatementPeriod(StatementWeekly, at))
	require.Equal(t, "2027-W01", StatementPeriod(StatementWeekly, time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)))
}

func TestStatementScheduleOptions(t *testing.T) {
	o, err := StatementScheduleOptions(7, StatementWeekly, 7, "Europe/Paris")
	require.NoError(t, err)
	require.Equal(t, "statements:7", o.ID)
	require.Equal(t, 0, o.Spec.Calendars[0].DayOfWeek[0].Start, "Sunday is 0 for Temporal")
	require.Equal(t, "Europe/Paris", o.Spec.TimeZoneName)
	o, err = StatementScheduleOptions(7, StatementMonthly, 28, "Europe/Paris")
	require.NoError(t, err)
	require.Equal(t, 28, o.Spec.Calendars[0].DayOfMonth[0].Start)
	for _, bad := range []struct {
		s string
		d int
	}{{StatementMonthly, 0}, {StatementMonthly, 29}, {StatementWeekly, 8}, {"daily", 1}} {
		_, err := StatementScheduleOptions(7, bad.s, bad.d, "UTC")
		require.Error(t, err, "%s on %d", bad.s, bad.d)
	}
}
