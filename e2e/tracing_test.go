package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/relance/relance/api"
	"github.com/relance/relance/config"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/tracing"
	"github.com/relance/relance/workflows"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes the protobuf
// export requests the exporter posts to /v1/traces and keeps the spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf POST to /v1/traces", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var export coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &export); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range export.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *otlpReceiver) received() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// TestJourneyStartTraced: with an OTLP endpoint configured, creating an
// invoice through the API is one trace, exported over OTLP/HTTP: the
// request's server span (named by its route), the workflow start as its
// child (the SDK's client interceptor), and, through the workflow's
// headers, the worker's run of the journey's activities.
func TestJourneyStartTraced(t *testing.T) {
	rec := &otlpReceiver{}
	collector := httptest.NewServer(rec)
	t.Cleanup(collector.Close)
	tr, err := tracing.New(context.Background(), config.Tracing{Endpoint: collector.URL}, "relance-e2e")
	require.NoError(t, err)
	require.NotNil(t, tr)
	s := newStack(t, testkit.SQLite(t), time.Second, withTracing(tr))

	today := time.Now().UTC()
	var v api.InvoiceView
	require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
		"customer_id": s.cust.ID, "number": fmt.Sprintf("TR-%d", today.UnixNano()), "issue_date": today.Format("2006-01-02"),
		"due_date": today.AddDate(0, 0, 14).Format("2006-01-02"), "amount_minor": 50000,
	}, &v))
	// The invoice goes out: the journey planned and sent its first step.
	require.Eventually(t, func() bool {
		st := s.invoice(v.ID)
		return st.Journey != nil && st.Journey.Stage == workflows.StageInvoiced
	}, testkit.Patience, 100*time.Millisecond)
	// Shutdown exports every span ended so far.
	require.NoError(t, tr.Shutdown(context.Background()))

	spans := rec.received()
	var root *tracepb.Span
	for _, sp := range spans {
		if sp.GetName() == "POST /api/v1/administrations/:id/invoices" && sp.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
			root = sp
		}
	}
	require.NotNil(t, root, "no server span of the invoice creation among %d spans", len(spans))
	var names []string
	var start *tracepb.Span
	activities := map[string]bool{}
	for _, sp := range spans {
		if string(sp.GetTraceId()) != string(root.GetTraceId()) {
			continue
		}
		names = append(names, sp.GetName())
		switch {
		case sp.GetName() == "StartWorkflow:"+workflows.InvoiceJourneyName:
			start = sp
		case strings.HasPrefix(sp.GetName(), "RunActivity:"):
			activities[strings.TrimPrefix(sp.GetName(), "RunActivity:")] = true
		}
	}
	require.NotNil(t, start, "trace %s has no workflow start: %v", hex.EncodeToString(root.GetTraceId()), names)
	require.Equal(t, root.GetSpanId(), start.GetParentSpanId(), "the start is a child of the request")
	require.True(t, activities["PlanJourney"], "the worker's planning joined the request's trace: %v", names)
	require.True(t, activities["SendStep"], "the worker's first send joined the request's trace: %v", names)
}
