package workflows

import (
	"time"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/policy"
)

// Stage is how far an invoice's journey has come (domain.Stage: the
// RelanceStage search attribute and the invoice's stage in the API).
type Stage = domain.Stage

// Journey stages (see domain.Stage).
const (
	StageScheduled     = domain.StageScheduled
	StageInvoiced      = domain.StageInvoiced
	StageReminded      = domain.StageReminded
	StageFinalReminder = domain.StageFinalReminder
	StageCollection    = domain.StageCollection
	StagePaid          = domain.StagePaid
	StageCredited      = domain.StageCredited
	StageCompleted     = domain.StageCompleted
)

// StageAfter is the stage reached once a step of kind k went out (domain.StageAfter).
func StageAfter(current Stage, k policy.StepKind) Stage { return domain.StageAfter(current, k) }

// InvoiceStatus values carried by InvoiceUpdatedSignal; they match models.InvoiceStatus.
const (
	StatusOpen     = "open"
	StatusPaid     = "paid"
	StatusCredited = "credited"
)

// Outcome says why a journey ended.
type Outcome string

// Journey outcomes.
const (
	OutcomePaid       Outcome = "paid"
	OutcomeCredited   Outcome = "credited"
	OutcomeCollection Outcome = "collection"
	OutcomeCompleted  Outcome = "completed"
)

// Skip reasons the journey itself records (the channel choice has its own).
const (
	ReasonImportedLate = "imported_late"
	ReasonCaughtUp     = "caught_up"
	ReasonSendFailed   = "send_failed"
	// ReasonSuperseded: a manual action moved the stage past this planned
	// step (e.g. a reminder planned after a manual final reminder).
	ReasonSuperseded = "superseded"
)

// JourneyInput starts an invoice's journey. State is set only by
// continue-as-new, to carry the journey over.
type JourneyInput struct {
	AdministrationID int64         `json:"administration_id"`
	CustomerID       int64         `json:"customer_id"`
	CustomerRef      string        `json:"customer_ref"`
	InvoiceID        int64         `json:"invoice_id"`
	InvoiceNumber    string        `json:"invoice_number"`
	OpenMinor        int64         `json:"open_minor"`
	Currency         string        `json:"currency"`
	State            *JourneyState `json:"state,omitempty"`
	// MaxHistoryEvents is the history length after which the journey
	// continues as new (0: 5000). Tests set it low to exercise the carry-over.
	MaxHistoryEvents int `json:"max_history_events,omitempty"`
	// Cycle numbers the journeys of one invoice (models.Invoice.JourneyCycle):
	// an invoice reopened after its journey ended gets a journey of the next
	// cycle under the same workflow ID. From cycle 2 on it is part of the
	// outbox keys, so no step is taken for the earlier journey's.
	Cycle int `json:"cycle,omitempty"`
	// Summary is the invoice's ledger line (the start's static summary):
	// every run shows it in its current details, since a run continued as
	// new has no static summary of its own.
	Summary string `json:"summary,omitempty"`
}

// JourneyResult is how a journey ended.
type JourneyResult struct {
	Outcome Outcome `json:"outcome"`
	Stage   Stage   `json:"stage"`
	// Sent counts the steps that reached the customer on at least one channel.
	Sent int `json:"sent"`
}

// StepStatus is where one step of the plan stands.
type StepStatus string

// Step statuses.
const (
	StepPlanned StepStatus = "planned"
	StepSent    StepStatus = "sent"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "failed"
	// StepBundled: the step waits in its customer's bundle, which answers
	// the journey (ChangeBundling); Bundle names the bundle's workflow.
	StepBundled StepStatus = "bundled"
)

// StepState is one step of the journey as the workflow sees it.
type StepState struct {
	Position   int             `json:"position"`
	OffsetDays int             `json:"offset_days"`
	Kind       policy.StepKind `json:"kind"`
	Template   string          `json:"template"`
	At         time.Time       `json:"at"`
	Status     StepStatus      `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	Channels   []string        `json:"channels,omitempty"`
	HandledAt  *time.Time      `json:"handled_at,omitempty"`
	// Bundle is the workflow ID of the customer's bundle a StepBundled
	// step waits in.
	Bundle string `json:"bundle,omitempty"`
}

// JourneyState is the query `state` answer and the continue-as-new carry-over.
type JourneyState struct {
	Stage     Stage  `json:"stage"`
	Status    string `json:"status"`
	OpenMinor int64  `json:"open_minor"`
	Currency  string `json:"currency"`
	// Anchor is the instant the journey started (day 0 of a scaled day).
	Anchor      time.Time     `json:"anchor"`
	JourneyID   int64         `json:"journey_id"`
	JourneyName string        `json:"journey_name"`
	MinGap      time.Duration `json:"min_gap"`
	Steps       []StepState   `json:"steps"`
	// Next is the step that will go out next, with its date after the minimum gap.
	Next       *StepState `json:"next,omitempty"`
	LastSentAt *time.Time `json:"last_sent_at,omitempty"`

	Paused      bool       `json:"paused"`
	PausedAt    *time.Time `json:"paused_at,omitempty"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	PauseReason string     `json:"pause_reason,omitempty"`

	Disputed      bool   `json:"disputed"`
	DisputeReason string `json:"dispute_reason,omitempty"`

	// PromisedUntil is the date of the customer's promise to pay while the
	// pause it made lasts; BrokenPromiseAt when the last promise passed unpaid.
	PromisedUntil   *time.Time `json:"promised_until,omitempty"`
	BrokenPromiseAt *time.Time `json:"broken_promise_at,omitempty"`

	ProvidedEmail    string     `json:"provided_email,omitempty"`
	EmailSubmittedAt *time.Time `json:"email_submitted_at,omitempty"`

	// ReplanPending is set by journey-changed until the new plan is loaded.
	ReplanPending bool `json:"replan_pending,omitempty"`
	Manual        int  `json:"manual,omitempty"`
	SentCount     int  `json:"sent_count"`
	// Revision is the invoice revision of the last invoice-updated applied.
	Revision int64 `json:"revision,omitempty"`

	// HasPlan is set once a plan was loaded; PlanFailures counts the plans
	// that failed in a row and RetryPlanAt is when the next is tried.
	HasPlan      bool       `json:"has_plan,omitempty"`
	PlanFailures int        `json:"plan_failures,omitempty"`
	RetryPlanAt  *time.Time `json:"retry_plan_at,omitempty"`
	// PlanProblem is the attention reason the failing plan raised.
	PlanProblem string `json:"plan_problem,omitempty"`
	// SteerSeq counts the changes of pause and dispute; SteerRecorded is
	// the last one written on the invoice row (RecordSteering).
	SteerSeq      int `json:"steer_seq,omitempty"`
	SteerRecorded int `json:"steer_recorded,omitempty"`

	// Sent and Planned are filled in query answers only (never carried over):
	// the steps that reached the customer, and the steps still to come, in order.
	Sent    []StepState `json:"sent,omitempty"`
	Planned []StepState `json:"planned,omitempty"`
}

// PauseSignal pauses a journey, until a date or until resumed.
type PauseSignal struct {
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason"`
}

// ResumeSignal ends a pause.
type ResumeSignal struct {
	Reason string `json:"reason,omitempty"`
}

// EmailSubmittedSignal records an address the customer gave in the portal.
type EmailSubmittedSignal struct {
	Email string `json:"email"`
}

// InvoiceUpdatedSignal carries the invoice's new open amount and status (an
// import, a payment, a credit note): paid or credited ends the journey.
type InvoiceUpdatedSignal struct {
	OpenMinor int64  `json:"open_minor"`
	Status    string `json:"status"`
	// Revision is the invoice's revision after the change (models.Invoice):
	// a journey ignores an update no newer than one it applied, since the
	// signals of concurrent changes may arrive out of order. 0: unordered.
	Revision int64 `json:"revision,omitempty"`
}

// DisputeSignal opens a dispute; the journey pauses until it is resolved.
type DisputeSignal struct {
	Reason string `json:"reason"`
}

// DisputeResolvedSignal closes the dispute; the journey resumes.
type DisputeResolvedSignal struct {
	Reason string `json:"reason,omitempty"`
}

// JourneyChangedSignal tells a running journey that its steps changed; the
// future steps are planned again, the handled ones stay as they are.
// It is the activities' type: the journey-change operation's activity sends it.
type JourneyChangedSignal = activities.JourneyChanged

// PauseRequest is the pause-journey Update: until a date (after now) or
// until resumed, with a reason.
type PauseRequest struct {
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason"`
	// Promise marks the pause as the customer's promise to pay by Until:
	// when Until passes with the invoice unpaid, the journey goes on at
	// once and flags the invoice (broken_promise).
	Promise bool `json:"promise,omitempty"`
}

// ResumeRequest is the resume-journey Update.
type ResumeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// DisputeRequest is the open-dispute Update.
type DisputeRequest struct {
	Reason string `json:"reason"`
}

// ResolveDisputeRequest is the resolve-dispute Update.
type ResolveDisputeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// SteeringResult answers the steering Updates: the journey's pause and
// dispute once recorded on the invoice.
type SteeringResult struct {
	Paused      bool       `json:"paused"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	PauseReason string     `json:"pause_reason,omitempty"`
	Disputed    bool       `json:"disputed"`
	Stage       Stage      `json:"stage"`
}

// SendNowRequest is the manual action "send a step now" (an Update): its text
// may be edited; it ignores the minimum gap. With Position set it sends that
// planned step of the journey now instead (an automatic step: its text is
// the template's and cannot be edited). Channels, when set, narrows the
// channels the choice allows (docs/domain.md §1.4).
type SendNowRequest struct {
	Kind     policy.StepKind  `json:"kind"`
	Position *int             `json:"position,omitempty"`
	Channels []policy.Channel `json:"channels,omitempty"`
	Subject  string           `json:"subject,omitempty"`
	Body     string           `json:"body,omitempty"`
}

// SendNowResult reports the manual message's outcome per channel.
type SendNowResult struct {
	Skipped  bool                    `json:"skipped"`
	Reason   string                  `json:"reason,omitempty"`
	Outcomes []SendNowChannelOutcome `json:"outcomes"`
	// Stage is the journey's stage once the action was handled.
	Stage Stage `json:"stage,omitempty"`
	// Sent: a message left (or may have left) on at least one channel.
	Sent bool `json:"sent,omitempty"`
}

// SendNowChannelOutcome is what happened on one channel of a manual action.
type SendNowChannelOutcome struct {
	Channel   string `json:"channel"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	MessageID int64  `json:"message_id,omitempty"`
}
