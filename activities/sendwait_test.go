package activities_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// holdingVonage fronts the env's Vonage stand-in and holds the request of
// one client-ref until released.
func holdingVonage(t *testing.T, e *sendEnv, ref string) (srv *httptest.Server, arrived <-chan struct{}, release func()) {
	t.Helper()
	got, rel := make(chan struct{}), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if form, _ := url.ParseQuery(string(body)); form.Get("client-ref") == ref {
			close(got)
			<-rel
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		e.vonage.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	released := false
	return srv, got, func() {
		if !released {
			released = true
			close(rel)
		}
	}
}

// TestSMSWaitingForTheRateIsNotSending: an SMS whose attempt waits for the
// rate limiter has not been handed to anyone: its row stays queued, so an
// attempt that dies while waiting (a killed worker: its context ends) leaves
// a row the retry sends, once, instead of an uncertain row nobody sent.
func TestSMSWaitingForTheRateIsNotSending(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		ca, inva := e.customer(func(c *models.Customer) { c.Mobile = "+33611111111" })
		cb, invb := e.customer(func(c *models.Customer) { c.Mobile = "+33622222222" })
		ina, inb := e.input(ca, inva, policy.StepSMS), e.input(cb, invb, policy.StepSMS)
		srv, arrived, release := holdingVonage(t, e, sms.ClientRef(ina.Key+"/sms"))
		defer release()
		e.acts.SMS = sms.New(sms.Config{BaseURL: srv.URL, APIKey: "key", APISecret: "secret", From: "Relance", RatePerSecond: 1, Timeout: 30 * time.Second})

		aDone := make(chan error, 1)
		go func() { _, err := e.send(ina); aDone <- err }()
		<-arrived // A holds the only slot of the rate

		// B's attempt waits for the limiter; then its worker "dies".
		ctx, kill := context.WithCancel(context.Background())
		bDone := make(chan error, 1)
		go func() {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.SetWorkerOptions(sdkworker.Options{BackgroundActivityContext: ctx})
			env.RegisterActivity(e.acts)
			_, err := env.ExecuteActivity(e.acts.SendStep, inb)
			bDone <- err
		}()
		require.Eventually(t, func() bool { _, ok := e.rows(inb)["sms"]; return ok }, 30*time.Second, 10*time.Millisecond)
		row := e.rows(inb)["sms"]
		require.Equal(t, models.MessageQueued, row.State, "an SMS waiting for the rate limiter is not being sent")
		kill()
		requireRetryable(t, <-bDone)
		row = e.rows(inb)["sms"]
		require.Equal(t, models.MessageQueued, row.State, "the attempt died before any request: %s", row.Reason)
		require.Zero(t, row.Attempts, "no request was made")

		release()
		require.NoError(t, <-aDone)
		require.Equal(t, models.MessageSent, e.rows(ina)["sms"].State)

		// The retry sends B once.
		res, err := e.send(inb)
		require.NoError(t, err)
		require.True(t, res.Sent)
		row = e.rows(inb)["sms"]
		require.Equal(t, models.MessageSent, row.State, row.Reason)
		require.Equal(t, 1, row.Attempts)
		require.Equal(t, 1, e.smsTo("33622222222"))
		require.Equal(t, 1, e.smsTo("33611111111"))
	})
}

// oneSendWorkflow runs one SendStep with a short heartbeat timeout and no
// retry: a heartbeat timeout fails it.
func oneSendWorkflow(ctx workflow.Context, in activities.SendInput) (activities.SendResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    2 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var a *activities.Activities
	var res activities.SendResult
	err := workflow.ExecuteActivity(ctx, a.SendStep, in).Get(ctx, &res)
	return res, err
}

// TestSlowSendHeartbeats: a provider that takes longer than the send
// activity's heartbeat timeout to answer, but answers, is a live send: the
// activity heartbeats while it delivers, so Temporal does not cut it off
// (and its retry does not mark the row uncertain). Email over SMTP and SMS
// over the Vonage API, against a real Temporal dev server.
func TestSlowSendHeartbeats(t *testing.T) {
	const slow = 5 * time.Second // the heartbeat timeout is 2 s
	_, tc := testkit.DevServer(t)
	gdb := testkit.Postgres(t)
	e := newSendEnv(t, gdb)

	slowMail := &devsink.SMTPSink{DataDelay: slow}
	require.NoError(t, slowMail.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = slowMail.Close() })
	host, port, err := net.SplitHostPort(slowMail.Addr())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	mail, err := email.New(email.Config{Host: host, Port: p, TLS: email.TLSNone, Timeout: 30 * time.Second, HeloName: "relance.test"})
	require.NoError(t, err)
	e.acts.Email = mail
	slowSMS := &devsink.VonageSink{APIKey: "key", APISecret: "secret", Delay: slow}
	vs := httptest.NewServer(slowSMS)
	t.Cleanup(func() { vs.Close(); slowSMS.Close() })
	e.acts.SMS = sms.New(sms.Config{BaseURL: vs.URL, APIKey: "key", APISecret: "secret", From: "Relance", Timeout: 30 * time.Second})

	queue := fmt.Sprintf("slow-send-%d", time.Now().UnixNano())
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflow(oneSendWorkflow)
	w.RegisterActivity(e.acts)
	require.NoError(t, w.Start())
	defer w.Stop()

	for _, kind := range []policy.StepKind{policy.StepReminder, policy.StepSMS} {
		c, inv := e.customer(nil)
		in := e.input(c, inv, kind)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("slow-%s-%d", kind, time.Now().UnixNano()), TaskQueue: queue}, oneSendWorkflow, in)
		require.NoError(t, err)
		var res activities.SendResult
		err = run.Get(ctx, &res)
		cancel()
		require.NoError(t, err, "%s: a slow but live send was cut off", kind)
		require.True(t, res.Sent, kind)
		for ch, row := range e.rows(in) {
			require.Equal(t, models.MessageSent, row.State, "%s %s: %s", kind, ch, row.Reason)
		}
	}
	require.Len(t, slowMail.Messages(), 1)
	require.Len(t, slowSMS.Messages(), 1)
}

// TestReceiptDuringSendSettlesIt: Vonage takes the SMS, its delivery receipt
// is recorded while the send attempt still waits for the HTTP answer, and
// the answer is then lost. The receipt proves Vonage had it: the row ends
// sent (before, the attempt's own outcome overwrote it with uncertain), and
// a retry sends nothing again.
func TestReceiptDuringSendSettlesIt(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		c, inv := e.customer(func(c *models.Customer) { c.Mobile = "+33633333333" })
		in := e.input(c, inv, policy.StepSMS)
		key := in.Key + "/sms"
		rec := inbound.NewRecorder(gdb, nil)
		var requests atomic.Int32
		seen := make(chan error, 10) // what the stand-in saw, checked by the test
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			var m models.Message
			err := gdb.First(&m, "key = ?", key).Error
			if err == nil && m.State != models.MessageSending {
				err = fmt.Errorf("the row is %s while the request is made, want sending", m.State)
			}
			if err == nil {
				var out domain.ReceiptOutcome
				out, err = rec.RecordDeliveryReceipt(r.Context(), sms.DeliveryReceipt{MessageID: "0B00000001", ClientRef: sms.ClientRef(key),
					To: "33633333333", Status: sms.ReceiptDelivered, ErrCode: "0", Timestamp: time.Now().UTC()})
				if err == nil && !out.Updated {
					err = errors.New("the receipt was not recorded")
				}
			}
			seen <- err
			panic(http.ErrAbortHandler) // the answer is lost
		}))
		defer srv.Close()
		e.acts.SMS = sms.New(sms.Config{BaseURL: srv.URL, APIKey: "key", APISecret: "secret", From: "Relance", Timeout: 5 * time.Second})

		res, err := e.send(in)
		require.NoError(t, err)
		require.NoError(t, <-seen)
		require.True(t, res.Sent)
		require.Equal(t, string(models.MessageSent), res.Outcomes[0].State, res.Outcomes[0].Reason)
		row := e.rows(in)["sms"]
		require.Equal(t, models.MessageSent, row.State, row.Reason)
		require.Equal(t, sms.ReceiptDelivered, row.DeliveryStatus)
		require.Equal(t, "0B00000001", row.ProviderID)
		require.NotNil(t, row.SentAt)

		res, err = e.send(in)
		require.NoError(t, err)
		require.Equal(t, string(models.MessageSent), res.Outcomes[0].State)
		require.EqualValues(t, 1, requests.Load(), "sent once")
	})
}
