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
	// Recorded with ChangeRenderClock only (before ChangeOrderedUpdates):
	// the re-recording above had overwritten them; restored from git.
	"journey_changed_render_clock_only.json",
	"journey_dispute_resolved_render_clock_only.json",
	"journey_paid_mid_journey_render_clock_only.json",
	// Recorded under ChangeJourney2 (one gate): the recorder appends
	// _journey2 and never overwrites a committed file.
	"journey_paid_mid_journey_journey2.json",
	"journey_pause_until_auto_resume_journey2.json",
	"journey_dispute_resolved_journey2.json",
	"journey_changed_journey2.json",
	"journey_continue_as_new_first_run_journey2.json",
	"journey_continue_as_new_last_run_journey2.json",
	"journey_steered_by_updates_journey2.json",
	"journey_catch_up_ordered_updates_journey2.json",
	"journey_replan_failure_journey2.json",
	"journey_signal_during_activity_journey2.json",
	// Recorded by `go test ./e2e -run TestCollectionCaseEndToEnd -record-history`:
	// a journey whose collection step joins its case (ChangeCollectionCase),
	// and a case with two invoices, its notice, both paid, closed.
	"journey_hand_over_joins_case.json",
	"case_two_invoices_paid.json",
	// The same test after ChangeJourney2: the journey carries that gate
	// and ChangeCollectionCase.
	"journey2_hand_over_joins_case.json",
	// An inbox reply emailed (RELANCE_WRITE_HISTORIES=1 go test -run TestInbox ./api).
	"inbox_reply_sent.json",
	// Recorded under ChangeJourney2 and ChangeManualInLoop (generation
	// journey3): a manual final reminder (retried with the same Update ID),
	// then a manual hand-over that ends the journey.
	"journey_manual_in_loop_journey3.json",
	// Recorded under ChangeBundling too (generation journey4): a reminder
	// queued in the customer's bundle and answered by it, and the bundle
	// that sent it for two invoices.
	"journey_bundled_journey4.json",
	"bundle_two_invoices_journey4.json",
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
			r.RegisterWorkflowWithOptions(InboxReply, workflow.RegisterOptions{Name: InboxReplyName})
			r.RegisterWorkflowWithOptions(CustomerBundle, workflow.RegisterOptions{Name: CustomerBundleName})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestCommittedHistoriesCoverOldAndNewCode: the histories include one
// recorded before the GetVersion gates (it replays the default branches),
// ones recorded under each generation of gates since, and together they
// cover the signals, the Updates and the continue-as-new under the newest.
func TestCommittedHistoriesCoverOldAndNewCode(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range committedHistories {
		h := readHistory(t, name)
		changes := map[string]bool{}
		var events []string
		for _, ev := range h.Events {
			switch ev.GetEventType() {
			case enums.EVENT_TYPE_MARKER_RECORDED:
				if id := ev.GetMarkerRecordedEventAttributes().GetDetails()["change-id"]; id != nil {
					var change string
					require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(id, &change))
					changes[change] = true
				}
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				events = append(events, "signal:"+ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName())
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
				events = append(events, "update:"+ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName())
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				events = append(events, "continued-as-new")
			case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				events = append(events, "activity:"+ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
			}
		}
		gen := "gates"
		switch {
		case strings.HasPrefix(name, "case_"):
			gen = "case" // a CollectionCase: no journey gates
		case strings.HasPrefix(name, "bundle_"):
			require.Empty(t, changes, "CustomerBundle has no version gate yet")
			gen = "bundle"
		case strings.HasSuffix(name, "_journey4.json"):
			require.True(t, changes[ChangeJourney2], "%s lacks the %s marker", name, ChangeJourney2)
			require.True(t, changes[ChangeBundling], "%s lacks the %s marker", name, ChangeBundling)
			gen = "journey4"
		case strings.HasPrefix(name, "inbox_reply"):
			require.Empty(t, changes, "InboxReply has no version gate yet")
			gen = "inbox"
		case strings.Contains(name, "hand_over_joins_case"):
			require.True(t, changes[ChangeCollectionCase], "%s lacks the %s marker", name, ChangeCollectionCase)
			gen = "collection"
		case name == "journey_paused_to_collection.json":
			require.Empty(t, changes, "the oldest history predates the version gates")
		case strings.HasSuffix(name, "_journey3.json"):
			require.True(t, changes[ChangeJourney2], "%s lacks the %s marker", name, ChangeJourney2)
			require.True(t, changes[ChangeManualInLoop], "%s lacks the %s marker", name, ChangeManualInLoop)
			delete(changes, ChangeCollectionCase) // a hand-over records its own gate
			require.Len(t, changes, 2, "%s: the journey2 gate and the manual-action gate only", name)
			gen = "journey3"
		case strings.HasSuffix(name, "_journey2.json"):
			require.Equal(t, map[string]bool{ChangeJourney2: true}, changes, "%s: one gate, the consolidated one", name)
			gen = "journey2"
		default:
			require.True(t, changes[ChangeHistoryLimit], "%s lacks the %s marker", name, ChangeHistoryLimit)
			require.True(t, changes[ChangeReplanKeepsPlan], "%s lacks the %s marker", name, ChangeReplanKeepsPlan)
			if strings.Contains(name, "_render_clock") {
				require.True(t, changes[ChangeRenderClock], "%s lacks the %s marker", name, ChangeRenderClock)
				require.Equal(t, !strings.HasSuffix(name, "_only.json"), changes[ChangeOrderedUpdates], "%s: %s marker", name, ChangeOrderedUpdates)
			}
		}
		for _, e := range events {
			seen[gen+" "+e] = true
		}
	}
	for _, want := range []string{"signal:" + SignalPause, "signal:" + SignalResume, "signal:" + SignalInvoiceUpdated,
		"signal:" + SignalDispute, "signal:" + SignalDisputeResolved, "signal:" + SignalJourneyChanged, "continued-as-new"} {
		require.True(t, seen["gates "+want], "no committed history of the code before %s has %s", ChangeJourney2, want)
	}
	for _, want := range []string{"signal:" + SignalEmailSubmitted, "signal:" + SignalInvoiceUpdated, "signal:" + SignalPause,
		"signal:" + SignalJourneyChanged, "update:" + UpdatePause, "update:" + UpdateResume, "update:" + UpdateDispute,
		"update:" + UpdateResolveDispute, "update:" + UpdateSendNow, "continued-as-new", "activity:RecordSkipped",
		"activity:RecordSteering", "activity:FlagInvoice"} {
		require.True(t, seen["journey2 "+want], "no committed history under %s has %s", ChangeJourney2, want)
	}
	for _, want := range []string{"update:" + UpdateSendNow, "activity:SendStep", "activity:JoinCase", "activity:RecordSkipped"} {
		require.True(t, seen["journey3 "+want], "no committed history under %s has %s", ChangeManualInLoop, want)
	}
	for _, want := range []string{"signal:" + SignalBundleAnswer, "activity:SendStep"} {
		require.True(t, seen["journey4 "+want], "no committed history under %s has %s", ChangeBundling, want)
	}
	for _, want := range []string{"signal:" + SignalBundleNudge, "activity:SendBundle"} {
		require.True(t, seen["bundle "+want], "no committed bundle history has %s", want)
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
