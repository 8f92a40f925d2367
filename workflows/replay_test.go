package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// committedHistories are the journey shapes recorded from a real server
// that every change to the workflow must keep replaying. The first was
// recorded by `go test ./e2e -record-history` before any GetVersion gate;
// the others by `RELANCE_WRITE_HISTORIES=1 go test -run TestJourneysOnARealServer ./workflows`
// (it overwrites the files of that name: keep the older ones, add the new).
var committedHistories = []string{
	"journey_paused_to_collection.json",
	"journey_paid_mid_journey.json",
	"journey_pause_until_auto_resume.json",
	"journey_dispute_resolved.json",
	"journey_changed.json",
	"journey_continue_as_new_first_run.json",
	"journey_continue_as_new_last_run.json",
	// Recorded with ChangeRenderClock and ChangeOrderedUpdates (same
	// generator, renamed so that the histories of the earlier code stay).
	"journey_changed_render_clock.json",
	"journey_dispute_resolved_render_clock.json",
	"journey_paid_mid_journey_render_clock.json",
	// Recorded by `go test ./e2e -run TestCollectionCaseEndToEnd -record-history`:
	// a journey whose collection step joins its case (ChangeCollectionCase),
	// and a case with two invoices, its notice, both paid, closed.
	"journey_hand_over_joins_case.json",
	"case_two_invoices_paid.json",
}

// TestReplayCommittedHistories replays every history under testdata: a
// change to the workflow code that is not gated by workflow.GetVersion fails
// here instead of in production.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	for _, name := range committedHistories {
		require.Contains(t, files, filepath.Join("testdata", name), "a committed history is missing")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(InvoiceJourney, workflow.RegisterOptions{Name: InvoiceJourneyName})
			r.RegisterWorkflowWithOptions(CollectionCase, workflow.RegisterOptions{Name: CollectionCaseName})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestCommittedHistoriesCoverOldAndNewCode: the histories include one
// recorded before the GetVersion gates (it replays the default branches) and
// ones recorded after (they replay the new ones), and together they cover
// the signals and the continue-as-new.
func TestCommittedHistoriesCoverOldAndNewCode(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range committedHistories {
		h := readHistory(t, name)
		changes := map[string]bool{}
		for _, ev := range h.Events {
			switch ev.GetEventType() {
			case enums.EVENT_TYPE_MARKER_RECORDED:
				if id := ev.GetMarkerRecordedEventAttributes().GetDetails()["change-id"]; id != nil {
					var change string
					require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(id, &change))
					changes[change] = true
				}
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				seen["signal:"+ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()] = true
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				seen["continued-as-new"] = true
			}
		}
		if name == "journey_paused_to_collection.json" {
			require.Empty(t, changes, "the oldest history predates the version gates")
			continue
		}
		if strings.HasPrefix(name, "case_") {
			continue // a CollectionCase: no journey gates
		}
		if name == "journey_hand_over_joins_case.json" {
			require.True(t, changes[ChangeCollectionCase], "%s lacks the %s marker", name, ChangeCollectionCase)
		}
		require.True(t, changes[ChangeHistoryLimit], "%s lacks the %s marker", name, ChangeHistoryLimit)
		require.True(t, changes[ChangeReplanKeepsPlan], "%s lacks the %s marker", name, ChangeReplanKeepsPlan)
		if strings.HasSuffix(name, "_render_clock.json") {
			require.True(t, changes[ChangeRenderClock], "%s lacks the %s marker", name, ChangeRenderClock)
			require.True(t, changes[ChangeOrderedUpdates], "%s lacks the %s marker", name, ChangeOrderedUpdates)
		}
		seen["marker:"+ChangeRenderClock] = seen["marker:"+ChangeRenderClock] || changes[ChangeRenderClock]
	}
	require.True(t, seen["marker:"+ChangeRenderClock], "no committed history runs the newest code")
	for _, want := range []string{"signal:" + SignalPause, "signal:" + SignalResume, "signal:" + SignalInvoiceUpdated,
		"signal:" + SignalDispute, "signal:" + SignalDisputeResolved, "signal:" + SignalJourneyChanged, "continued-as-new"} {
		require.True(t, seen[want], "no committed history has %s", want)
	}
}

// TestReplayCatchesAnUngatedChange proves the replay test can fail: a
// journey that records a timeline row first, without a version gate, does
// not replay any committed history.
func TestReplayCatchesAnUngatedChange(t *testing.T) {
	changed := func(ctx workflow.Context, in JourneyInput) (JourneyResult, error) {
		workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.RecordSkipped, activities.RecordSkippedInput{})
		return InvoiceJourney(ctx, in)
	}
	for _, name := range committedHistories {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: InvoiceJourneyName})
		require.Error(t, r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", name)), name)
	}
}

func readHistory(t *testing.T, name string) *historypb.History {
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	return h
}
