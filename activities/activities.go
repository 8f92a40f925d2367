// Package activities holds everything a workflow asks the outside world to
// do: plan a journey from the database, send a step through the channels,
// record the timeline. One struct carries the injected dependencies.
package activities

import (
	"errors"
	"fmt"
	"log/slog"
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
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
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
