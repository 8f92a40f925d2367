package app

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"gorm.io/gorm"

	"github.com/relance/relance/domain"
)

func conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), domain.ErrConflict)
}

// storeErr wraps a database error of what: a missing row is ErrNotFound, a
// unique-index clash ErrConflict, anything else stays as it is.
func storeErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w: %w", what, domain.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// temporalUnavailable reports whether err means the Temporal service did not
// answer (down, overloaded, or too slow for the call's deadline), as opposed
// to an answer that refuses the call.
func temporalUnavailable(err error) bool {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		canceled    *serviceerror.Canceled
	)
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.As(err, &canceled) || errors.Is(err, context.DeadlineExceeded)
}
