package api

import (
	"time"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/policy"
)

// Step timings on the wire: a step goes out when the invoice is issued, or
// a number of days after (negative: before) its due date.
const (
	TimingAtIssue  = "at_issue"
	TimingAfterDue = "after_due"
)

// StepDefinition is one step of a journey definition. A step sent when the
// invoice is issued has timing at_issue and no offset; any other step has
// timing after_due (the default when timing is absent) and offset_days.
type StepDefinition struct {
	Timing     string          `json:"timing,omitempty"`
	OffsetDays *int            `json:"offset_days,omitempty"`
	Kind       policy.StepKind `json:"kind"`
	Template   string          `json:"template,omitempty"`
}

func stepDefinitions(steps []journeys.Step) []StepDefinition {
	out := make([]StepDefinition, len(steps))
	for i, s := range steps {
		out[i] = StepDefinition{Timing: TimingAfterDue, Kind: s.Kind, Template: s.Template}
		if s.OffsetDays == journeys.OffsetAtIssue {
			out[i].Timing = TimingAtIssue
		} else {
			days := s.OffsetDays
			out[i].OffsetDays = &days
		}
	}
	return out
}

// journeySteps reads the wire steps; the field at fault is named.
func journeySteps(in []StepDefinition) ([]journeys.Step, error) {
	out := make([]journeys.Step, len(in))
	for i, s := range in {
		out[i] = journeys.Step{Kind: s.Kind, Template: s.Template}
		switch s.Timing {
		case TimingAtIssue:
			if s.OffsetDays != nil {
				return nil, badInput(fieldf("steps[%d].offset_days", i), "a step at_issue has no offset")
			}
			out[i].OffsetDays = journeys.OffsetAtIssue
		case "", TimingAfterDue:
			if s.OffsetDays == nil {
				return nil, badInput(fieldf("steps[%d].offset_days", i), "is required (days after the due date; negative: before)")
			}
			if *s.OffsetDays <= journeys.OffsetAtIssue {
				return nil, ruleBroken(fieldf("steps[%d].offset_days", i), "%d is too early: a step sent when the invoice is issued has timing %s", *s.OffsetDays, TimingAtIssue)
			}
			out[i].OffsetDays = *s.OffsetDays
		default:
			return nil, badInput(fieldf("steps[%d].timing", i), "must be %s or %s, got %q", TimingAtIssue, TimingAfterDue, s.Timing)
		}
	}
	return out, nil
}

// InvoiceJourneyView is an invoice's journey as it is now: its stage, each
// step of its plan once (what was sent, skipped, or is planned, with the
// channels a planned step would go on now), and its pause or dispute.
type InvoiceJourneyView struct {
	Stage       domain.Stage `json:"stage"`
	Status      string       `json:"status"`
	OpenMinor   int64        `json:"open_minor"`
	Currency    string       `json:"currency"`
	JourneyID   int64        `json:"journey_id"`
	JourneyName string       `json:"journey_name"`
	MinGapDays  int          `json:"min_gap_days"`
	Steps       []StepView   `json:"steps"`
	// Next is the step that goes out next (one of Steps), dated after the minimum gap.
	Next       *StepView  `json:"next,omitempty"`
	LastSentAt *time.Time `json:"last_sent_at,omitempty"`
	SentCount  int        `json:"sent_count"`

	Paused      bool       `json:"paused"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	PauseReason string     `json:"pause_reason,omitempty"`

	Disputed      bool   `json:"disputed"`
	DisputeReason string `json:"dispute_reason,omitempty"`

	// PromisedUntil is the date the customer promised to pay by (the journey
	// is paused until then); BrokenPromiseAt when a promise passed unpaid.
	PromisedUntil   *time.Time `json:"promised_until,omitempty"`
	BrokenPromiseAt *time.Time `json:"broken_promise_at,omitempty"`

	ProvidedEmail    string     `json:"provided_email,omitempty"`
	EmailSubmittedAt *time.Time `json:"email_submitted_at,omitempty"`
}

// StepView is one step of an invoice's journey.
type StepView struct {
	Position   int             `json:"position"`
	Timing     string          `json:"timing"`
	OffsetDays *int            `json:"offset_days,omitempty"`
	Kind       policy.StepKind `json:"kind"`
	Template   string          `json:"template"`
	At         time.Time       `json:"at"`
	// Status is planned, sent, skipped, failed, or bundled (waiting in its
	// customer's bundle, BundleWorkflowID).
	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	Channels  []string   `json:"channels,omitempty"`
	HandledAt *time.Time `json:"handled_at,omitempty"`
	// Choice is, for a planned step, the channel choice as it would be made now.
	Choice           *domain.ChannelChoice `json:"choice,omitempty"`
	BundleWorkflowID string                `json:"bundle_workflow_id,omitempty"`
}

func invoiceJourneyView(j domain.Journey) *InvoiceJourneyView {
	v := &InvoiceJourneyView{
		Stage: j.Stage, Status: j.Status, OpenMinor: j.OpenMinor, Currency: j.Currency,
		JourneyID: j.JourneyID, JourneyName: j.JourneyName, MinGapDays: j.MinGapDays,
		Steps: make([]StepView, len(j.Steps)), LastSentAt: j.LastSentAt, SentCount: j.SentCount,
		Paused: j.Paused, PausedUntil: j.PausedUntil, PauseReason: j.PauseReason,
		Disputed: j.Disputed, DisputeReason: j.DisputeReason,
		PromisedUntil: j.PromisedUntil, BrokenPromiseAt: j.BrokenPromiseAt,
		ProvidedEmail: j.ProvidedEmail, EmailSubmittedAt: j.EmailSubmittedAt,
	}
	for i, s := range j.Steps {
		v.Steps[i] = StepView{Position: s.Position, Timing: TimingAfterDue, Kind: s.Kind, Template: s.Template,
			At: s.At, Status: s.Status, Reason: s.Reason, Channels: s.Channels, HandledAt: s.HandledAt, Choice: s.Choice,
			BundleWorkflowID: s.BundleWorkflowID}
		if s.AtIssue {
			v.Steps[i].Timing = TimingAtIssue
		} else {
			days := s.OffsetDays
			v.Steps[i].OffsetDays = &days
		}
		if j.Next != nil && j.Next.Position == s.Position {
			v.Next = &v.Steps[i]
		}
	}
	return v
}
