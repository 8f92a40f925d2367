package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
	"github.com/relance/relance/workflows"
)

// joinRecorder stands in for the Temporal client behind
// workflows.BundleStarter: it records the joins and names the bundle as
// the real one does.
type joinRecorder struct {
	mu    sync.Mutex
	joins []activities.BundleJoin
}

func (j *joinRecorder) JoinBundle(_ context.Context, in activities.BundleJoin) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.joins = append(j.joins, in)
	return workflows.BundleWorkflowID(in.AdministrationID, in.CustomerID, in.Currency), nil
}

func (j *joinRecorder) last() activities.BundleJoin {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.joins[len(j.joins)-1]
}

func (j *joinRecorder) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.joins)
}

// signalRecorder stands in for the Temporal client's SignalWorkflow: it
// records the answers; journeys named in ended answer NotFound.
type signalRecorder struct {
	mu      sync.Mutex
	signals []recordedSignal
	ended   map[string]bool
}

type recordedSignal struct {
	workflowID, name string
	answer           activities.BundleAnswer
}

func (s *signalRecorder) SignalWorkflow(_ context.Context, workflowID, _, name string, arg any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended[workflowID] {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	ans, ok := arg.(activities.BundleAnswer)
	if !ok {
		return fmt.Errorf("unexpected signal payload %T", arg)
	}
	s.signals = append(s.signals, recordedSignal{workflowID: workflowID, name: name, answer: ans})
	return nil
}

// to returns the answers signalled to one journey, in order.
func (s *signalRecorder) to(workflowID string) []activities.BundleAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []activities.BundleAnswer
	for _, sig := range s.signals {
		if sig.workflowID == workflowID {
			out = append(out, sig.answer)
		}
	}
	return out
}

type bundleEnv struct {
	*sendEnv
	joins   *joinRecorder
	signals *signalRecorder
	keys    int
}

func newBundleEnv(t *testing.T, gdb *gorm.DB) *bundleEnv {
	e := &bundleEnv{sendEnv: newSendEnv(t, gdb), joins: &joinRecorder{}, signals: &signalRecorder{ended: map[string]bool{}}}
	e.acts.Bundles, e.acts.Signals = e.joins, e.signals
	return e
}

// invoice adds an open invoice to customer c; mod adjusts it first.
func (e *bundleEnv) invoice(c models.Customer, mod func(*models.Invoice)) models.Invoice {
	e.t.Helper()
	e.n++
	now := time.Now().UTC()
	inv := models.Invoice{AdministrationID: e.adm.ID, CustomerID: c.ID, Number: fmt.Sprintf("F-%d", e.n),
		IssueDate: now.AddDate(0, 0, -40), DueDate: now.AddDate(0, 0, -10-e.n%5), Currency: "EUR", AmountMinor: 123456, OpenMinor: 100000,
		Status: models.InvoiceOpen, WorkflowID: fmt.Sprintf("invoice:%d:F-%d", e.adm.ID, e.n)}
	if mod != nil {
		mod(&inv)
	}
	require.NoError(e.t, e.db.Create(&inv).Error)
	return inv
}

// queue runs SendStep for inv's step of kind as a journey that takes
// bundle answers, and requires it queued.
func (e *bundleEnv) queue(c models.Customer, inv models.Invoice, kind policy.StepKind) activities.SendInput {
	e.t.Helper()
	in := e.input(c, inv, kind)
	in.Bundle = true
	before := e.joins.count()
	res, err := e.send(in)
	require.NoError(e.t, err)
	require.True(e.t, res.Bundled, "queued for the bundle")
	require.False(e.t, res.Sent)
	require.Equal(e.t, workflows.BundleWorkflowID(e.adm.ID, inv.CustomerID, inv.Currency), res.BundleWorkflowID)
	require.Equal(e.t, before+1, e.joins.count())
	return in
}

// bundleInput is the input of a customer's bundle run, with a fresh key.
func (e *bundleEnv) bundleInput(c models.Customer, currency string, at time.Time) activities.SendBundleInput {
	e.keys++
	id := workflows.BundleWorkflowID(e.adm.ID, c.ID, currency)
	return activities.SendBundleInput{WorkflowID: id, AdministrationID: e.adm.ID, CustomerID: c.ID, Currency: currency,
		Key: fmt.Sprintf("%s/run-%d/%d", id, e.keys, 1), At: at}
}

// runBundle runs SendBundle once, as one activity attempt.
func (e *bundleEnv) runBundle(in activities.SendBundleInput) (activities.SendBundleResult, error) {
	e.t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(e.acts)
	val, err := env.ExecuteActivity(e.acts.SendBundle, in)
	var res activities.SendBundleResult
	if err == nil {
		require.NoError(e.t, val.Get(&res))
	}
	return res, err
}

func (e *bundleEnv) request(stepKey string) models.BundleRequest {
	e.t.Helper()
	var r models.BundleRequest
	require.NoError(e.t, e.db.First(&r, "step_key = ?", stepKey).Error)
	return r
}

// mailsWith returns the emails to addr.
func (e *bundleEnv) mailsWith(addr string) []string {
	var out []string
	for _, m := range e.smtp.Messages() {
		for _, to := range m.EnvelopeTo {
			if to == addr {
				out = append(out, "Subject: "+m.Subject+"\n"+m.Text)
			}
		}
	}
	return out
}

func TestSignalBundleAnswerName(t *testing.T) {
	require.Equal(t, workflows.SignalBundleAnswer, activities.SignalBundleAnswer)
}

func TestBundle(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newBundleEnv(t, gdb)
		t.Run("five invoices go out in one email and one letter, the highest kind decides", func(t *testing.T) { testBundleFive(t, e) })
		t.Run("paid, paused and moved invoices drop out; currencies are never mixed", func(t *testing.T) { testBundleDropOuts(t, e) })
		t.Run("the customer's minimum gap moves the steps", func(t *testing.T) { testBundleGap(t, e) })
		t.Run("under the minimum amount the steps are held until a bundle over it", func(t *testing.T) { testBundleMinimum(t, e) })
		t.Run("SMS steps go out as one SMS", func(t *testing.T) { testBundleSMS(t, e) })
		t.Run("a retried bundle sends what it took, a later request waits for the next", func(t *testing.T) { testBundleRetry(t, e) })
		t.Run("a bundle message left sending by a dead worker becomes uncertain, not sent twice", func(t *testing.T) { testBundleUncertain(t, e) })
		t.Run("a bundle of several invoices is written from the administration's bundle text, else the shipped one", func(t *testing.T) { testBundleStoredTemplate(t, e) })
		t.Run("with a scaled day the gap is not moved into a send window", func(t *testing.T) { testBundleScaledGap(t, e) })
		t.Run("bundling off, manual and channel-chosen steps are sent alone", func(t *testing.T) { testBundleOff(t, e) })
		t.Run("a worker without a bundle starter fails for good", func(t *testing.T) { testBundleNoStarter(t, e) })
	})
}

func testBundleFive(t *testing.T, e *bundleEnv) {
	c, first := e.customer(nil)
	invs := []models.Invoice{first}
	for range 4 {
		invs = append(invs, e.invoice(c, nil))
	}
	var ins []activities.SendInput
	for i, inv := range invs {
		kind := policy.StepReminder
		if i == 2 {
			kind = policy.StepFinalReminder
		}
		ins = append(ins, e.queue(c, inv, kind))
	}
	require.Empty(t, e.mailsWith(c.Email), "nothing is sent while the bundle collects")
	join := e.joins.last()
	require.Equal(t, activities.BundleJoin{AdministrationID: e.adm.ID, CustomerID: c.ID, CustomerRef: c.ExternalRef, Currency: "EUR",
		InvoiceID: invs[4].ID, Kind: policy.StepReminder, Window: 5 * time.Minute, Summary: "reminder of invoice " + invs[4].Number}, join)
	for _, in := range ins {
		require.Equal(t, models.BundlePending, e.request(in.Key).State)
	}
	_, lettersBefore := e.print.counts()

	at := time.Now().UTC()
	bin := e.bundleInput(c, "EUR", at)
	res, err := e.runBundle(bin)
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 5, res.Items)
	require.Equal(t, policy.StepFinalReminder, res.Kind, "one final reminder makes the bundle a final reminder")

	mails := e.mailsWith(c.Email)
	require.Len(t, mails, 1, "one email for the five invoices")
	t.Logf("the bundle:\n%s", mails[0])
	require.Contains(t, mails[0], "Subject: Dernier rappel : 5 factures impayées")
	for _, inv := range invs {
		require.Contains(t, mails[0], inv.Number)
	}
	require.Contains(t, mails[0], "Relance", "the step column's heading")
	require.Contains(t, mails[0], "Dernier rappel")
	require.Contains(t, mails[0], "Rappel", "the reminders' label")
	_, lettersAfter := e.print.counts()
	require.Equal(t, lettersBefore+1, lettersAfter, "a final reminder also goes by post: one letter")

	var msgs []models.Message
	require.NoError(t, e.db.Where("key LIKE ?", bin.Key+"/%").Order("channel").Find(&msgs).Error)
	require.Len(t, msgs, 2)
	require.Equal(t, "email", msgs[0].Channel)
	require.Equal(t, models.MessageSent, msgs[0].State)
	require.Nil(t, msgs[0].InvoiceID, "a message about several invoices")
	require.Equal(t, string(policy.StepFinalReminder), msgs[0].Kind)
	require.Equal(t, "post", msgs[1].Channel)
	require.Equal(t, models.MessageSent, msgs[1].State)

	for i, in := range ins {
		row := e.request(in.Key)
		require.Equal(t, models.BundleSent, row.State)
		require.Equal(t, bin.Key, row.BundleKey)
		var ans activities.BundleAnswer
		require.NoError(t, json.Unmarshal([]byte(row.Outcomes), &ans))
		require.True(t, ans.Result.Sent)
		require.ElementsMatch(t, []int64{msgs[0].ID, msgs[1].ID}, []int64{ans.Result.Outcomes[0].MessageID, ans.Result.Outcomes[1].MessageID})
		got := e.signals.to(in.WorkflowID)
		require.Len(t, got, 1)
		require.Equal(t, in.Key, got[0].StepKey)
		require.True(t, got[0].Result.Sent)
		var inv models.Invoice
		require.NoError(t, e.db.First(&inv, invs[i].ID).Error)
		require.Equal(t, in.Stage, inv.Stage)
	}
	var cust models.Customer
	require.NoError(t, e.db.First(&cust, c.ID).Error)
	require.NotNil(t, cust.LastRemindedAt)
	require.WithinDuration(t, at, *cust.LastRemindedAt, time.Second)

	// A retry after the send completed sends nothing twice and answers
	// the journeys again.
	res, err = e.runBundle(bin)
	require.NoError(t, err)
	require.Len(t, e.mailsWith(c.Email), 1)
	_, lettersAgain := e.print.counts()
	require.Equal(t, lettersAfter, lettersAgain)
	for _, in := range ins {
		got := e.signals.to(in.WorkflowID)
		require.Len(t, got, 2, "signalled again")
		require.Equal(t, got[0], got[1])
	}
	require.Zero(t, res.Items, "nothing new to send")

	// A journey asking again for a step the bundle sent gets the stored
	// result at once, not a new request.
	joins := e.joins.count()
	again, err := e.send(ins[0])
	require.NoError(t, err)
	require.False(t, again.Bundled)
	require.True(t, again.Sent)
	require.Len(t, again.Outcomes, 2)
	require.Equal(t, joins, e.joins.count())
	require.Len(t, e.mailsWith(c.Email), 1)
}

func testBundleDropOuts(t *testing.T, e *bundleEnv) {
	c, paid := e.customer(nil)
	paused := e.invoice(c, nil)
	moved := e.invoice(c, nil)
	open1 := e.invoice(c, nil)
	open2 := e.invoice(c, nil)
	dollars := e.invoice(c, func(i *models.Invoice) { i.Currency = "USD" })
	other, _ := e.customer(nil)
	ins := map[int64]activities.SendInput{}
	for _, inv := range []models.Invoice{paid, paused, moved, open1, open2, dollars} {
		ins[inv.ID] = e.queue(c, inv, policy.StepReminder)
	}
	require.Equal(t, "USD", e.request(ins[dollars.ID].Key).Currency)

	// While they wait: one is paid, one paused, one moves to another customer.
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", paid.ID).Updates(map[string]any{"status": models.InvoicePaid, "open_minor": 0}).Error)
	now := time.Now().UTC()
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", paused.ID).Update("paused_at", now).Error)
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", moved.ID).Update("customer_id", other.ID).Error)

	res, err := e.runBundle(e.bundleInput(c, "EUR", now))
	require.NoError(t, err)
	require.Equal(t, 2, res.Items)
	require.Equal(t, 3, res.Answered)
	mails := e.mailsWith(c.Email)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0], open1.Number)
	require.Contains(t, mails[0], open2.Number)
	for _, inv := range []models.Invoice{paid, paused, moved, dollars} {
		require.NotContains(t, mails[0], inv.Number+" ", "%s is not in the bundle", inv.Number)
	}
	require.Empty(t, e.mailsWith(other.Email))

	ans := e.signals.to(paid.WorkflowID)
	require.Len(t, ans, 1)
	require.True(t, ans[0].Result.Skipped)
	require.Equal(t, "invoice_closed", ans[0].Result.Reason)
	require.Equal(t, string(models.InvoicePaid), ans[0].Result.InvoiceStatus)
	for _, inv := range []models.Invoice{paused, moved} {
		ans := e.signals.to(inv.WorkflowID)
		require.Len(t, ans, 1, inv.Number)
		require.True(t, ans[0].Requeue, inv.Number)
		require.Equal(t, activities.ReasonRequeued, ans[0].Reason)
		require.Equal(t, models.BundleAnswered, e.request(ins[inv.ID].Key).State)
	}
	require.Empty(t, e.signals.to(dollars.WorkflowID), "another currency, another bundle")
	require.Equal(t, models.BundlePending, e.request(ins[dollars.ID].Key).State)

	// The moved invoice's journey asks again: it joins its new customer's bundle.
	in := ins[moved.ID]
	in.CustomerID = other.ID
	res2, err := e.send(in)
	require.NoError(t, err)
	require.True(t, res2.Bundled)
	require.Equal(t, workflows.BundleWorkflowID(e.adm.ID, other.ID, "EUR"), res2.BundleWorkflowID)
	row := e.request(in.Key)
	require.Equal(t, models.BundlePending, row.State)
	require.Equal(t, other.ID, row.CustomerID)
	require.Empty(t, row.BundleKey)

	// The dollars go in their own bundle: the customer's minimum gap (7
	// days by default) applies to it too, then it goes alone, as SendStep
	// would send it.
	res, err = e.runBundle(e.bundleInput(c, "USD", now))
	require.NoError(t, err)
	require.False(t, res.Sent)
	ans = e.signals.to(dollars.WorkflowID)
	require.Len(t, ans, 1)
	require.Equal(t, activities.ReasonCustomerGap, ans[0].Reason)
	_ = e.queue(c, dollars, policy.StepReminder)
	res, err = e.runBundle(e.bundleInput(c, "USD", now.Add(8*24*time.Hour)))
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 1, res.Items)
	mails = e.mailsWith(c.Email)
	require.Len(t, mails, 2)
	require.Contains(t, mails[1], "Subject: Rappel de paiement : facture "+dollars.Number)
}

func testBundleGap(t *testing.T, e *bundleEnv) {
	last := time.Now().UTC().Add(-24 * time.Hour)
	c, inv := e.customer(func(c *models.Customer) { c.LastRemindedAt = &last })
	in := e.queue(c, inv, policy.StepReminder)
	at := time.Now().UTC()
	res, err := e.runBundle(e.bundleInput(c, "EUR", at))
	require.NoError(t, err)
	require.False(t, res.Sent)
	require.Equal(t, 1, res.Answered)
	require.Empty(t, e.mailsWith(c.Email))
	ans := e.signals.to(in.WorkflowID)
	require.Len(t, ans, 1)
	require.Equal(t, activities.ReasonCustomerGap, ans[0].Reason)
	require.NotNil(t, ans[0].NotBefore)
	gapEnd := last.Add(7 * 24 * time.Hour)
	require.False(t, ans[0].NotBefore.Before(gapEnd), "not before the gap ends")
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	local := ans[0].NotBefore.In(paris)
	require.GreaterOrEqual(t, local.Hour(), 9, "in the send window")
	require.Less(t, local.Hour(), 17)
	require.Equal(t, models.BundleAnswered, e.request(in.Key).State)

	// The journey asks again later: the request is reopened.
	_ = e.queue(c, inv, policy.StepReminder)
	require.Equal(t, models.BundlePending, e.request(in.Key).State)
}

func testBundleMinimum(t *testing.T, e *bundleEnv) {
	require.NoError(t, e.db.Create(&models.MinimumAmount{AdministrationID: e.adm.ID, Currency: "EUR", AmountMinor: 500000}).Error)
	defer func() {
		require.NoError(t, e.db.Where("administration_id = ?", e.adm.ID).Delete(&models.MinimumAmount{}).Error)
	}()
	c, small := e.customer(nil) // 1 000,00 open
	in := e.queue(c, small, policy.StepReminder)
	at := time.Now().UTC()
	for run := 0; run < 2; run++ {
		if run == 1 {
			_ = e.queue(c, small, policy.StepReminder) // asked again a day later, still under
		}
		res, err := e.runBundle(e.bundleInput(c, "EUR", at))
		require.NoError(t, err)
		require.Equal(t, 1, res.Held)
		require.False(t, res.Sent)
		ans := e.signals.to(in.WorkflowID)
		require.Len(t, ans, run+1)
		require.Equal(t, activities.ReasonBelowMinimum, ans[run].Reason)
		require.NotNil(t, ans[run].NotBefore)
		require.WithinDuration(t, at.Add(24*time.Hour), *ans[run].NotBefore, time.Second)
		require.Equal(t, models.BundleHeld, e.request(in.Key).State)
	}
	require.Empty(t, e.mailsWith(c.Email))
	var timeline []models.Message
	require.NoError(t, e.db.Where("invoice_id = ?", small.ID).Find(&timeline).Error)
	require.Len(t, timeline, 1, "one skipped timeline row per held step")
	require.Equal(t, in.Key+"/held", timeline[0].Key)
	require.Equal(t, models.MessageSkipped, timeline[0].State)
	require.Equal(t, activities.ReasonBelowMinimum, timeline[0].Reason)

	// A new invoice lifts the total over the minimum: one message with both.
	big := e.invoice(c, func(i *models.Invoice) { i.AmountMinor, i.OpenMinor = 450000, 450000 })
	in2 := e.queue(c, big, policy.StepReminder)
	res, err := e.runBundle(e.bundleInput(c, "EUR", at))
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 2, res.Items)
	mails := e.mailsWith(c.Email)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0], small.Number)
	require.Contains(t, mails[0], big.Number)
	for _, k := range []string{in.Key, in2.Key} {
		require.Equal(t, models.BundleSent, e.request(k).State)
	}
	ans := e.signals.to(in.WorkflowID)
	require.True(t, ans[len(ans)-1].Result.Sent, "the held step's journey hears it went")
}

func testBundleSMS(t *testing.T, e *bundleEnv) {
	c, a := e.customer(func(c *models.Customer) { c.Mobile = "+33611112222" })
	b := e.invoice(c, nil)
	ia := e.queue(c, a, policy.StepSMS)
	ib := e.queue(c, b, policy.StepSMS)
	before := e.smsTo("33611112222")
	res, err := e.runBundle(e.bundleInput(c, "EUR", time.Now().UTC()))
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, policy.StepSMS, res.Kind)
	require.Equal(t, before+1, e.smsTo("33611112222"), "one SMS for both")
	msgs := e.vonage.Messages()
	require.Contains(t, msgs[len(msgs)-1].Text, "2 pièces ouvertes")
	require.Empty(t, e.mailsWith(c.Email))
	for _, in := range []activities.SendInput{ia, ib} {
		ans := e.signals.to(in.WorkflowID)
		require.Len(t, ans, 1)
		require.True(t, ans[0].Result.Sent)
		require.Equal(t, policy.ChannelSMS, ans[0].Result.Outcomes[0].Channel)
	}
}

func testBundleOff(t *testing.T, e *bundleEnv) {
	require.NoError(t, e.db.Model(&models.Administration{}).Where("id = ?", e.adm.ID).Update("bundling", models.BundlingOff).Error)
	c, inv := e.customer(nil)
	in := e.input(c, inv, policy.StepReminder)
	in.Bundle = true
	joins := e.joins.count()
	res, err := e.send(in)
	require.NoError(t, err)
	require.False(t, res.Bundled)
	require.True(t, res.Sent)
	require.Len(t, e.mailsWith(c.Email), 1)
	require.Equal(t, joins, e.joins.count())
	require.NoError(t, e.db.Model(&models.Administration{}).Where("id = ?", e.adm.ID).Update("bundling", models.BundlingOn).Error)

	// A manual step, or one naming its channels, goes alone even when the
	// administration bundles.
	c2, inv2 := e.customer(nil)
	manual := e.input(c2, inv2, policy.StepReminder)
	manual.Bundle, manual.Manual, manual.Key = true, true, manual.Key+"/manual"
	res, err = e.send(manual)
	require.NoError(t, err)
	require.False(t, res.Bundled)
	require.True(t, res.Sent)
	chosen := e.input(c2, inv2, policy.StepReminder)
	chosen.Bundle, chosen.Channels, chosen.Key = true, []policy.Channel{policy.ChannelEmail}, chosen.Key+"/chosen"
	res, err = e.send(chosen)
	require.NoError(t, err)
	require.False(t, res.Bundled)
	require.True(t, res.Sent)
	require.Len(t, e.mailsWith(c2.Email), 2)
	// Steps a bundle never carries (the invoice itself) go alone too.
	inv3 := e.input(c2, inv2, policy.StepInvoice)
	inv3.Bundle = true
	res, err = e.send(inv3)
	require.NoError(t, err)
	require.False(t, res.Bundled)
	require.Equal(t, joins, e.joins.count())
}

func testBundleNoStarter(t *testing.T, e *bundleEnv) {
	c, inv := e.customer(nil)
	in := e.input(c, inv, policy.StepReminder)
	in.Bundle = true
	saved := e.acts.Bundles
	e.acts.Bundles = nil
	_, err := e.send(in)
	e.acts.Bundles = saved
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, activities.ErrTypePermanent, app.Type())
	var n int64
	require.NoError(t, e.db.Model(&models.BundleRequest{}).Where("step_key = ?", in.Key).Count(&n).Error)
	require.Zero(t, n, "nothing queued that no bundle would send")

	// A journey that ended is no error for the bundle.
	c2, inv2 := e.customer(nil)
	q := e.queue(c2, inv2, policy.StepReminder)
	e.signals.mu.Lock()
	e.signals.ended[q.WorkflowID] = true
	e.signals.mu.Unlock()
	res, err := e.runBundle(e.bundleInput(c2, "EUR", time.Now().UTC()))
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.True(t, strings.HasPrefix(e.mailsWith(c2.Email)[0], "Subject: Rappel de paiement : facture "+inv2.Number))
}

func testBundleRetry(t *testing.T, e *bundleEnv) {
	c, a := e.customer(nil)
	b := e.invoice(c, nil)
	ia, ib := e.queue(c, a, policy.StepReminder), e.queue(c, b, policy.StepReminder)
	disputed := e.invoice(c, nil)
	id := e.queue(c, disputed, policy.StepReminder)
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", disputed.ID).Update("disputed", true).Error)
	e.setReject(func(string) error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	})
	bin := e.bundleInput(c, "EUR", time.Now().UTC())
	_, err := e.runBundle(bin)
	e.setReject(nil)
	requireRetryable(t, err)
	require.Empty(t, e.mailsWith(c.Email))
	for _, in := range []activities.SendInput{ia, ib} {
		row := e.request(in.Key)
		require.Equal(t, models.BundlePending, row.State, "not answered: the activity is retried")
		require.Equal(t, bin.Key, row.BundleKey, "taken by the bundle")
		require.Empty(t, e.signals.to(in.WorkflowID))
	}
	require.Equal(t, models.BundleAnswered, e.request(id.Key).State, "the drop-out's answer is recorded before the send")
	require.Empty(t, e.signals.to(disputed.WorkflowID), "and signalled when the bundle is done")

	// A request arriving between the attempts is not added to a message
	// already made: it waits for the customer's next bundle.
	late := e.invoice(c, nil)
	il := e.queue(c, late, policy.StepReminder)
	res, err := e.runBundle(bin)
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 2, res.Items)
	mails := e.mailsWith(c.Email)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0], a.Number)
	require.Contains(t, mails[0], b.Number)
	require.NotContains(t, mails[0], late.Number+" ")
	require.NotContains(t, mails[0], disputed.Number+" ")
	dans := e.signals.to(disputed.WorkflowID)
	require.Len(t, dans, 1, "the retry signals the answer of the first attempt")
	require.True(t, dans[0].Requeue)
	var msg models.Message
	require.NoError(t, e.db.First(&msg, "key = ?", bin.Key+"/email").Error)
	require.Equal(t, 2, msg.Attempts)
	row := e.request(il.Key)
	require.Equal(t, models.BundlePending, row.State)
	require.Empty(t, row.BundleKey)
	require.Empty(t, e.signals.to(late.WorkflowID))

	next, err := e.runBundle(e.bundleInput(c, "EUR", time.Now().UTC().Add(8*24*time.Hour)))
	require.NoError(t, err)
	require.True(t, next.Sent)
	require.Equal(t, 1, next.Items)
	require.Len(t, e.mailsWith(c.Email), 2)
	require.Len(t, e.signals.to(late.WorkflowID), 1)
}

func testBundleStoredTemplate(t *testing.T, e *bundleEnv) {
	single := models.Template{AdministrationID: e.adm.ID, Name: "default", Kind: string(policy.StepReminder), Channel: "email", Language: "fr",
		Subject: "Relance #invoice_number", Body: "<p>Une seule : #invoice_number, #days_overdue jours.</p><p>#portal_link</p>", Version: 1}
	bundle := models.Template{AdministrationID: e.adm.ID, Name: "default", Kind: "bundle_reminder", Channel: "email", Language: "fr",
		Subject: "Nos #items_count factures", Body: "<p>Texte groupé, total #total_due.</p><p>#items_list</p><p>#portal_link</p>", Version: 3}
	require.NoError(t, e.db.Create(&single).Error)
	require.NoError(t, e.db.Create(&bundle).Error)
	defer func() { require.NoError(t, e.db.Delete(&models.Template{}, []int64{single.ID, bundle.ID}).Error) }()
	sentFrom := func(res activities.SendBundleResult) models.Message {
		t.Helper()
		require.NotEmpty(t, res.Outcomes)
		var msg models.Message
		require.NoError(t, e.db.First(&msg, "id = ?", res.Outcomes[0].MessageID).Error)
		return msg
	}

	// Several invoices: the administration's bundle text, about no single invoice.
	c, recent := e.customer(nil)
	oldest := e.invoice(c, func(i *models.Invoice) { i.DueDate = time.Now().UTC().AddDate(0, 0, -30) })
	e.queue(c, recent, policy.StepReminder)
	e.queue(c, oldest, policy.StepReminder)
	res, err := e.runBundle(e.bundleInput(c, "EUR", time.Now().UTC()))
	require.NoError(t, err)
	require.True(t, res.Sent)
	mails := e.mailsWith(c.Email)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0], "Subject: Nos 2 factures")
	require.Contains(t, mails[0], "Texte groupé, total ")
	require.Contains(t, mails[0], recent.Number, "the bundled invoices are listed")
	require.Contains(t, mails[0], oldest.Number)
	require.Contains(t, mails[0], render.StepLabel("reminder", "fr"), "with their step")
	require.NotContains(t, mails[0], "Une seule")
	msg := sentFrom(res)
	require.NotNil(t, msg.TemplateID)
	require.Equal(t, bundle.ID, *msg.TemplateID, "the message names the bundle template")
	require.Equal(t, 3, msg.TemplateVersion)

	// No bundle text of its own: the shipped one, not the step kind's own text.
	require.NoError(t, e.db.Delete(&models.Template{}, bundle.ID).Error)
	c2, a := e.customer(nil)
	b := e.invoice(c2, nil)
	e.queue(c2, a, policy.StepReminder)
	e.queue(c2, b, policy.StepReminder)
	res, err = e.runBundle(e.bundleInput(c2, "EUR", time.Now().UTC()))
	require.NoError(t, err)
	require.True(t, res.Sent)
	mails = e.mailsWith(c2.Email)
	require.Len(t, mails, 1)
	shipped, ok := render.DefaultBundle("reminder", "email", "fr")
	require.True(t, ok)
	require.Contains(t, mails[0], "Subject: "+strings.ReplaceAll(shipped.Subject, "#items_count", "2"))
	require.NotContains(t, mails[0], "Une seule")
	require.Nil(t, sentFrom(res).TemplateID, "a shipped text")

	// One invoice: exactly its step's text, the administration's own.
	c3, only := e.customer(nil)
	e.queue(c3, only, policy.StepReminder)
	res, err = e.runBundle(e.bundleInput(c3, "EUR", time.Now().UTC()))
	require.NoError(t, err)
	require.True(t, res.Sent)
	mails = e.mailsWith(c3.Email)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0], "Subject: Relance "+only.Number)
	require.Contains(t, mails[0], "Une seule : "+only.Number)
	msg = sentFrom(res)
	require.NotNil(t, msg.TemplateID)
	require.Equal(t, single.ID, *msg.TemplateID)
}

func testBundleScaledGap(t *testing.T, e *bundleEnv) {
	saved := e.acts.Day
	e.acts.Day = time.Minute
	defer func() { e.acts.Day = saved }()
	last := time.Now().UTC().Add(-time.Minute)
	c, inv := e.customer(func(c *models.Customer) { c.LastRemindedAt = &last })
	in := e.queue(c, inv, policy.StepReminder)
	require.Equal(t, 6*time.Second, e.joins.last().Window, "a tenth of the scaled day")
	_, err := e.runBundle(e.bundleInput(c, "EUR", time.Now().UTC()))
	require.NoError(t, err)
	ans := e.signals.to(in.WorkflowID)
	require.Len(t, ans, 1)
	require.NotNil(t, ans[0].NotBefore)
	require.WithinDuration(t, last.Add(7*time.Minute), *ans[0].NotBefore, time.Millisecond, "the gap's end, exactly")
}

func testBundleUncertain(t *testing.T, e *bundleEnv) {
	c, a := e.customer(nil)
	b := e.invoice(c, nil)
	ia, ib := e.queue(c, a, policy.StepReminder), e.queue(c, b, policy.StepReminder)
	bin := e.bundleInput(c, "EUR", time.Now().UTC())
	// What a worker killed mid-send leaves: the rows taken by the bundle,
	// its email row marked sending.
	require.NoError(t, e.db.Model(&models.BundleRequest{}).Where("step_key IN ?", []string{ia.Key, ib.Key}).
		Update("bundle_key", bin.Key).Error)
	require.NoError(t, e.db.Create(&models.Message{Key: bin.Key + "/email", AdministrationID: e.adm.ID, CustomerID: c.ID,
		WorkflowID: bin.WorkflowID, Kind: string(policy.StepReminder), Channel: "email", State: models.MessageSending, Attempts: 1}).Error)
	res, err := e.runBundle(bin)
	require.NoError(t, err)
	require.True(t, res.Sent, "uncertain counts as handed over")
	require.Empty(t, e.mailsWith(c.Email), "never sent a second time")
	require.Equal(t, 2, res.Items)
	for _, in := range []activities.SendInput{ia, ib} {
		ans := e.signals.to(in.WorkflowID)
		require.Len(t, ans, 1)
		require.Equal(t, string(models.MessageUncertain), ans[0].Result.Outcomes[0].State)
		require.Equal(t, models.BundleSent, e.request(in.Key).State)
	}
}
