package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

// TestSegmentHistory checks how BenchmarkJourneyHistory cuts a history: at
// each workflow task that schedules SendStep activities (the activities of
// one task form one slot), other activities not counting as sends.
func TestSegmentHistory(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	id := int64(0)
	ev := func(typ enumspb.EventType) *historypb.HistoryEvent {
		id++
		return &historypb.HistoryEvent{EventId: id, EventType: typ}
	}
	sched := func(activity string, kind policy.StepKind, wft int64) *historypb.HistoryEvent {
		in, err := dc.ToPayloads(activities.SendInput{Step: activities.StepRef{Kind: kind}})
		require.NoError(t, err)
		e := ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
			ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: activity}, Input: in, WorkflowTaskCompletedEventId: wft,
			},
		}
		return e
	}
	events := []*historypb.HistoryEvent{
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		sched("PlanJourney", "", 2),
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		sched(sendStepName, policy.StepReminder, 5), // slot 1 starts at index 5
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
		ev(enumspb.EVENT_TYPE_TIMER_STARTED),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		sched(sendStepName, policy.StepSMS, 9), // slot 2 starts at index 9
		sched(sendStepName, policy.StepFinalReminder, 9),
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
	}
	head, slots, err := segmentHistory(events, dc)
	require.NoError(t, err)
	require.Equal(t, 5, head)
	require.Equal(t, []slotSegment{
		{kinds: []string{"reminder"}, start: 5, events: 4},
		{kinds: []string{"final_reminder", "sms"}, start: 9, events: 3},
	}, slots)

	head, slots, err = segmentHistory(events[:5], dc)
	require.NoError(t, err)
	require.Equal(t, 5, head)
	require.Empty(t, slots)
}
