package app

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"gorm.io/gorm"
)

// Errors of the application layer; the API maps them to HTTP statuses at the
// edge (404, 409, 503), and so does any other edge.
var (
	// ErrNotFound: the object does not exist, or belongs to another
	// organization (which must not be told apart from not existing).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object's state forbids the change.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: a dependency (Temporal, the database) did not answer;
	// nothing was changed and the call may be repeated.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldError is input at fault, naming the field or parameter: either
// malformed (Rule false; the API answers 400) or well-formed but breaking a
// domain rule (Rule true; 422).
type FieldError struct {
	Field  string
	Reason string
	Rule   bool
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Invalid is a FieldError for malformed input.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// RuleBroken is a FieldError for input that breaks a domain rule.
func RuleBroken(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Rule: true}
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
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
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w: %w", what, ErrConflict, err)
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
