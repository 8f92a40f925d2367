package domain

import (
	"time"

	"github.com/relance/relance/policy"
)

// Stage is how far an invoice's journey has come; it is the RelanceStage
// search attribute and the invoice's stage in the API.
type Stage string

// Journey stages, in the order a journey moves through them.
const (
	StageScheduled     Stage = "scheduled"
	StageInvoiced      Stage = "invoiced"
	StageReminded      Stage = "reminded"
	StageFinalReminder Stage = "final_reminder"
	StageCollection    Stage = "collection"
	StagePaid          Stage = "paid"
	StageCredited      Stage = "credited"
	StageCompleted     Stage = "completed"
)

// StageAfter is the stage reached once a step of kind k went out; kinds that
// do not move the journey forward (an SMS, a statement) keep the current stage.
func StageAfter(current Stage, k policy.StepKind) Stage {
	switch k {
	case policy.StepInvoice:
		return StageInvoiced
	case policy.StepReminder:
		return StageReminded
	case policy.StepFinalReminder:
		return StageFinalReminder
	case policy.StepCollection:
		return StageCollection
	}
	return current
}

// Stages lists every stage, in the order a journey moves through them.
var Stages = []Stage{StageScheduled, StageInvoiced, StageReminded, StageFinalReminder, StageCollection,
	StagePaid, StageCredited, StageCompleted}

// Journey is the read model of an invoice's journey as it is now: the
// workflow's state, with each planned step's channel choice as it would be
// made now, and every message's outcome as the outbox holds it now.
type Journey struct {
	Stage     Stage
	Status    string
	OpenMinor int64
	Currency  string
	// JourneyID is the journey definition the plan follows (0: the shipped default).
	JourneyID   int64
	JourneyName string
	// MinGapDays is the least number of days between two messages.
	MinGapDays int
	// Steps is the plan, each step once, in order; Next points into it.
	Steps      []JourneyStep
	Next       *JourneyStep
	LastSentAt *time.Time

	Paused      bool
	PausedUntil *time.Time
	PauseReason string

	Disputed      bool
	DisputeReason string

	// PromisedUntil is the customer's promise to pay while its pause lasts;
	// BrokenPromiseAt when the last promise passed unpaid.
	PromisedUntil   *time.Time
	BrokenPromiseAt *time.Time

	ProvidedEmail    string
	EmailSubmittedAt *time.Time
	SentCount        int
}

// JourneyStep is one step of an invoice's journey.
type JourneyStep struct {
	Position int
	// AtIssue is true for a step sent when the invoice is issued; OffsetDays
	// is then meaningless.
	AtIssue    bool
	OffsetDays int
	Kind       policy.StepKind
	Template   string
	At         time.Time
	// Status is planned, sent, skipped, failed, or bundled (BundleWaiting:
	// waiting in its customer's bundle).
	Status    string
	Reason    string
	Channels  []string
	HandledAt *time.Time
	// Choice is, for a planned step, the channel choice as it would be made now.
	Choice *ChannelChoice
	// BundleWorkflowID is, for a bundled step, the customer's bundle
	// workflow it waits in (docs/bundling.md).
	BundleWorkflowID string
}

// ChannelChoice is policy.Decide's answer for a planned step, for display:
// the channels it would go on now, or why it would be skipped.
type ChannelChoice struct {
	Channels []policy.Channel `json:"channels"`
	Skipped  bool             `json:"skipped,omitempty"`
	Reason   string           `json:"reason,omitempty"`
	Refusals []ChannelRefusal `json:"refusals,omitempty"`
}

// ChannelRefusal is one channel the choice did not use, with the reason.
type ChannelRefusal struct {
	Channel policy.Channel `json:"channel"`
	Reason  string         `json:"reason"`
}

// ChoiceOf converts a decision for display in a journey's state.
func ChoiceOf(d policy.Decision) *ChannelChoice {
	c := &ChannelChoice{Channels: append([]policy.Channel{}, d.Channels...), Skipped: d.Skipped, Reason: string(d.Reason)}
	for _, r := range d.Refusals {
		c.Refusals = append(c.Refusals, ChannelRefusal{Channel: r.Channel, Reason: string(r.Reason)})
	}
	return c
}
