package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/relance/relance/activities"
)

// TestInboxReplyRetriesUntilSent: a relay that is down delays the reply's
// email (retried with backoff), it does not lose it.
func TestInboxReplyRetriesUntilSent(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	calls := 0
	env.RegisterActivity(a)
	env.OnActivity(a.SendInboxReply, mock.Anything, activities.InboxReplyInput{OutboxMessageID: 7}).Return(
		func(_ context.Context, _ activities.InboxReplyInput) (activities.InboxReplyResult, error) {
			calls++
			if calls < 3 {
				return activities.InboxReplyResult{}, errors.New("dial tcp: connection refused")
			}
			return activities.InboxReplyResult{State: "sent"}, nil
		})
	start := env.Now()
	env.ExecuteWorkflow(InboxReply, InboxReplyInput{OutboxMessageID: 7})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res InboxReplyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "sent", res.State)
	require.Equal(t, 3, calls)
	require.GreaterOrEqual(t, env.Now().Sub(start), 30*time.Second, "10 s then 20 s between the attempts")
}

// TestInboxReplyPermanentFailure: a permanent failure is not retried.
func TestInboxReplyPermanentFailure(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	calls := 0
	env.RegisterActivity(a)
	env.OnActivity(a.SendInboxReply, mock.Anything, activities.InboxReplyInput{OutboxMessageID: 8}).Return(
		func(_ context.Context, _ activities.InboxReplyInput) (activities.InboxReplyResult, error) {
			calls++
			return activities.InboxReplyResult{}, temporal.NewNonRetryableApplicationError("outbox message 8 not found", activities.ErrTypePermanent, nil)
		})
	env.ExecuteWorkflow(InboxReply, InboxReplyInput{OutboxMessageID: 8})
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	require.Equal(t, 1, calls)
}
