package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/policy"
)

// TestJourneyBrokenPromiseResumesAndFlags: a promise to pay pauses the
// journey until its date; the date passes unpaid, so the journey goes on at
// once (the reminder that fell due meanwhile goes out that day), the invoice
// is flagged broken_promise and the state and the invoice row show it.
func TestJourneyBrokenPromiseResumesAndFlags(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	promised := start.Add(25 * day)
	f.at(20*day, update(f, UpdatePause, PauseRequest{Until: &promised, Reason: "promise to pay", Promise: true}, true, func(r SteeringResult) {
		require.True(f.t, r.Paused)
	}))
	f.at(24*day, func() {
		st := f.state()
		require.True(t, st.Paused)
		require.NotNil(t, st.PromisedUntil)
		require.True(t, promised.Equal(*st.PromisedUntil))
		require.Nil(t, st.BrokenPromiseAt)
	})
	f.at(25*day+time.Hour, func() {
		st := f.state()
		require.False(t, st.Paused)
		require.Nil(t, st.PromisedUntil)
		require.NotNil(t, st.BrokenPromiseAt)
		require.True(t, promised.Equal(*st.BrokenPromiseAt))
	})
	f.signal(30*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
	// The day-21 reminder waited for the promise and went out when it broke.
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {25, policy.StepReminder}, {28, policy.StepReminder}}, f.sent())
	require.Len(t, f.flags, 1)
	require.Equal(t, BrokenPromise, f.flags[0].Reason)
	// The row first says paused with the promise, then resumed with the broken promise.
	require.Len(t, f.steers, 2)
	require.True(t, promised.Equal(*f.steers[0].PromisedUntil))
	require.Nil(t, f.steers[0].BrokenPromiseAt)
	require.False(t, f.steers[1].Paused)
	require.Nil(t, f.steers[1].PromisedUntil)
	require.True(t, promised.Equal(*f.steers[1].BrokenPromiseAt))
}

// TestJourneyKeptPromiseEndsPaid: paid before the date, no flag, nothing sent.
func TestJourneyKeptPromiseEndsPaid(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	promised := start.Add(25 * day)
	f.at(20*day, update(f, UpdatePause, PauseRequest{Until: &promised, Reason: "promise to pay", Promise: true}, true, nil))
	f.signal(24*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}}, f.sent())
	require.Empty(t, f.flags)
}

// TestJourneyPromiseEndedByAnAdminIsNotBroken: an admin's resume (or a new
// pause) replaces the promise; a plain pause's end flags nothing.
func TestJourneyPromiseEndedByAnAdminIsNotBroken(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	promised := start.Add(25 * day)
	plain := start.Add(27 * day)
	f.at(20*day, update(f, UpdatePause, PauseRequest{Until: &promised, Reason: "promise to pay", Promise: true}, true, nil))
	f.at(22*day, update(f, UpdatePause, PauseRequest{Until: &plain, Reason: "called, waits a bit more"}, true, nil))
	f.at(20*day+time.Hour, update(f, UpdatePause, PauseRequest{Reason: "no date", Promise: true}, false, nil))
	f.signal(29*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
	require.Empty(t, f.flags)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {27, policy.StepReminder}}, f.sent())
}
