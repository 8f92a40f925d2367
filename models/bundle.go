package models

import "time"

// Bundling says whether an administration's reminders to one customer go
// out as one message per channel (on, the default) or one per invoice.
type Bundling string

// The bundling modes.
const (
	BundlingOn  Bundling = "on"
	BundlingOff Bundling = "off"
)

// Valid reports whether b is a known mode.
func (b Bundling) Valid() bool { return b == BundlingOn || b == BundlingOff }

// MinimumAmount is an administration's threshold per currency: no reminder
// goes to a customer whose overdue total in that currency is under it; the
// steps are held (BundleHeld) until the total reaches it.
type MinimumAmount struct {
	ID               int64     `gorm:"primaryKey" json:"id"`
	AdministrationID int64     `gorm:"not null;uniqueIndex:ux_minimum_amount,priority:1" json:"administration_id"`
	Currency         string    `gorm:"size:3;not null;uniqueIndex:ux_minimum_amount,priority:2" json:"currency"`
	AmountMinor      int64     `gorm:"not null" json:"amount_minor"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// BundleState is where a journey's request to join its customer's bundle is.
type BundleState string

// The states of a bundle request.
const (
	// BundlePending: waiting for the customer's bundle to be sent.
	BundlePending BundleState = "pending"
	// BundleHeld: the customer's overdue total was under the minimum
	// amount; a later bundle over the minimum takes it along.
	BundleHeld BundleState = "held"
	// BundleSent: it went out in the bundle named by BundleKey.
	BundleSent BundleState = "sent"
	// BundleAnswered: the journey was answered without a send (the invoice
	// was paid, paused or moved to another customer, or the minimum gap
	// moved the step later); a new request of the same step reopens it.
	BundleAnswered BundleState = "answered"
)

// BundleRequest is one invoice step waiting for, or sent in, its customer's
// bundle. The bundle workflow carries no payloads: it reads these rows, so
// that a customer with thousands of invoices stays far from Temporal's
// payload and history limits. StepKey is the journey's step key (unique).
type BundleRequest struct {
	ID               int64  `gorm:"primaryKey" json:"id"`
	AdministrationID int64  `gorm:"not null;index:ix_bundle_queue,priority:1" json:"administration_id"`
	CustomerID       int64  `gorm:"not null;index:ix_bundle_queue,priority:2" json:"customer_id"`
	Currency         string `gorm:"size:3;not null;index:ix_bundle_queue,priority:3" json:"currency"`
	InvoiceID        int64  `gorm:"not null;index" json:"invoice_id"`
	// WorkflowID is the invoice's journey, which the answer is signalled to.
	WorkflowID string `gorm:"size:255;not null" json:"workflow_id"`
	StepKey    string `gorm:"size:255;not null;uniqueIndex" json:"step_key"`
	Position   int    `gorm:"not null" json:"position"`
	OffsetDays int    `gorm:"not null" json:"offset_days"`
	Kind       string `gorm:"size:32;not null" json:"kind"`
	Template   string `gorm:"size:255" json:"template"`
	// Stage is what the invoice's stage becomes when the step went out.
	Stage string `gorm:"size:32" json:"stage"`
	// Anchor is the journey's day 0 (messages are dated on its clock).
	Anchor time.Time   `json:"anchor"`
	State  BundleState `gorm:"size:16;not null;index" json:"state"`
	// BundleKey names the bundle it went out in (the outbox key's stem);
	// Outcomes is the JSON of the answer given to the journey.
	BundleKey  string     `gorm:"size:255;index" json:"bundle_key,omitempty"`
	Reason     string     `gorm:"size:255" json:"reason,omitempty"`
	Outcomes   string     `gorm:"type:text" json:"outcomes,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}
