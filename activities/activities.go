// Package activities holds everything a workflow asks the outside world to
// do: plan a journey from the database, send a step through the channels,
// record the timeline. One struct carries the injected dependencies.
package activities

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/portal"
)

// Activities are the methods workflows call as activities.
type Activities struct {
	DB      *gorm.DB
	Email   channels.EmailSender
	SMS     channels.SMSSender
	Letters channels.LetterSender
	Portal  portal.Links
	// Day is the length of a journey day (RELANCE_DAY).
	Day time.Duration
	// DefaultFrom is the sender when an administration has none.
	DefaultFrom string
	// Cases starts and signals collection cases (signal-with-start); the
	// worker sets it to workflows.CaseStarter.
	Cases CaseStarter
	// HTTP posts to the collection agency's webhook; nil: http.DefaultClient.
	HTTP *http.Client
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Reconcile is the reconciler's pass (ReconcileJourneys activity).
	Reconcile ReconcileFunc
	// Signals tells running journeys of a change (operations) and answers
	// the journeys of a bundle; the worker sets it to its Temporal client.
	Signals Signaller
	// Bundles starts and nudges customers' bundle workflows
	// (workflows.BundleStarter).
	Bundles BundleStarter
	// BundleWindow is how long a bundle collects after its first request;
	// zero: BundleWindowFor(Day).
	BundleWindow time.Duration
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// journeyNow is the instant messages are dated at. At the real day length it
// is now; with a scaled day it is the journey's clock: the anchor plus as
// many calendar days as journey days have passed (the plan dates steps the
// same way, schedule.Plan), so dates and "days overdue" in a demo's messages
// match the step being sent.
func (a *Activities) journeyNow(anchor time.Time) time.Time {
	now := a.now()
	if anchor.IsZero() || a.Day <= 0 || a.Day == 24*time.Hour || now.Before(anchor) {
		return now
	}
	days := int(now.Sub(anchor) / a.Day)
	return anchor.UTC().AddDate(0, 0, days)
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// permanent makes err non-retryable for Temporal.
func permanent(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePermanent, err)
}

// notFound turns a missing row into a permanent error: retrying cannot make
// a deleted invoice appear.
func notFound(what string, id int64, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return permanent(fmt.Errorf("%s %d not found: %w", what, id, err))
	}
	return fmt.Errorf("load %s %d: %w", what, id, err)
}
