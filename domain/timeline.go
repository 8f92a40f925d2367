package domain

import (
	"time"

	"github.com/relance/relance/policy"
)

// Kinds of the entries of an invoice's timeline (docs/domain.md §1.7):
// a message (sent, skipped with its reason, failed), a delivery report on
// a message (a bounce, a delivery), a payment, and the invoice's events
// (models.InvoiceEvent: paused, resumed, disputed, dispute_resolved,
// email_submitted, imported).
const (
	EntryMessage  = "message"
	EntryDelivery = "delivery"
	EntryPayment  = "payment"
)

// InvoiceTimeline is what happened to an invoice, in time order, and what
// its journey plans next, with the channels chosen as they would be now.
type InvoiceTimeline struct {
	Entries []TimelineEntry
	// Planned is empty once the journey has ended; PlannedError says why
	// the journey could not be asked (the past is shown all the same).
	Planned      []PlannedStep
	PlannedError string
	Stage        Stage
}

// TimelineEntry is one thing that happened. Message is set for message and
// delivery entries, AmountMinor and Currency for payments.
type TimelineEntry struct {
	At          time.Time
	Kind        string
	Detail      string
	Message     *TimelineMessage
	AmountMinor int64
	Currency    string
}

// TimelineMessage is one outbox row: a message sent (or not) on one channel.
type TimelineMessage struct {
	ID              int64
	StepKind        policy.StepKind
	Channel         string
	State           string
	Reason          string
	Manual          bool
	Recipient       string
	Subject         string
	TemplateID      *int64
	TemplateVersion int
	DeliveryStatus  string
	DeliveryAt      *time.Time
}

// PlannedStep is a step the journey will send: when, what, and on which
// channels it would go if it were sent now (or why it would be skipped).
type PlannedStep struct {
	Position int
	Kind     policy.StepKind
	At       time.Time
	Next     bool
	Choice   *ChannelChoice
}
