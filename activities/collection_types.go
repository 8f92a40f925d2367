package activities

import (
	"context"
	"time"
)

// CaseJoin is what the case workflow needs to start, or to take an invoice in.
type CaseJoin struct {
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	CustomerRef      string `json:"customer_ref"`
	CaseID           int64  `json:"case_id"`
	Currency         string `json:"currency"`
	InvoiceID        int64  `json:"invoice_id"`
	InvoiceNumber    string `json:"invoice_number"`
	OpenMinor        int64  `json:"open_minor"`
	// Summary is the case's one-line entry in the Temporal UI.
	Summary string `json:"summary"`
}

// CaseStarter signals a case workflow that an invoice joined, starting it
// when it is not running (signal-with-start). Package workflows implements
// it; activities cannot import workflows.
type CaseStarter interface {
	JoinCase(ctx context.Context, j CaseJoin) (workflowID string, err error)
}

// JoinCaseInput hands an invoice over to its customer's collection case.
type JoinCaseInput struct {
	WorkflowID       string `json:"workflow_id"`
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	InvoiceID        int64  `json:"invoice_id"`
}

// JoinCaseResult names the case the invoice joined; Skipped when the
// invoice was closed by then (nothing to collect).
type JoinCaseResult struct {
	CaseID         int64  `json:"case_id"`
	CaseWorkflowID string `json:"case_workflow_id"`
	Skipped        bool   `json:"skipped"`
	Reason         string `json:"reason,omitempty"`
	InvoiceStatus  string `json:"invoice_status"`
	OpenMinor      int64  `json:"open_minor"`
}

// PlanCaseInput asks for the timing of a case.
type PlanCaseInput struct {
	AdministrationID int64 `json:"administration_id"`
	CaseID           int64 `json:"case_id"`
}

// PlanCaseResult is the gap between two stages (in journey days, so scaled
// with RELANCE_DAY), already lengthened for a consumer to the WIK's 14 days.
type PlanCaseResult struct {
	Gap      time.Duration `json:"gap"`
	Consumer bool          `json:"consumer"`
}

// CaseStageInput sends one stage of a case: one message per channel for the
// whole case, whatever its number of invoices.
type CaseStageInput struct {
	WorkflowID       string `json:"workflow_id"`
	AdministrationID int64  `json:"administration_id"`
	CustomerID       int64  `json:"customer_id"`
	CaseID           int64  `json:"case_id"`
	// Stage is notice_of_default, last_notice or agency.
	Stage string `json:"stage"`
	// Key is unique per stage of the case; the outbox key adds the channel.
	Key string `json:"key"`
	// WaivedMinor (or WaiveAll) is what an admin waived of costs and interest.
	WaivedMinor int64 `json:"waived_minor"`
	WaiveAll    bool  `json:"waive_all,omitempty"`
	// Anchor is the case's day 0 (scaled days date messages on its clock).
	Anchor time.Time `json:"anchor,omitzero"`
}

// CaseStageResult reports a stage's messages and the claim they stated.
type CaseStageResult struct {
	Outcomes []ChannelOutcome `json:"outcomes"`
	Skipped  bool             `json:"skipped"`
	Reason   string           `json:"reason,omitempty"`
	Sent     bool             `json:"sent"`
	// OpenInvoices is how many of the case's invoices were open: 0 means
	// the case has nothing left to collect (the stage was not sent).
	OpenInvoices int `json:"open_invoices"`
	// ClosedInvoices are the case's invoices the database has paid or
	// credited (their signal may still be on its way).
	ClosedInvoices []int64 `json:"closed_invoices,omitempty"`
	PrincipalMinor int64   `json:"principal_minor"`
	InterestMinor  int64   `json:"interest_minor"`
	CostsMinor     int64   `json:"costs_minor"`
	TotalMinor     int64   `json:"total_minor"`
}

// HandOverInput gives a case to the collection agency.
type HandOverInput struct {
	WorkflowID       string `json:"workflow_id"`
	AdministrationID int64  `json:"administration_id"`
	CaseID           int64  `json:"case_id"`
	Key              string `json:"key"`
	WaivedMinor      int64  `json:"waived_minor"`
	WaiveAll         bool   `json:"waive_all,omitempty"`
}

// HandOverResult says how: "webhook" (the agency acknowledged) or "case_file"
// (no webhook configured: the file waits for download in the API).
type HandOverResult struct {
	Via string `json:"via"`
}

// CaseEventRecord is one timeline line of a case, unique by Key.
type CaseEventRecord struct {
	Key         string    `json:"key"`
	Kind        string    `json:"kind"`
	Detail      string    `json:"detail,omitempty"`
	AmountMinor int64     `json:"amount_minor,omitempty"`
	At          time.Time `json:"at"`
}

// SyncCaseInput writes the case's timeline events and its row as the
// workflow sees it (stage, pause, dispute, waiver), for the API's lists.
type SyncCaseInput struct {
	CaseID      int64             `json:"case_id"`
	Events      []CaseEventRecord `json:"events,omitempty"`
	Stage       string            `json:"stage"`
	Paused      bool              `json:"paused"`
	PausedUntil *time.Time        `json:"paused_until,omitempty"`
	PauseReason string            `json:"pause_reason,omitempty"`
	Disputed    bool              `json:"disputed"`
	WaivedMinor int64             `json:"waived_minor"`
	WaiveAll    bool              `json:"waive_all,omitempty"`
	// Left are the invoices that left the case (paid or credited).
	Left []CaseInvoiceLeft `json:"left,omitempty"`
}

// SyncCaseResult counts the events written (0 on a retry).
type SyncCaseResult struct {
	Recorded int `json:"recorded"`
}

// CloseCaseInput closes a case whose invoices are all paid.
type CloseCaseInput struct {
	CaseID int64 `json:"case_id"`
}

// CloseCaseResult: Closed is false when the database still has an open
// invoice in the case (one joined whose signal is on its way).
type CloseCaseResult struct {
	Closed bool `json:"closed"`
}

// CaseInvoiceLeft is an invoice that left its case.
type CaseInvoiceLeft struct {
	InvoiceID int64     `json:"invoice_id"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}
