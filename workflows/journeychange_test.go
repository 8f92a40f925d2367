package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// changeBook is the running journeys a journey change pages over, as the
// mocked page activity sees them: invoice IDs in order (with gaps, as a
// real table has), those that ended since (skipped) and those a signal
// cannot reach (errors). fail decides whether a call fails, by the
// call's cursor and attempt.
type changeBook struct {
	ids         []int64
	ended       map[int64]bool
	unreachable map[int64]bool
	fail        func(in activities.JourneyChangePageInput, attempt int32) error
	beginFail   int // the first beginFail attempts of BeginJourneyChange fail

	mu     sync.Mutex
	begins int
	calls  []activities.JourneyChangePageInput
	failed []activities.OperationFailure
}

// newChangeBook has n journeys with IDs 10, 13, 16, ...
func newChangeBook(n int) *changeBook {
	b := &changeBook{ended: map[int64]bool{}, unreachable: map[int64]bool{}}
	for i := range n {
		b.ids = append(b.ids, int64(10+3*i))
	}
	return b
}

// page is what the real JourneyChangePage returns for in: the journeys
// after the cursor, at most Size, counted by what their signal did.
func (b *changeBook) page(in activities.JourneyChangePageInput) activities.JourneyChangePageResult {
	res := activities.JourneyChangePageResult{Last: in.After}
	for _, id := range b.ids {
		if id <= in.After || res.Count == in.Size {
			continue
		}
		res.Count++
		res.Last = id
		switch {
		case b.ended[id]:
			res.Skipped++
		case b.unreachable[id]:
			res.Errors++
		default:
			res.Reached++
		}
	}
	res.Done = res.Count < in.Size
	return res
}

// cursors is the After of each page call, in order (retries included).
func (b *changeBook) cursors() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int64
	for _, c := range b.calls {
		out = append(out, c.After)
	}
	return out
}

var changeScope = activities.JourneyChangeScope{OperationID: 77, AdministrationID: 1, JourneyID: 9, Unassigned: true}

// run runs one JourneyChange run with in against the book's mocked
// activities (the real signatures, through env.OnActivity).
func (b *changeBook) run(t *testing.T, in JourneyChangeInput) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	// The default (3 s of wall-clock time) is too short on a loaded machine
	// for the twenty retries of a page.
	env.SetTestTimeout(2 * time.Minute)
	env.RegisterWorkflowWithOptions(JourneyChange, workflow.RegisterOptions{Name: JourneyChangeName})
	env.RegisterActivity(a)
	env.OnActivity(a.BeginJourneyChange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, sc activities.JourneyChangeScope) (int, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			require.Equal(t, changeScope, sc)
			b.begins++
			if b.begins <= b.beginFail {
				return 0, errors.New("database unavailable")
			}
			return len(b.ids), nil
		})
	env.OnActivity(a.JourneyChangePage, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.JourneyChangePageInput) (activities.JourneyChangePageResult, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.calls = append(b.calls, in)
			if b.fail != nil {
				if err := b.fail(in, activity.GetInfo(ctx).Attempt); err != nil {
					return activities.JourneyChangePageResult{}, err
				}
			}
			return b.page(in), nil
		})
	env.OnActivity(a.FailOperation, mock.Anything, mock.Anything).Return(
		func(_ context.Context, f activities.OperationFailure) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.failed = append(b.failed, f)
			return nil
		})
	env.ExecuteWorkflow(JourneyChangeName, in)
	require.True(t, env.IsWorkflowCompleted())
	return env
}

// result is the run's result; the run must have succeeded.
func changeResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) JourneyChangeResult {
	t.Helper()
	require.NoError(t, env.GetWorkflowError())
	var res JourneyChangeResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// continuedChange checks that the run continued as new (as JourneyChange)
// and returns the next run's input.
func continuedChange(t *testing.T, env *testsuite.TestWorkflowEnvironment) JourneyChangeInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	require.Equal(t, JourneyChangeName, can.WorkflowType.Name)
	var next JourneyChangeInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

// TestJourneyChangePagesThroughTheBook: the change counts once, then asks
// for consecutive pages by keyset cursor, each with the counts so far (so
// that the page records the operation's progress), and ends with the sums
// on the page that comes back short, including an empty last page when
// the book is a whole number of pages.
func TestJourneyChangePagesThroughTheBook(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		cursors []int64
	}{
		{"short last page", 23, []int64{0, 22, 37, 52, 67}},
		{"whole pages", 20, []int64{0, 22, 37, 52, 67}},
		{"empty scope", 0, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newChangeBook(tc.n)
			if tc.n > 0 {
				b.ended[13], b.ended[40] = true, true
				b.unreachable[19] = true
			}
			res := changeResult(t, b.run(t, JourneyChangeInput{Scope: changeScope, PageSize: 5}))
			require.Equal(t, 1, b.begins)
			require.Equal(t, tc.cursors, b.cursors())
			want := JourneyChangeResult{Reached: tc.n}
			if tc.n > 0 {
				want = JourneyChangeResult{Reached: tc.n - 3, Skipped: 2, Errors: 1}
			}
			require.Equal(t, want, res)
			// Each page carries the operation's counts before it.
			var sum JourneyChangeResult
			for _, c := range b.calls {
				require.Equal(t, changeScope, c.Scope)
				require.Equal(t, SignalJourneyChanged, c.Signal)
				require.Equal(t, 5, c.Size)
				require.Equal(t, sum, JourneyChangeResult{Reached: c.Reached, Skipped: c.Skipped, Errors: c.Errors}, "page after %d", c.After)
				p := b.page(c)
				sum.Reached, sum.Skipped, sum.Errors = sum.Reached+p.Reached, sum.Skipped+p.Skipped, sum.Errors+p.Errors
			}
			require.Equal(t, want, sum)
			require.Empty(t, b.failed)
		})
	}
}

// TestJourneyChangeDefaultPageSize: without a page size, pages are
// DefaultChangePageSize journeys.
func TestJourneyChangeDefaultPageSize(t *testing.T) {
	b := newChangeBook(DefaultChangePageSize + 1)
	res := changeResult(t, b.run(t, JourneyChangeInput{Scope: changeScope}))
	require.Equal(t, JourneyChangeResult{Reached: DefaultChangePageSize + 1}, res)
	require.Len(t, b.calls, 2)
	require.Equal(t, DefaultChangePageSize, b.calls[0].Size)
	require.Equal(t, b.ids[DefaultChangePageSize-1], b.calls[1].After)
}

// TestJourneyChangeRetriesAFailedPageFromItsCursor: a page that fails
// mid-way (a Temporal or database outage) is retried from the same
// cursor with the same counts — the pages before it are not signalled
// again, the counts are not doubled — and a failed count at the start is
// retried too.
func TestJourneyChangeRetriesAFailedPageFromItsCursor(t *testing.T) {
	b := newChangeBook(23)
	b.beginFail = 2
	b.ended[46] = true // on the failing page
	b.fail = func(in activities.JourneyChangePageInput, attempt int32) error {
		if in.After == 37 && attempt <= 3 {
			return fmt.Errorf("operation 77: 2 of 5 journeys not signalled: attempt %d", attempt)
		}
		return nil
	}
	res := changeResult(t, b.run(t, JourneyChangeInput{Scope: changeScope, PageSize: 5}))
	require.Equal(t, 3, b.begins, "the count is retried until it succeeds")
	require.Equal(t, []int64{0, 22, 37, 37, 37, 37, 52, 67}, b.cursors(), "only the failing page is tried again")
	for _, c := range b.calls[2:6] {
		require.Equal(t, b.calls[2], c, "a retry asks for the same page with the same counts")
	}
	require.Equal(t, 10, b.calls[2].Reached)
	require.Equal(t, JourneyChangeResult{Reached: 22, Skipped: 1}, res, "each journey counted once")
	require.Empty(t, b.failed)
}

// TestJourneyChangeContinuesAsNewAndResumes: after PagesPerRun pages the
// run continues as new with its cursor and counts; the next run does not
// count again and resumes at the next page; the runs together do what
// one run does.
func TestJourneyChangeContinuesAsNewAndResumes(t *testing.T) {
	b := newChangeBook(23)
	b.ended[25] = true
	b.unreachable[61] = true
	in := JourneyChangeInput{Scope: changeScope, PageSize: 5, PagesPerRun: 2}
	var runs []JourneyChangeInput
	var env *testsuite.TestWorkflowEnvironment
	for range 10 {
		env = b.run(t, in)
		if env.GetWorkflowError() == nil {
			break
		}
		in = continuedChange(t, env)
		runs = append(runs, in)
	}
	res := changeResult(t, env)
	require.Len(t, runs, 2, "5 pages, 2 a run: 3 runs")
	require.Equal(t, JourneyChangeInput{Scope: changeScope, PageSize: 5, PagesPerRun: 2, Begun: true, After: 37, Reached: 9, Skipped: 1}, runs[0])
	require.Equal(t, JourneyChangeInput{Scope: changeScope, PageSize: 5, PagesPerRun: 2, Begun: true, After: 67, Reached: 18, Skipped: 1, Errors: 1}, runs[1])
	require.Equal(t, 1, b.begins, "a continued run does not count again")
	require.Equal(t, []int64{0, 22, 37, 52, 67}, b.cursors(), "each page once, across runs")
	require.Equal(t, JourneyChangeResult{Reached: 21, Skipped: 1, Errors: 1}, res)

	// The same book in one run gives the same counts.
	one := newChangeBook(23)
	one.ended, one.unreachable = b.ended, b.unreachable
	require.Equal(t, res, changeResult(t, one.run(t, JourneyChangeInput{Scope: changeScope, PageSize: 5})))
}

// TestJourneyChangeFailsTheOperation: a page that cannot succeed — a
// permanent error at once, or a transient one until the retries run out —
// marks the operation failed with its error, and the workflow fails with
// the counts of the pages done before.
func TestJourneyChangeFailsTheOperation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		tries int
	}{
		{"permanent", temporal.NewNonRetryableApplicationError("no Temporal client", activities.ErrTypePermanent, nil), 1},
		{"retries exhausted", errors.New("signal: connection refused"), 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newChangeBook(23)
			b.fail = func(in activities.JourneyChangePageInput, _ int32) error {
				if in.After == 37 {
					return tc.err
				}
				return nil
			}
			env := b.run(t, JourneyChangeInput{Scope: changeScope, PageSize: 5})
			require.Error(t, env.GetWorkflowError())
			require.ErrorContains(t, env.GetWorkflowError(), tc.err.Error())
			want := []int64{0, 22}
			for range tc.tries {
				want = append(want, 37)
			}
			require.Equal(t, want, b.cursors(), "no page after the failed one")
			require.Len(t, b.failed, 1)
			require.Equal(t, changeScope.OperationID, b.failed[0].OperationID)
			require.Contains(t, b.failed[0].Error, tc.err.Error())
		})
	}
}
