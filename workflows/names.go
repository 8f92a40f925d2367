// Package workflows holds Relance's Temporal workflows and every name they are
// known by: task queues, workflow IDs, signals, queries and search attributes
// are defined here once (docs/domain.md §2.1).
package workflows

import (
	"fmt"
	"strconv"

	"go.temporal.io/sdk/temporal"
)

const (
	// TaskQueue is the task queue of every workflow and of most activities.
	TaskQueue = "relance"
	// SMSTaskQueue carries the sending activities of steps that may send an
	// SMS. Its workers set TaskQueueActivitiesPerSecond to the Vonage account's
	// rate, so the server enforces that rate across all workers.
	SMSTaskQueue = "relance-sms"

	// InvoiceJourneyName is the registered name of InvoiceJourney.
	InvoiceJourneyName = "InvoiceJourney"
	// CollectionCaseName is the registered name of the collection workflow.
	CollectionCaseName = "CollectionCase"
)

// Signal, query and update names.
const (
	SignalPause           = "pause"
	SignalResume          = "resume"
	SignalEmailSubmitted  = "email-submitted"
	SignalInvoiceUpdated  = "invoice-updated"
	SignalDispute         = "dispute"
	SignalDisputeResolved = "dispute-resolved"
	SignalJourneyChanged  = "journey-changed"
	QueryState            = "state"
	UpdateSendNow         = "send-now"
	attrPrefix            = "Relance" // shared by every search attribute below
)

// Change IDs for workflow.GetVersion. Every change to the journey's logic
// after its first committed history is gated by one of these, so journeys
// started by an older worker replay as they ran (workflows/testdata).
const (
	// ChangeHistoryLimit: the continue-as-new threshold may come from
	// JourneyInput.MaxHistoryEvents.
	ChangeHistoryLimit = "history-limit-from-input"
	// ChangeReplanKeepsPlan: a re-plan after journey-changed that fails
	// keeps the current plan instead of failing the journey.
	ChangeReplanKeepsPlan = "replan-failure-keeps-plan"
	// ChangeRenderClock: sends carry the journey's anchor, so that with a
	// scaled day (demos) messages are dated on the journey's clock.
	ChangeRenderClock = "render-on-journey-clock"
	// ChangeOrderedUpdates: an invoice-updated signal older than the last
	// one applied (by the invoice's revision) is ignored.
	ChangeOrderedUpdates = "ordered-invoice-updates"
)

// Search attributes, registered by `relance dev` and the compose setup.
var (
	AttrAdministration = temporal.NewSearchAttributeKeyKeyword(attrPrefix + "Administration")
	AttrCustomer       = temporal.NewSearchAttributeKeyKeyword(attrPrefix + "Customer")
	AttrInvoice        = temporal.NewSearchAttributeKeyKeyword(attrPrefix + "Invoice")
	AttrStage          = temporal.NewSearchAttributeKeyKeyword(attrPrefix + "Stage")
	AttrPaused         = temporal.NewSearchAttributeKeyBool(attrPrefix + "Paused")
)

// SearchAttributes lists every attribute with a zero value, for registering them.
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		AttrAdministration.ValueSet(""), AttrCustomer.ValueSet(""), AttrInvoice.ValueSet(""),
		AttrStage.ValueSet(""), AttrPaused.ValueSet(false),
	)
}

// InvoiceWorkflowID names the journey of one invoice: readable in the UI and
// unique per administration, since invoice numbers are.
func InvoiceWorkflowID(administrationID int64, invoiceNumber string) string {
	return fmt.Sprintf("invoice:%d:%s", administrationID, invoiceNumber)
}

// CaseWorkflowID names the workflow of one collection case.
func CaseWorkflowID(administrationID, caseID int64) string {
	return fmt.Sprintf("case:%d:%d", administrationID, caseID)
}

// AdministrationKey is the value of AttrAdministration for an administration.
func AdministrationKey(administrationID int64) string {
	return strconv.FormatInt(administrationID, 10)
}
