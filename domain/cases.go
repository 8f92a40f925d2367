package domain

import (
	"time"

	"github.com/relance/relance/models"
)

// CaseStages are the stages of a collection case, for filters.
var CaseStages = []models.CaseStage{models.CaseOpen, models.CaseNoticeOfDefault, models.CaseLastNotice, models.CaseAgency, models.CaseClosed}

// CaseFilter narrows a list of an administration's collection cases.
type CaseFilter struct {
	Stage      models.CaseStage
	Paused     *bool
	CustomerID int64
}

// CaseDetail is one case with its invoices and, from its workflow, the
// stages that went out and the one to come.
type CaseDetail struct {
	Case     models.CollectionCase `json:"case"`
	Invoices []CaseInvoice         `json:"invoices"`
	Stages   []CaseStage           `json:"stages"`
	// NextStage and NextAt are the stage to come and when (empty with the
	// agency or when closed; NextAt empty when due at once).
	NextStage string     `json:"next_stage,omitempty"`
	NextAt    *time.Time `json:"next_at,omitempty"`
	// StateError says why the workflow's state could not be read (the
	// stored case is served all the same).
	StateError string `json:"state_error,omitempty"`
}

// CaseInvoice is an invoice of a case, with when it joined and left.
type CaseInvoice struct {
	InvoiceID  int64                `json:"invoice_id"`
	Number     string               `json:"number"`
	DueDate    time.Time            `json:"due_date"`
	Currency   string               `json:"currency"`
	OpenMinor  int64                `json:"open_minor"`
	Status     models.InvoiceStatus `json:"status"`
	JoinedAt   time.Time            `json:"joined_at"`
	LeftAt     *time.Time           `json:"left_at,omitempty"`
	LeftReason string               `json:"left_reason,omitempty"`
}

// CaseStage is one stage as it went out, with the claim it stated.
type CaseStage struct {
	Stage         string    `json:"stage"`
	At            time.Time `json:"at"`
	Sent          bool      `json:"sent"`
	Reason        string    `json:"reason,omitempty"`
	Channels      []string  `json:"channels,omitempty"`
	InterestMinor int64     `json:"interest_minor"`
	CostsMinor    int64     `json:"costs_minor"`
	TotalMinor    int64     `json:"total_minor"`
}

// CaseTimelineEntry is one line of a case's timeline: a message (Kind
// "message", with its channel and state) or an event (joined, left, paused,
// resumed, costs_waived, handed_over, closed, stage).
type CaseTimelineEntry struct {
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`
	Detail      string    `json:"detail,omitempty"`
	AmountMinor int64     `json:"amount_minor,omitempty"`
	MessageID   int64     `json:"message_id,omitempty"`
	Channel     string    `json:"channel,omitempty"`
	State       string    `json:"state,omitempty"`
	Reason      string    `json:"reason,omitempty"`
}

// WaiverInput waives AmountMinor of a case's costs and interest (costs
// first), or all of them.
type WaiverInput struct {
	AmountMinor int64  `json:"amount_minor"`
	All         bool   `json:"all"`
	Reason      string `json:"reason"`
}

// File is a document the API serves for download (a case file as CSV or PDF).
type File struct {
	Name        string
	ContentType string
	Body        []byte
}
