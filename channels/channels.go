// Package channels is the contract between the sending activity and the three
// delivery channels (email, SMS, postal letter).
//
// The activity owns the outbox row, the channel choice (docs/domain.md §1.2) and the
// rendering of the texts; a sender only delivers one already-rendered message
// and classifies what went wrong, so that the activity can tell Temporal
// whether a retry can help (docs/domain.md §2.1). Every message carries a Key, unique
// per message (workflow ID + step + channel): senders pass it to the provider as
// an idempotency key so that a retried activity does not produce a second
// message where the provider supports it.
package channels

import (
	"context"
	"errors"
)

// Email is one rendered email, ready to be sent.
type Email struct {
	// Key uniquely identifies the message, e.g. "invoice:3:INV-1/step-2/email".
	// The Message-ID derives from it, so a resend of the same key carries the
	// same Message-ID and the receiving side can recognise the duplicate.
	Key string
	// FromName and From are the display name and address of the sender.
	FromName, From string
	// ReplyTo is where the customer's answer goes (the organization inbox);
	// empty means no Reply-To header.
	ReplyTo string
	// To and ToName are the recipient's address and display name.
	To, ToName string
	// AlsoTo are further recipients (To), Cc the recipients in copy; both
	// appear in the headers.
	AlsoTo, Cc []Address
	// Bcc receive a blind copy: they are envelope recipients only, never
	// named in the headers (the administration's archive address).
	Bcc []string
	// Subject may contain any Unicode text; it is encoded per RFC 2047.
	Subject string
	// HTML and Text are the two alternative bodies; both should carry the
	// customer's portal link.
	HTML, Text string
	// Headers are extra header fields (e.g. List-Unsubscribe, X-Relance-*).
	Headers map[string]string
}

// Address is an email address with an optional display name.
type Address struct {
	Name, Email string
}

// EmailSender delivers one email. providerID identifies the message at the
// provider (for SMTP: the Message-ID) and is stored on the outbox row.
type EmailSender interface {
	SendEmail(ctx context.Context, m Email) (providerID string, err error)
}

// SMS is one rendered text message.
type SMS struct {
	// Key uniquely identifies the message; it becomes the Vonage client-ref,
	// which comes back on delivery receipts so they can be matched to the
	// outbox row.
	Key string
	// From is the sender ID (alphanumeric or a number); empty means the
	// client's configured default.
	From string
	// To is the recipient's mobile number in E.164 ("+33612345678").
	To string
	// Text is the message body; non GSM-7 text is sent as Unicode.
	Text string
	// Begin, when set, is called once the sender is about to make the
	// request that may reach the provider (after waiting for its rate
	// limit, for instance), never before: the outbox marks the message
	// sending there, so that a message still waiting is not taken for
	// one the provider may have. An error from Begin aborts the send
	// without any request, and SendSMS returns it (wrapped or as is).
	Begin func(ctx context.Context) error
}

// SMSSender delivers one SMS. providerID is the provider's message ID (for a
// multipart SMS, the first part's).
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) (providerID string, err error)
}

// PostalAddress is an address as printed on an envelope.
type PostalAddress struct {
	// Name is the addressee (company or person).
	Name string
	// Lines are the street lines, in printing order.
	Lines []string
	// PostalCode, City and Country complete the address; Country is printed
	// as given (the renderer does not translate country codes).
	PostalCode, City, Country string
}

// LetterItem is one open item of the letter's table; every field is already
// formatted for the letter's language (dates, money).
type LetterItem struct {
	Number, IssueDate, DueDate, Amount, Open string
	// Step is the item's own step in a bundle (reminder, final reminder),
	// printed in place of the issue date; empty outside bundles.
	Step string
}

// Letter is one rendered postal letter.
type Letter struct {
	// Key uniquely identifies the letter; providers use it as the
	// idempotency key (or file name).
	Key string
	// Language is the letter's language (nl, fr, en, de); it chooses the
	// table headings.
	Language string
	// Sender is the administration's name and address, printed as the
	// letterhead and as the return line above the recipient.
	Sender PostalAddress
	// SenderDetails are extra letterhead lines: phone, email, bank details.
	SenderDetails []string
	// LogoPNG is the optional company logo (PNG bytes).
	LogoPNG []byte
	// Recipient is printed in the envelope window.
	Recipient PostalAddress
	// Date is the letter's date, already formatted.
	Date string
	// Subject is printed in bold above the body.
	Subject string
	// Paragraphs is the rendered body text, one entry per paragraph.
	Paragraphs []string
	// Items are the open items listed in a table; ItemsTotal is its total.
	Items      []LetterItem
	ItemsTotal string
	// PortalLink is the customer's personal portal link, printed in full.
	PortalLink string
	// PortalHome and PortalCode: the short way in, printed under the link
	// for a reader who types it ("go to PortalHome and enter PortalCode").
	PortalHome, PortalCode string
	// AskEmail prints a framed request to give an email address on the
	// portal (docs/domain.md §1.3), with AskEmailText and the link.
	AskEmail     bool
	AskEmailText string
}

// LetterSender delivers one letter (renders it and hands it to a
// print-and-mail service or a folder). providerID identifies the letter at the
// provider.
type LetterSender interface {
	SendLetter(ctx context.Context, l Letter) (providerID string, err error)
}

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks an error that a retry cannot fix (invalid number, rejected
// address, refused recipient): the activity returns it as a non-retryable
// Temporal error instead of retrying the provider for hours. Errors that are
// not marked (timeouts, throttling, 4xx SMTP replies, HTTP 5xx) are retryable.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// maybeDeliveredError marks a failure after the message was handed over.
type maybeDeliveredError struct{ err error }

func (e *maybeDeliveredError) Error() string { return e.err.Error() }
func (e *maybeDeliveredError) Unwrap() error { return e.err }

// MaybeDelivered marks a failure that came after the provider had the whole
// message: the SMTP server's reply to the end of DATA never came, or the SMS
// API's answer to a fully written request was lost. The provider may have
// accepted it, and neither SMTP nor Vonage's SMS API lets a sender ask, so
// the outbox records the message as uncertain instead of sending it again
// (a retry could deliver it twice). MaybeDelivered(nil) is nil.
func MaybeDelivered(err error) error {
	if err == nil {
		return nil
	}
	if IsMaybeDelivered(err) {
		return err
	}
	return &maybeDeliveredError{err: err}
}

// IsMaybeDelivered reports whether err, or an error it wraps, was marked
// with MaybeDelivered.
func IsMaybeDelivered(err error) bool {
	var m *maybeDeliveredError
	return errors.As(err, &m)
}

// DefaultSMSPerSecond is the SMS throughput Relance allows when none is
// configured (VONAGE_RATE_PER_SECOND): Vonage's default for an account.
const DefaultSMSPerSecond = 30
