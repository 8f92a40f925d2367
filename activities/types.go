package activities

import (
	"time"

	"github.com/relance/relance/policy"
)

// ErrTypePermanent is the application-error type of failures a retry cannot
// fix; workflows list it in NonRetryableErrorTypes.
const ErrTypePermanent = "RelancePermanent"

// ErrTypeInvoiceGone is the application-error type of a plan for an invoice
// that no longer exists: the only planning failure that ends a journey.
const ErrTypeInvoiceGone = "RelanceInvoiceGone"

// ReasonInvoiceClosed is the skip reason of a step whose invoice was paid,
// credited or closed before it went out (SendStep, a bundle's answer).
const ReasonInvoiceClosed = "invoice_closed"

// PlanInput asks for the schedule of an invoice's journey.
type PlanInput struct {
	AdministrationID int64 `json:"administration_id"`
	CustomerID       int64 `json:"customer_id"`
	InvoiceID        int64 `json:"invoice_id"`
	// Anchor is the instant the journey started: day 0 of a scaled day.
	Anchor time.Time `json:"anchor"`
}

// PlannedStep is one step of a journey with the instant it falls due.
type PlannedStep struct {
	Position   int             `json:"position"`
	OffsetDays int             `json:"offset_days"`
	Kind       policy.StepKind `json:"kind"`
	Template   string          `json:"template"`
	At         time.Time       `json:"at"`
}

// PlanResult is the journey that applies to the invoice now, with its times.
type PlanResult struct {
	JourneyID   int64         `json:"journey_id"`
	JourneyName string        `json:"journey_name"`
	Steps       []PlannedStep `json:"steps"`
	// MinGap is the least time between two messages about one invoice.
	MinGap time.Duration `json:"min_gap"`
}

// StepRef names the step a message belongs to.
type StepRef struct {
	Position   int             `json:"position"`
	OffsetDays int             `json:"offset_days"`
	Kind       policy.StepKind `json:"kind"`
	Template   string          `json:"template"`
}

// SendInput asks to send one step of a journey on the channels the settings
// allow at this moment.
type SendInput struct {
	WorkflowID       string `json:"workflow_id"`
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	InvoiceID        int64  `json:"invoice_id"`
	// CaseID is set instead of InvoiceID for a collection case's stage.
	CaseID int64   `json:"case_id,omitempty"`
	Step   StepRef `json:"step"`
	// Key is unique per step of a workflow; the outbox key adds the channel.
	Key string `json:"key"`
	// Stage is recorded on the invoice when something was sent.
	Stage string `json:"stage"`
	// Manual marks an admin's action: its text may be edited (Subject, Body)
	// and it ignores the minimum gap.
	Manual  bool   `json:"manual,omitempty"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
	// Channels narrows the channels the choice allows (a manual action that
	// names its channels; policy.Only). Empty: as chosen.
	Channels []policy.Channel `json:"channels,omitempty"`
	// Anchor is the journey's day 0. With a scaled day (RELANCE_DAY other
	// than 24h) messages are dated on the journey's clock, so that a demo's
	// reminder says "14 days overdue" when 14 journey days have passed.
	Anchor time.Time `json:"anchor,omitzero"`
	// Bundle: the journey takes a bundle's answer (ChangeBundling). When the
	// administration bundles and the step is one a bundle carries
	// (BundledKind), SendStep sends nothing: it queues the step for the
	// customer's bundle and answers Bundled.
	Bundle bool `json:"bundle,omitempty"`
}

// ChannelOutcome is what happened on one channel.
type ChannelOutcome struct {
	Channel   policy.Channel `json:"channel"`
	State     string         `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	MessageID int64          `json:"message_id,omitempty"`
}

// SendResult reports a step's messages. Skipped is set when no channel applied.
type SendResult struct {
	Outcomes []ChannelOutcome `json:"outcomes"`
	Skipped  bool             `json:"skipped"`
	Reason   string           `json:"reason,omitempty"`
	// Sent is true when at least one message left (or may have left: uncertain).
	Sent bool `json:"sent"`
	// InvoiceStatus and OpenMinor are the invoice as the database has it now:
	// an import may have closed it before its signal arrived.
	InvoiceStatus string `json:"invoice_status"`
	OpenMinor     int64  `json:"open_minor"`
	// Bundled: the step waits in its customer's bundle (BundleWorkflowID);
	// the bundle answers the journey with a BundleAnswer signal.
	Bundled          bool   `json:"bundled,omitempty"`
	BundleWorkflowID string `json:"bundle_workflow_id,omitempty"`
}

// RecordSkippedInput records steps that will not be sent (late entry, catch-up).
type RecordSkippedInput struct {
	WorkflowID       string    `json:"workflow_id"`
	AdministrationID int64     `json:"administration_id"`
	CustomerID       int64     `json:"customer_id"`
	InvoiceID        int64     `json:"invoice_id"`
	Steps            []StepRef `json:"steps"`
	Keys             []string  `json:"keys"`
	Reason           string    `json:"reason"`
}

// RecordSkippedResult counts the rows written.
type RecordSkippedResult struct {
	Recorded int `json:"recorded"`
}
