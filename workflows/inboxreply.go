package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// InboxReplyInput starts InboxReply: the outbox row of the reply's email.
type InboxReplyInput struct {
	OutboxMessageID int64 `json:"outbox_message_id"`
}

// InboxReplyResult is where the reply's email ended.
type InboxReplyResult struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// inboxReplyRetry retries a reply's email like a journey's message: a relay
// that is down delays the answer, it does not lose it; a permanent failure
// (a refused address) is recorded on the row at once.
var inboxReplyRetry = &temporal.RetryPolicy{
	InitialInterval:        10 * time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        10 * time.Minute,
	NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
}

// InboxReply sends the email of one inbox reply (docs/domain.md §1.8). The
// application stored the reply and its queued outbox row before starting
// it under InboxReplyWorkflowID, so a second start of the same reply is
// refused by Temporal and the outbox sends the email once. It is a
// workflow, not a call from the API, so that a relay that is down is
// retried for a day without anyone repeating the request.
func InboxReply(ctx workflow.Context, in InboxReplyInput) (InboxReplyResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy:            inboxReplyRetry,
	})
	var res activities.InboxReplyResult
	if err := workflow.ExecuteActivity(ctx, a.SendInboxReply, activities.InboxReplyInput{OutboxMessageID: in.OutboxMessageID}).Get(ctx, &res); err != nil {
		return InboxReplyResult{}, err
	}
	return InboxReplyResult{State: res.State, Reason: res.Reason}, nil
}
