// Package workflows holds Relance's Temporal workflows and every name they are
// known by: task queues, workflow IDs, signals, queries and search attributes
// are defined here once (docs/domain.md §2.1).
package workflows

import (
	"errors"
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
	// ReconcileJourneysName is the registered name of ReconcileJourneys;
	// ReconcileScheduleID the Schedule that runs it and ReconcileWorkflowID
	// the ID prefix of its runs.
	ReconcileJourneysName = "ReconcileJourneys"
	ReconcileScheduleID   = "relance-reconcile-journeys"
	ReconcileWorkflowID   = "reconcile-journeys"
	// InboxReplyName is the registered name of InboxReply.
	InboxReplyName = "InboxReply"
	// JourneyChangeName is the registered name of JourneyChange.
	JourneyChangeName = "JourneyChange"
	// CustomerBundleName is the registered name of CustomerBundle.
	CustomerBundleName = "CustomerBundle"
)

// BundleWorkflowID names the bundle of one customer and currency: one
// workflow at a time collects and sends that customer's reminders.
func BundleWorkflowID(administrationID, customerID int64, currency string) string {
	return fmt.Sprintf("bundle:%d:%d:%s", administrationID, customerID, currency)
}

// InboxReplyWorkflowID is the ID of the workflow that emails inbox reply
// id (an InboxMessage): one per reply, so the reply is sent once.
func InboxReplyWorkflowID(id int64) string {
	return "inbox-reply:" + strconv.FormatInt(id, 10)
}

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
	// The steering Updates: their validators refuse a change the journey
	// would ignore, before anything is written, and the journey records the
	// change on the invoice before it answers. The signals above stay for
	// the Temporal UI and CLI (and for histories that used them).
	UpdatePause          = "pause-journey"
	UpdateResume         = "resume-journey"
	UpdateDispute        = "open-dispute"
	UpdateResolveDispute = "resolve-dispute"

	// SignalCaseInvoiceJoined adds an invoice to a collection case (sent
	// with signal-with-start by the hand-over activity).
	SignalCaseInvoiceJoined = "case-invoice-joined"
	// SignalCaseInvoiceUpdated carries a payment or credit of one of the
	// case's invoices: paid, it leaves the case.
	SignalCaseInvoiceUpdated = "case-invoice-updated"
	// UpdateWaiveCosts waives all or part of a case's costs and interest.
	UpdateWaiveCosts = "waive-costs"
	// UpdateHandOverNow sends the case to the collection agency at once.
	UpdateHandOverNow = "hand-over-now"

	// SignalBundleNudge tells a customer's bundle that a request waits
	// (sent with signal-with-start; the request is a database row).
	SignalBundleNudge = "bundle-nudge"
	// SignalBundleAnswer answers a journey about a step it queued for its
	// customer's bundle (activities.BundleAnswer).
	SignalBundleAnswer = "bundle-answer"
	attrPrefix         = "Relance" // shared by every search attribute below
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
	// ChangeJourney2 is the one gate of every run started since: it turns
	// on all four changes above without their own markers (each GetVersion
	// costs a marker and a TemporalChangeVersion upsert: two history events)
	// and adds: signals drained and re-checked before every return; planning
	// retried until it works, visible on the invoice meanwhile; pause and
	// dispute recorded on the invoice by the journey (steering Updates and
	// signals alike); the ledger line in the current details. Runs started
	// before it keep the gates they recorded. A later change adds its own
	// gate, or a version 2 of this one.
	ChangeJourney2 = "journey-2026-11"
	// ChangeCollectionCase: the journey's collection step joins the
	// customer's collection case (which sends one notice per case) instead
	// of sending a notice per invoice.
	ChangeCollectionCase = "hand-over-joins-case"
	// ChangePromiseToPay: a pause made by a promise to pay that ends with
	// the invoice unpaid flags the invoice (broken_promise). Only a run
	// that holds a promise reaches the gate.
	ChangePromiseToPay = "promise-to-pay"
	// ChangeManualInLoop: a manual action (send-now) is queued by its
	// Update handler and sent by the main loop, which moves the stage
	// forward only (never back), ends the journey on a manual hand-over and
	// keys the outbox by the Update's ID; its validator refuses a closed,
	// disputed or handed-over invoice and a kind the journey has no step of.
	ChangeManualInLoop = "manual-action-in-loop"
	// ChangeBundling: reminders, final reminders and SMS steps go out in the
	// customer's bundle when the administration bundles: the send queues
	// the step, the journey waits for the bundle's answer (steerable all
	// along) and applies it. Only a run that reaches such a step records it.
	ChangeBundling = "customer-bundles"
)

// BrokenPromise is the attention reason of an invoice whose promise to pay
// passed unpaid.
const BrokenPromise = "broken_promise"

// ErrTypeRefused is the application-error type of a steering Update that
// the journey refused (IsRefused): the request breaks the journey's state,
// a retry would be refused again.
const ErrTypeRefused = "RelanceRefused"

// IsRefused reports whether err is an Update the journey refused.
func IsRefused(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == ErrTypeRefused
}

func refused(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeRefused, nil)
}

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

// DevServerArgs are what Relance adds to `temporal server start-dev`
// besides its search attributes (given with --search-attribute, they are
// stored before the server serves). The CLI forces a refresh of the
// search-attribute cache on every lookup, for attributes created while it
// runs: a read of the namespace from its database under one process-wide
// lock, on every workflow start that sets attributes. Relance creates none
// at run time, so it turns that off (docs/benchmarks.md measures it).
func DevServerArgs() []string {
	return []string{"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false"}
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

// OperationWorkflowID names the workflow of an operation (a journey change).
func OperationWorkflowID(administrationID, operationID int64) string {
	return fmt.Sprintf("operation:%d:%d", administrationID, operationID)
}

// AdministrationKey is the value of AttrAdministration for an administration.
func AdministrationKey(administrationID int64) string {
	return strconv.FormatInt(administrationID, 10)
}
