package bench

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
)

var (
	apiClients  = flag.Int("bench.clients", 16, "concurrent clients of BenchmarkAPIInvoiceUnderLoad")
	apiRequests = flag.Int("bench.requests", 4000, "requests BenchmarkAPIInvoiceUnderLoad sends per iteration")
)

// BenchmarkAPIInvoiceUnderLoad measures GET /api/v1/invoices/{id} (docs/domain.md
// §4 "API latency under load"): the in-process API on PostgreSQL, its
// journey state answered by a real worker through the `state` query, with
// -bench.clients clients sending requests back to back over 200 invoices
// whose journeys sleep. It reports the latency percentiles and the request
// rate. Each request reads the invoice (with the tenant check) and queries
// its journey: the query is the larger part.
func BenchmarkAPIInvoiceUnderLoad(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	tc := devServer(b)
	gdb := testkit.Postgres(b)
	acts, _ := newActivities(b, gdb, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, tc, acts, worker.Options{SMSPerSecond: 1000}) }()
	b.Cleanup(func() { cancel(); <-done })

	adm := newAdministration(b, gdb, "API")
	custs, invs := sleepingInvoices(b, gdb, adm, 200)
	parallel(b, len(invs), func(ctx context.Context, i int) error {
		_, err := app.New(app.Options{Temporal: tc}).StartJourney(ctx, adm, &custs[i%len(custs)], &invs[i])
		return err
	})
	// Every journey answers its query before the load starts.
	for i := range invs {
		require.Eventually(b, func() bool {
			_, err := app.New(app.Options{Temporal: tc}).JourneyState(context.Background(), invs[i].WorkflowID)
			return err == nil
		}, 5*time.Minute, 50*time.Millisecond)
	}
	key, _, err := auth.Create(context.Background(), gdb, adm.OrganizationID, "bench")
	require.NoError(b, err)
	links := portal.Links{BaseURL: "http://portal.bench", Secret: []byte("bench-secret")}
	cfg := config.Config{MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "bench-secret-bench-secret"}
	srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Temporal: tc}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: links, Logger: quiet()}))
	b.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *apiClients}}

	var p50, p90, p99, rate float64
	b.ResetTimer()
	for range b.N {
		n, c := *apiRequests, *apiClients
		lat := make([][]time.Duration, c)
		var mu sync.Mutex
		var first error
		var wg sync.WaitGroup
		t0 := time.Now()
		for g := range c {
			wg.Go(func() {
				for k := g; k < n; k += c {
					req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/invoices/%d", srv.URL, invs[k%len(invs)].ID), nil)
					if err == nil {
						req.Header.Set("Authorization", "Bearer "+key)
						s := time.Now()
						err = get(hc, req)
						lat[g] = append(lat[g], time.Since(s))
					}
					if err != nil {
						mu.Lock()
						first = cmp.Or(first, err)
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(t0)
		b.StopTimer()
		require.NoError(b, first)
		all := slices.Concat(lat...)
		require.Len(b, all, n)
		slices.Sort(all)
		pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
		p50 += pct(0.50)
		p90 += pct(0.90)
		p99 += pct(0.99)
		rate += perSecond(n, elapsed)
		b.StartTimer()
	}
	b.StopTimer()
	k := float64(b.N)
	b.ReportMetric(p50/k, "p50_ms")
	b.ReportMetric(p90/k, "p90_ms")
	b.ReportMetric(p99/k, "p99_ms")
	b.ReportMetric(rate/k, "req/s")
	b.ReportMetric(float64(*apiClients), "clients")
}

// get sends req and checks that the invoice came back with its journey's state.
func get(hc *http.Client, req *http.Request) error {
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"journey":{`)) {
		return fmt.Errorf("GET %s: %d %s", req.URL.Path, res.StatusCode, body)
	}
	return nil
}
