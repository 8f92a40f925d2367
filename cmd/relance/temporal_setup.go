package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/relance/relance/config"
	"github.com/relance/relance/workflows"
)

const temporalUsage = "usage: relance temporal setup [--retention 720h] [--timeout 2m]"

// runTemporal registers the namespace (TEMPORAL_NAMESPACE) and Relance's
// search attributes on any Temporal cluster, then checks them. Running it
// again changes nothing, so a deployment may run it at every start.
func runTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	var retention, timeout time.Duration
	if err := subcommand(args, "temporal", "setup", temporalUsage, func(fs *flag.FlagSet) {
		fs.DurationVar(&retention, "retention", 30*24*time.Hour, "history retention of a namespace it creates")
		fs.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the cluster and a new namespace")
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c client.Client
	err := retryUntil(ctx, func() error {
		var err error
		c, err = client.DialContext(ctx, client.Options{HostPort: cfg.Temporal.Address, Namespace: cfg.Temporal.Namespace, Logger: quietLogger{}})
		return err
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	created, err := ensureNamespace(ctx, c, cfg.Temporal.Namespace, retention)
	if err != nil {
		return err
	}
	added, err := ensureSearchAttributes(ctx, c, cfg.Temporal.Namespace)
	if err != nil {
		return err
	}
	log.Info("Temporal set up", "namespace", cfg.Temporal.Namespace, "namespace_created", created, "search_attributes_added", added)
	_, err = fmt.Fprintf(out, "namespace %s: ready (created: %t); search attributes added: %v\n", cfg.Temporal.Namespace, created, added)
	return err
}

// ensureNamespace registers ns unless it exists.
func ensureNamespace(ctx context.Context, c client.Client, ns string, retention time.Duration) (bool, error) {
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	var nf *serviceerror.NamespaceNotFound
	if err == nil {
		return false, nil
	}
	if !errors.As(err, &nf) {
		return false, fmt.Errorf("describe namespace %s: %w", ns, err)
	}
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return false, fmt.Errorf("register namespace %s: %w", ns, err)
	}
	return err == nil, nil
}

// ensureSearchAttributes adds the search attributes of workflows.SearchAttributes
// that ns lacks, and refuses one that exists with another type. A namespace
// just registered takes a few seconds to reach every frontend: NotFound is
// retried until ctx ends.
func ensureSearchAttributes(ctx context.Context, c client.Client, ns string) ([]string, error) {
	want := map[string]enumspb.IndexedValueType{}
	for sa := range workflows.SearchAttributes().GetUntypedValues() {
		want[sa.GetName()] = enumspb.IndexedValueType(sa.GetValueType())
	}
	added := map[string]bool{}
	err := retryUntil(ctx, func() error {
		have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return fmt.Errorf("list search attributes of %s: %w", ns, err)
		}
		missing := map[string]enumspb.IndexedValueType{}
		for name, typ := range want {
			got, ok := have.GetCustomAttributes()[name]
			if !ok {
				missing[name] = typ
				continue
			}
			if got != typ {
				return permanent(fmt.Errorf("search attribute %s exists in %s as %s, Relance needs %s", name, ns, got, typ))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: missing}); err != nil {
			var exists *serviceerror.AlreadyExists
			if !errors.As(err, &exists) {
				return fmt.Errorf("add search attributes to %s: %w", ns, err)
			}
		}
		for name := range missing {
			added[name] = true
		}
		return errors.New("check again") // the next round verifies them
	})
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(added)), nil
}

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return permanentError{err} }

// retryUntil runs f until it succeeds, fails permanently or ctx ends, with a
// growing pause (a cluster that is starting answers Unavailable a while).
func retryUntil(ctx context.Context, f func() error) error {
	wait := 200 * time.Millisecond
	for {
		err := f()
		var p permanentError
		if err == nil || errors.As(err, &p) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 3*time.Second)
	}
}
