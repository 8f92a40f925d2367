package domain

import (
	"errors"
	"fmt"
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

// ErrNoProvidedEmail is returned when a provided email is accepted or
// dismissed but the customer has none (anymore).
var ErrNoProvidedEmail = errors.New("customer has no provided email")

// ErrNotSignalled wraps the failure to tell running journeys about a change
// that the database already holds. The change stands (the sending activity
// re-reads the database before every message); the call is idempotent and
// may be repeated to deliver the signals.
var ErrNotSignalled = errors.New("journeys not signalled")

// ErrInvalidPhone is a phone an admin typed that is not a phone number in
// the customer's country.
var ErrInvalidPhone = errors.New("not a valid phone number")

// ErrDuplicate is returned when an invoice number is already used in the administration.
var ErrDuplicate = errors.New("duplicate")

// ErrJourneyEnded is returned when a signal reaches a journey that already ended.
var ErrJourneyEnded = errors.New("journey has ended")

// Errors of payments, credits and disputes; the API maps them to 409 (the
// invoice's state forbids the action) and 422 (the amount breaks a rule).
var (
	// ErrInvoiceClosed: the invoice is paid or credited, its journey is over.
	ErrInvoiceClosed = errors.New("invoice is closed")
	// ErrDisputeState: a dispute is opened twice, or resolved when none is open.
	ErrDisputeState = errors.New("dispute state")
	// ErrDuplicatePayment: a payment with this reference is already registered on the invoice.
	ErrDuplicatePayment = errors.New("payment already registered")
	// ErrPaymentAmount: the amount is not positive or more than the open amount.
	ErrPaymentAmount = errors.New("invalid payment amount")
	// ErrPaymentCurrency: the payment's currency is not the invoice's.
	ErrPaymentCurrency = errors.New("payment currency differs from the invoice's")
)

// ErrInvalidKey is an API key that is unknown or revoked.
var ErrInvalidKey = errors.New("invalid API key")

// ErrUnknownEmail: a bounce report names no email in the outbox (a message
// sent by another system through the same mailbox, a purged row, or a
// report without the original Message-ID). The webhook answers 200 for it:
// no retry of the MTA can make it known.
var ErrUnknownEmail = errors.New("no email in the outbox has the bounced Message-ID")

// Errors of the Vonage webhooks' store operations. The handlers answer 200
// for both (and log them): Vonage retries any other answer for a day, and no
// retry can make an unknown message or number known.
var (
	// ErrUnknownMessage: a delivery receipt matches no SMS in the outbox
	// (another system on the same Vonage account, or a purged row).
	ErrUnknownMessage = errors.New("no SMS in the outbox matches the delivery receipt")
	// ErrUnknownSender: an inbound SMS comes from a number no customer has.
	ErrUnknownSender = errors.New("no customer has the sender's mobile number")
)
