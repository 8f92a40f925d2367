package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/worker"
)

// BenchmarkWorkerMemory measures what a worker process with the default
// configuration (the sticky cache of worker.DefaultStickyCacheSize, the
// default concurrency) holds for books of journeys that sleep on their
// timers. For each size of -bench.sleeping (10,000 and 50,000) it starts the
// journeys through app.StartJourney with no worker running, then runs the
// real binary (`relance worker`, built for the run) in its own process
// against the same dev server and PostgreSQL database, and waits until
// every journey has planned (the worker's own metrics count the
// PlanJourney activities) and is asleep (no workflow task and no activity
// pending on any of them, as Temporal describes them). It then reads the
// worker process's resident memory (VmRSS in /proc/<pid>/status) and its
// peak (VmHWM): the worker alone, nothing of the benchmark's own.
//
// Beside it, the wake-up cost of an evicted journey: a journey evicted from
// the cache is rebuilt by replaying its history when its next task comes.
// The first -bench.wakeups journeys started are long evicted by the end
// (the cache keeps the most recent); a query on each makes the worker
// replay it, and a second query on the same journey right after finds it
// cached. The difference of the medians is the replay.
//
// Then, for books up to -bench.change (10,000), it changes the
// administration's default journey, as PUT
// /administrations/{id}/default-journey does: the time the call takes to
// answer (with the operation) and the time until the operation, run by the
// worker process, has reached every journey of the book. Larger books skip
// it: the operation re-plans every journey (a signal, a workflow task and a
// PlanJourney each), which at 50,000 would take longer than the rest of the
// run.
func BenchmarkWorkerMemory(b *testing.B) {
	for _, n := range *sleepingJourneys {
		b.Run(fmt.Sprintf("journeys=%d", n), func(b *testing.B) { workerMemory(b, n) })
	}
}

func workerMemory(b *testing.B, n int) {
	bin := relanceBinary(b)
	srv, _ := testkit.DevServer(b)
	tc, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: "default", Logger: sdklog.NewStructuredLogger(quiet())})
	require.NoError(b, err)
	b.Cleanup(tc.Close)
	gdb, dbURL := testkit.PostgresWithURL(b)
	lim := worker.Options{}.Limits()
	svc := app.New(app.Options{DB: gdb, Temporal: tc, Logger: quiet()})

	var rssMB, hwmMB, takeSeconds, evictedMs, cachedMs, answerMs, changeSeconds, changed float64
	b.ResetTimer()
	for it := range b.N {
		b.StopTimer()
		adm := newAdministration(b, gdb, fmt.Sprintf("Memory%d", it))
		custs, invs := sleepingInvoices(b, gdb, adm, n)
		d := parallel(b, n, func(ctx context.Context, i int) error {
			// Setup, not a figure: a start the loaded dev server timed
			// out is tried again (a journey it did start meanwhile is a
			// duplicate, which StartJourney marks all the same).
			var err error
			for range 5 {
				if _, err = svc.StartJourney(ctx, adm, &custs[i%len(custs)], &invs[i]); !errors.Is(err, domain.ErrUnavailable) {
					break
				}
			}
			return err
		})
		b.Logf("started %d journeys in %s (%.0f/s), no worker running", n, d.Round(time.Millisecond), perSecond(n, d))
		fmt.Fprintf(os.Stderr, "worker memory %d: started %d journeys in %s\n", n, n, d.Round(time.Second))

		b.StartTimer()
		t0 := time.Now()
		w := startWorkerProcess(b, bin, srv.FrontendHostPort(), dbURL)
		deadline := t0.Add(90 * time.Minute)
		for tick := 1; ; tick++ {
			planned, err := w.counter("temporal_activity_execution_latency_seconds_count", `activity_type="PlanJourney"`)
			require.NoError(b, err)
			if planned >= float64(n) {
				break
			}
			if tick%60 == 0 { // progress: a benchmark's log comes out only at its end
				rss, _ := w.memory(b)
				fmt.Fprintf(os.Stderr, "worker memory %d: %s, %.0f planned, worker RSS %.1f MB, load average %s\n",
					n, time.Since(t0).Round(time.Second), planned, float64(rss)/1e6, loadAverage())
			}
			require.True(b, time.Now().Before(deadline), "only %.0f of %d journeys planned", planned, n)
			time.Sleep(time.Second)
		}
		ids := make([]string, n)
		for i := range invs {
			ids[i] = invs[i].WorkflowID
		}
		for len(ids) > 0 {
			require.True(b, time.Now().Before(deadline), "%d of %d journeys not asleep", len(ids), n)
			ids = awake(b, tc, ids)
		}
		take := time.Since(t0)
		b.StopTimer()
		rss, hwm := w.memory(b)

		wakeups := min(*wakeupSample, max(n-lim.StickyCache, 0))
		var evicted, cached []time.Duration
		for _, inv := range invs[:wakeups] {
			evicted = append(evicted, timedQuery(b, tc, inv.WorkflowID))
			cached = append(cached, timedQuery(b, tc, inv.WorkflowID))
		}

		// A change of the default journey of this book: the call answers
		// with the operation at once, and the operation (run by the worker
		// process) reaches every journey.
		if n <= *changeUpTo {
			j, err := svc.CreateJourney(context.Background(), adm, domain.JourneyInput{Name: "Changed", Steps: journeys.Default()})
			require.NoError(b, err)
			t1 := time.Now()
			_, op, err := svc.SetDefaultJourney(context.Background(), adm, j.ID)
			require.NoError(b, err)
			answer := time.Since(t1)
			for {
				got, err := svc.Operation(context.Background(), adm.OrganizationID, op.ID)
				require.NoError(b, err)
				if got.State != models.OperationRunning {
					op = got
					break
				}
				require.True(b, time.Now().Before(deadline), "the journey change reached %d of %d journeys", got.Reached, got.Total)
				time.Sleep(500 * time.Millisecond)
			}
			change := time.Since(t1)
			require.Equal(b, models.OperationCompleted, op.State, op.LastError)
			require.Equal(b, n, op.Reached+op.Skipped, "journeys reached")
			changeRSS, _ := w.memory(b)
			answerMs += answer.Seconds() * 1000
			changeSeconds += change.Seconds()
			changed++
			b.Logf("change of the default journey of %d running journeys: answered in %s, all %d reached in %s (%.0f/s; %d errors); worker RSS right after %.1f MB",
				n, answer.Round(time.Millisecond), op.Reached, change.Round(time.Millisecond), perSecond(op.Reached, change), op.Errors, float64(changeRSS)/1e6)
		}
		w.stop(b)

		rssMB += float64(rss) / 1e6
		hwmMB += float64(hwm) / 1e6
		takeSeconds += take.Seconds()
		evictedMs += median(evicted).Seconds() * 1000
		cachedMs += median(cached).Seconds() * 1000
		b.Logf("worker process (sticky cache %d, %d+%d activities, %d workflow tasks, %d+%d pollers) took %d journeys in %s; RSS %.1f MB (peak %.1f MB); wake-up of %d evicted journeys: median query %s (replay), then %s (cached); load average %s",
			lim.StickyCache, lim.Activities, lim.SMSActivities, lim.WorkflowTasks, lim.WorkflowPollers, lim.ActivityPollers, n, take.Round(time.Millisecond),
			float64(rss)/1e6, float64(hwm)/1e6, wakeups, median(evicted).Round(time.Microsecond), median(cached).Round(time.Microsecond), loadAverage())
	}
	k := float64(b.N)
	b.ReportMetric(float64(n), "journeys")
	b.ReportMetric(rssMB/k, "rss_MB")
	b.ReportMetric(hwmMB/k, "peak_rss_MB")
	b.ReportMetric(takeSeconds/k, "take_s")
	b.ReportMetric(evictedMs/k, "wakeup_evicted_ms")
	b.ReportMetric(cachedMs/k, "wakeup_cached_ms")
	if changed > 0 {
		b.ReportMetric(answerMs/changed, "change_answer_ms")
		b.ReportMetric(changeSeconds/changed, "change_all_reached_s")
	}
}

// awake returns the journeys of ids that are not asleep yet: a workflow
// task or an activity is pending on them.
func awake(b *testing.B, tc client.Client, ids []string) []string {
	b.Helper()
	var mu sync.Mutex
	var out []string
	parallel(b, len(ids), func(ctx context.Context, i int) error {
		d, err := tc.DescribeWorkflowExecution(ctx, ids[i], "")
		if err != nil {
			return err
		}
		if d.GetPendingWorkflowTask() != nil || len(d.GetPendingActivities()) > 0 || d.GetWorkflowExecutionInfo().GetHistoryLength() < 5 {
			mu.Lock()
			out = append(out, ids[i])
			mu.Unlock()
		}
		return nil
	})
	return out
}

var (
	relanceOnce sync.Once
	relancePath string
	relanceErr  error
)

// relanceBinary builds cmd/relance once per run of the benchmarks.
func relanceBinary(b *testing.B) string {
	b.Helper()
	relanceOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relance-bench-")
		if err != nil {
			relanceErr = err
			return
		}
		relancePath = filepath.Join(dir, "relance")
		out, err := exec.Command("go", "build", "-o", relancePath, "github.com/relance/relance/cmd/relance").CombinedOutput()
		if err != nil {
			relanceErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(b, relanceErr)
	return relancePath
}

// workerProcess is a `relance worker` running in its own process.
type workerProcess struct {
	cmd      *exec.Cmd
	metrics  string
	done     chan error
	stopOnce sync.Once
}

// startWorkerProcess runs `relance worker` with the default configuration
// against the dev server at hostPort and the database at dbURL, with its
// health and metrics on a loopback port, and waits until it answers.
func startWorkerProcess(b *testing.B, bin, hostPort, dbURL string) *workerProcess {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := ln.Addr().String()
	require.NoError(b, ln.Close())
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+hostPort, "TEMPORAL_NAMESPACE=default",
		"RELANCE_WORKER_LISTEN="+addr, "RELANCE_LOG_LEVEL=warn", "LETTERS_DIR="+b.TempDir(),
		// Every journey is started and marked on its invoice: nothing for
		// the reconciler to do while the figures are taken.
		"RELANCE_RECONCILE_EVERY=24h",
	)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	require.NoError(b, cmd.Start())
	w := &workerProcess{cmd: cmd, metrics: "http://" + addr + "/metrics", done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait() }()
	b.Cleanup(func() { w.stop(b) })
	deadline := time.Now().Add(testkit.Patience)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return w
			}
		}
		if processGone(w.cmd.Process.Pid) {
			b.Fatalf("relance worker exited before it answered on %s", addr)
		}
		require.True(b, time.Now().Before(deadline), "relance worker does not answer on %s: %v", addr, err)
		time.Sleep(100 * time.Millisecond)
	}
}

// processGone reports whether no process pid runs any more (or is a zombie).
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(data), ") Z ")
}

// counter sums the samples of a metric whose labels contain match.
func (w *workerProcess) counter(name, match string) (float64, error) {
	res, err := http.Get(w.metrics)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// memory reads the process's resident memory and its peak, in bytes.
func (w *workerProcess) memory(b *testing.B) (rss, hwm int64) {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	require.NoError(b, err)
	field := func(name string) int64 {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, name+":"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				require.NoError(b, err)
				return kb * 1024
			}
		}
		b.Fatalf("no %s in /proc/%d/status", name, w.cmd.Process.Pid)
		return 0
	}
	return field("VmRSS"), field("VmHWM")
}

// stop ends the worker (SIGTERM, as a deploy does) and waits for it.
func (w *workerProcess) stop(b *testing.B) {
	w.stopOnce.Do(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(time.Minute):
			b.Logf("relance worker (pid %d) did not stop within a minute of SIGTERM: killed", w.cmd.Process.Pid)
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
}
