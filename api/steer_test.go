package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// TestSteering covers the invoice's journey seen and steered through the
// API, against a real Temporal dev server and the real workflows.
func TestSteering(t *testing.T) {
	_, tc := testkit.DevServer(t)
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		startWorker(t, gdb, tc)
		e := newAPIEnv(t, gdb, tc)
		t.Run("state shows sent, planned and the channel chosen now", func(t *testing.T) { testStateChannels(t, e) })
		t.Run("pause bad input", func(t *testing.T) { testPauseBadInput(t, e) })
		t.Run("pause until a date", func(t *testing.T) { testPauseUntil(t, e) })
		t.Run("pause of an ended journey", func(t *testing.T) { testPauseEndedJourney(t, e) })
		t.Run("invalid journey update changes nothing", func(t *testing.T) { testInvalidJourneyUpdate(t, e) })
	})
}

func (e *apiEnv) getInvoice(t *testing.T, id int64) api.InvoiceView {
	t.Helper()
	r := e.call("GET", fmt.Sprintf("/api/v1/invoices/%d", id), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.InvoiceView
	r.json(t, &v)
	return v
}

// awaitJourney polls GET /invoices/{id} until the journey's state matches.
func (e *apiEnv) awaitJourney(t *testing.T, id int64, cond func(*api.InvoiceJourneyView) bool) api.InvoiceView {
	t.Helper()
	var v api.InvoiceView
	require.Eventually(t, func() bool {
		v = e.getInvoice(t, id)
		return v.Journey != nil && cond(v.Journey)
	}, testkit.Patience, 100*time.Millisecond)
	return v
}

func testStateChannels(t *testing.T, e *apiEnv) {
	// A customer of its own, so that changing its settings touches no other test.
	cust := models.Customer{AdministrationID: e.admA.ID, ExternalRef: fmt.Sprintf("S-%d", time.Now().UnixNano()), Name: "Steer",
		Language: "en", Email: "steer@example.com", AddressLine1: "Street 1", PostalCode: "1234 AB", City: "Utrecht", Country: "NL",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: fmt.Sprintf("steer-%d", time.Now().UnixNano())}
	require.NoError(t, e.db.Create(&cust).Error)
	body := e.invoiceBody(fmt.Sprintf("ST-%d", time.Now().UnixNano()))
	body["customer_id"] = cust.ID
	r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admA.ID), e.keyA, body)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var created api.InvoiceView
	r.json(t, &created)

	// At the real day length the invoice goes in the first send window from
	// now: at once during business hours, else the next business morning.
	v := e.awaitJourney(t, created.ID, func(st *api.InvoiceJourneyView) bool { return len(st.Steps) > 0 && st.Next != nil })
	st := v.Journey
	require.Equal(t, policy.StepInvoice, st.Steps[0].Kind)
	planned := 0
	for _, s := range st.Steps {
		if s.Status == string(workflows.StepPlanned) {
			planned++
			require.NotNil(t, s.Choice, "%s", s.Kind)
		} else {
			require.Nil(t, s.Choice, "a handled step has no choice")
		}
	}
	require.Len(t, stepsIn(st, workflows.StepPlanned), planned)
	require.Len(t, stepsIn(st, workflows.StepSent), len(st.Steps)-planned-countFailed(st))
	// The next step falls in the send window: a weekday, 09:00-17:00 in Amsterdam.
	at := st.Next.At.In(mustLoc(t, "Europe/Amsterdam"))
	require.True(t, at.Hour() >= 9 && at.Hour() < 17, "next step at %s", at)
	require.NotContains(t, []time.Weekday{time.Saturday, time.Sunday}, at.Weekday())
	require.NotNil(t, st.Next.Choice)
	require.Equal(t, []policy.Channel{policy.ChannelEmail}, st.Next.Choice.Channels)
	require.False(t, st.Next.Choice.Skipped)
	for _, p := range stepsIn(st, workflows.StepPlanned) {
		require.NotNil(t, p.Choice, "%s", p.Kind)
		switch p.Kind {
		case policy.StepFinalReminder, policy.StepCollection:
			require.Equal(t, []policy.Channel{policy.ChannelEmail, policy.ChannelPost}, p.Choice.Channels, "%s", p.Kind)
		case policy.StepSMS:
			require.True(t, p.Choice.Skipped)
			require.Equal(t, string(policy.ReasonSMSDisabledForAdministration), p.Choice.Reason)
		}
	}

	// The choice is made from the settings as they are now.
	require.NoError(t, e.db.Model(&cust).Updates(map[string]any{"send_invoices_by_email": false, "send_reminders_by_email": false, "send_by_post": false}).Error)
	st = e.getInvoice(t, created.ID).Journey
	require.NotNil(t, st)
	require.NotNil(t, st.Next.Choice)
	require.True(t, st.Next.Choice.Skipped)
	require.Equal(t, string(policy.ReasonNoChannel), st.Next.Choice.Reason)
	require.Empty(t, st.Next.Choice.Channels)
	require.Equal(t, []domain.ChannelRefusal{
		{Channel: policy.ChannelEmail, Reason: string(policy.ReasonEmailDisabledForCustomer)},
		{Channel: policy.ChannelPost, Reason: string(policy.ReasonPostDisabledForCustomer)},
	}, st.Next.Choice.Refusals)
}

// countFailed counts the steps that were tried and failed (no channel
// provider in these tests).
func countFailed(st *api.InvoiceJourneyView) int {
	n := 0
	for _, s := range st.Steps {
		if s.Status == string(workflows.StepFailed) || s.Status == string(workflows.StepSkipped) {
			n++
		}
	}
	return n
}

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func testPauseBadInput(t *testing.T, e *apiEnv) {
	v := e.createInvoice(t)
	base := fmt.Sprintf("/api/v1/invoices/%d", v.ID)
	cases := []struct {
		name   string
		path   string
		key    string
		body   any
		status int
		field  string
	}{
		{"unknown invoice", "/api/v1/invoices/999999/pause", e.keyA, map[string]any{"reason": "x"}, 404, ""},
		{"another organization's invoice", base + "/pause", e.keyB, map[string]any{"reason": "x"}, 404, ""},
		{"invoice id not a number", "/api/v1/invoices/abc/pause", e.keyA, map[string]any{"reason": "x"}, 400, "id"},
		{"date in the past", base + "/pause", e.keyA, map[string]any{"reason": "x", "until": "2020-01-01"}, 422, "until"},
		{"instant in the past", base + "/pause", e.keyA, map[string]any{"reason": "x", "until": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, 422, "until"},
		{"not a date", base + "/pause", e.keyA, map[string]any{"reason": "x", "until": "next week"}, 400, "until"},
		{"no reason", base + "/pause", e.keyA, map[string]any{"until": "2099-01-01"}, 400, "reason"},
		{"unknown field", base + "/pause", e.keyA, `{"reason":"x","untill":"2099-01-01"}`, 400, "untill"},
		{"resume unknown invoice", "/api/v1/invoices/999999/resume", e.keyA, nil, 404, ""},
		{"resume another organization's invoice", base + "/resume", e.keyB, nil, 404, ""},
		{"resume a journey that is not paused", base + "/resume", e.keyA, nil, 409, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.call("POST", tc.path, tc.key, tc.body).problem(t, tc.status)
			require.Equal(t, tc.field, p.Field, p.Detail)
			require.NotEmpty(t, p.Detail)
		})
	}
	// Nothing of it reached the database or the journey.
	var inv models.Invoice
	require.NoError(t, e.db.First(&inv, v.ID).Error)
	require.Nil(t, inv.PausedAt)
	st := e.awaitJourney(t, v.ID, func(*api.InvoiceJourneyView) bool { return true }).Journey
	require.False(t, st.Paused)
}

func testPauseUntil(t *testing.T, e *apiEnv) {
	v := e.createInvoice(t)
	base := fmt.Sprintf("/api/v1/invoices/%d", v.ID)
	until := time.Now().UTC().AddDate(0, 2, 0).Truncate(time.Second)
	r := e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "promise to pay", "until": until.Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	// Paused, and planned: on a loaded machine the pause can reach the
	// journey before its first plan is loaded (Next is nil until then).
	got := e.awaitJourney(t, v.ID, func(st *api.InvoiceJourneyView) bool { return st.Paused && st.Next != nil })
	require.True(t, got.Paused)
	require.NotNil(t, got.PausedUntil)
	require.True(t, until.Equal(*got.PausedUntil))
	require.NotNil(t, got.Journey.PausedUntil)
	require.True(t, until.Equal(*got.Journey.PausedUntil))
	require.Equal(t, "promise to pay", got.Journey.PauseReason)
	// The next step waits for the pause to end.
	require.NotNil(t, got.Journey.Next)
	require.False(t, got.Journey.Next.At.Before(until), "next step at %s, during the pause", got.Journey.Next.At)
	// Visible to ops as RelancePaused.
	require.Eventually(t, func() bool {
		desc, err := e.tc.DescribeWorkflowExecution(context.Background(), v.WorkflowID, "")
		require.NoError(t, err)
		p, ok := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["RelancePaused"]
		return ok && string(p.GetData()) == "true"
	}, testkit.Patience, 100*time.Millisecond)

	r = e.call("POST", base+"/resume", e.keyA, map[string]any{"reason": "paid half"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	e.awaitJourney(t, v.ID, func(st *api.InvoiceJourneyView) bool { return !st.Paused && st.PausedUntil == nil })
}

func testPauseEndedJourney(t *testing.T, e *apiEnv) {
	v := e.createInvoice(t)
	base := fmt.Sprintf("/api/v1/invoices/%d", v.ID)
	e.awaitJourney(t, v.ID, func(*api.InvoiceJourneyView) bool { return true })
	// The journey ended (here: ops terminated it) while the row still says open.
	require.NoError(t, e.tc.TerminateWorkflow(context.Background(), v.WorkflowID, "", "test"))
	p := e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "x"}).problem(t, http.StatusConflict)
	require.Contains(t, p.Detail, "ended")
	var inv models.Invoice
	require.NoError(t, e.db.First(&inv, v.ID).Error)
	require.Nil(t, inv.PausedAt, "a refused pause leaves nothing behind")

	// A paid invoice: its journey has ended too.
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", v.ID).Updates(map[string]any{"status": models.InvoicePaid, "open_minor": 0}).Error)
	e.call("POST", base+"/pause", e.keyA, map[string]any{"reason": "x"}).problem(t, http.StatusConflict)
	e.call("POST", base+"/resume", e.keyA, nil).problem(t, http.StatusConflict)
}

func testInvalidJourneyUpdate(t *testing.T, e *apiEnv) {
	path := fmt.Sprintf("/api/v1/administrations/%d/journeys", e.admA.ID)
	steps := []any{map[string]any{"offset_days": 0, "kind": "invoice"}, map[string]any{"offset_days": 10, "kind": "reminder"}}
	r := e.call("POST", path, e.keyA, map[string]any{"name": "Keep", "steps": steps})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var j api.JourneyView
	r.json(t, &j)
	jpath := fmt.Sprintf("/api/v1/journeys/%d", j.ID)
	bad := []struct {
		name  string
		body  any
		field string
	}{
		{"no steps", map[string]any{"name": "Keep", "steps": []any{}}, "steps"},
		{"offsets out of order", map[string]any{"name": "Keep", "steps": []any{
			map[string]any{"offset_days": 9, "kind": "reminder"}, map[string]any{"offset_days": 2, "kind": "reminder"}}}, "steps[1].offset_days"},
		{"unknown template", map[string]any{"name": "Keep", "steps": []any{map[string]any{"offset_days": 1, "kind": "reminder", "template": "nope"}}}, "steps[0].template"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			p := e.call("PUT", jpath, e.keyA, b.body).problem(t, 422)
			require.Equal(t, b.field, p.Field, p.Detail)
			require.NotEmpty(t, p.Detail)
		})
	}
	r = e.call("GET", jpath, e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status)
	var got api.JourneyView
	r.json(t, &got)
	require.Len(t, got.Steps, 2, "a refused update leaves the journey as it was")
	require.NotNil(t, got.Steps[1].OffsetDays)
	require.Equal(t, 10, *got.Steps[1].OffsetDays)
}

// stepsIn lists the journey's steps whose status is one of statuses.
func stepsIn(st *api.InvoiceJourneyView, statuses ...workflows.StepStatus) []api.StepView {
	var out []api.StepView
	for _, s := range st.Steps {
		for _, want := range statuses {
			if s.Status == string(want) {
				out = append(out, s)
			}
		}
	}
	return out
}
