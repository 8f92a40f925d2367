// Package tracing sets up OpenTelemetry traces (docs/operations.md): the
// Temporal SDK's tracing interceptor on the client (and so on the workers
// built from it) and an HTTP middleware on the API, exported over OTLP/HTTP
// when an endpoint is configured, and nothing at all otherwise. A request
// that starts a journey is one trace: the HTTP request, the workflow start,
// the workflow run and its activities.
package tracing

import (
	"context"
	"fmt"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"github.com/relance/relance/config"
)

// Tracing is a process's tracing. A nil *Tracing is tracing off: its
// methods then add nothing.
type Tracing struct {
	provider    *sdktrace.TracerProvider
	propagator  propagation.TextMapPropagator
	interceptor interceptor.Interceptor
}

// New exports to the configured OTLP endpoint, or returns nil (off) when
// none is configured. service names the process in the traces, unless the
// configuration names it.
func New(ctx context.Context, cfg config.Tracing, service string) (*Tracing, error) {
	if !cfg.On() {
		return nil, nil
	}
	var opts []otlptracehttp.Option
	switch {
	case cfg.TracesEndpoint != "":
		opts = append(opts, otlptracehttp.WithEndpointURL(cfg.TracesEndpoint))
	default:
		opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint+"/v1/traces"))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	if cfg.ServiceName != "" {
		service = cfg.ServiceName
	}
	return WithProcessor(sdktrace.NewBatchSpanProcessor(exp), service)
}

// WithProcessor traces into sp (tests give the SDK's in-memory exporter
// through a simple span processor).
func WithProcessor(sp sdktrace.SpanProcessor, service string) (*Tracing, error) {
	res := resource.NewSchemaless(semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithResource(res))
	// W3C trace context, given explicitly: the global propagator is a
	// no-op, and without it nothing would link the request to the workflow.
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	ic, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: tp.Tracer("go.temporal.io/sdk"), TextMapPropagator: prop,
	})
	if err != nil {
		return nil, fmt.Errorf("the Temporal tracing interceptor: %w", err)
	}
	return &Tracing{provider: tp, propagator: prop, interceptor: ic}, nil
}

// ClientInterceptors are the Temporal client's interceptors: the SDK's
// tracing interceptor, which the workers built from the client also run
// (it is a worker interceptor too).
func (t *Tracing) ClientInterceptors() []interceptor.ClientInterceptor {
	if t == nil {
		return nil
	}
	return []interceptor.ClientInterceptor{t.interceptor}
}

// Handler wraps an HTTP handler in a server span per request (continuing
// the caller's trace when the request carries a traceparent).
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	return otelhttp.NewHandler(h, "http", otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator))
}

// Shutdown flushes the spans still buffered.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}
