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
	// EntryBundle is a step of the invoice's journey that its customer's
	// bundle carries (docs/bundling.md): waiting in it, held under the
	// minimum amount, or sent in the bundle's one message per channel.
	EntryBundle = "bundle"
)

// The states of a bundled step on the timeline, from its bundle request
// (models.BundleRequest) and the answer the bundle gave the journey.
const (
	// BundleWaiting: the step waits in the customer's bundle, which
	// collects the customer's steps of the send window before it sends.
	BundleWaiting = "bundled"
	// BundleHeld: the customer's overdue total is under the minimum amount.
	BundleHeld = "held"
	// BundleSent: the step went out in the bundle's messages.
	BundleSent = "sent"
	// BundleSkipped: answered without a send (the invoice was closed, or no
	// channel applied).
	BundleSkipped = "skipped"
	// BundleFailed: the bundle's messages failed on every channel.
	BundleFailed = "failed"
	// BundlePostponed: the customer's minimum gap moved the step to NotBefore.
	BundlePostponed = "postponed"
	// BundleRequeued: the invoice was paused, disputed or moved to another
	// customer; its journey takes the step back and asks again.
	BundleRequeued = "requeued"
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
// delivery entries, AmountMinor and Currency for payments, Bundle for
// bundle entries.
type TimelineEntry struct {
	At          time.Time
	Kind        string
	Detail      string
	Message     *TimelineMessage
	AmountMinor int64
	Currency    string
	Bundle      *TimelineBundle
}

// TimelineBundle is a step of the invoice's journey in its customer's
// bundle: its state (BundleWaiting, BundleHeld, BundleSent, ...), the
// bundle's workflow, and, once sent, the bundle's messages (one per
// channel, shared by every invoice it covered).
type TimelineBundle struct {
	StepKey  string
	Position int
	StepKind policy.StepKind
	State    string
	Reason   string
	// WorkflowID is the customer's bundle workflow (bundle:<adm>:<customer>:<currency>).
	WorkflowID string
	// BundleKey names the bundle the step went out in.
	BundleKey string
	// NotBefore is when the journey asks again (BundlePostponed, BundleHeld).
	NotBefore *time.Time
	// Invoices is the number of invoices the bundle covered.
	Invoices int
	Messages []TimelineMessage
}

// MessageBundle is what a bundle message covers: the invoices whose steps
// went out in it. Empty for a message about one invoice.
type MessageBundle struct {
	WorkflowID string
	BundleKey  string
	Invoices   []BundledInvoice
}

// BundledInvoice is one invoice a bundle message covered, with the step of
// its journey that went out in it.
type BundledInvoice struct {
	InvoiceID int64
	Number    string
	Currency  string
	OpenMinor int64
	DueDate   time.Time
	Position  int
	StepKind  policy.StepKind
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
