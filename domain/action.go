package domain

import "github.com/relance/relance/policy"

// ActionInput is a manual action on an invoice (docs/domain.md §1.4): send
// a step now. Position, when set, sends that planned step of the journey as
// it is (an automatic step: its text cannot be edited); otherwise Kind is
// sent as a manual message whose Subject and Body, when given, replace the
// template's. Channels narrows the channels the rules allow. Key is the
// idempotency key: a request repeated with the same key sends nothing twice.
type ActionInput struct {
	Key      string
	Kind     policy.StepKind
	Position *int
	Channels []policy.Channel
	Subject  string
	Body     string
}

// ActionResult is what became of a manual action. Pending: the journey
// accepted it and has not finished sending within the request's wait; the
// outcome then shows on the invoice's timeline.
type ActionResult struct {
	Key     string
	Pending bool
	Skipped bool
	// Failed: nothing left (Reason says why: send_failed after the
	// retries, all_channels_failed).
	Failed bool
	// HandedOver: a manual collection handed the invoice over to its
	// customer's collection case; the journey has ended.
	HandedOver bool
	Reason     string
	Stage      Stage
	Outcomes   []ActionOutcome
}

// ActionOutcome is what happened on one channel of a manual action.
type ActionOutcome struct {
	Channel   string
	State     string
	Reason    string
	MessageID int64
}
