package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/relance/relance/config"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/workflows"
)

// TestTemporalSetup: on a namespace that does not exist, `relance temporal
// setup` registers it and every search attribute with its type; a second
// run changes nothing; an attribute of the wrong type is an error.
func TestTemporalSetup(t *testing.T) {
	srv, tc := testkit.DevServer(t)
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.Temporal.Address = srv.FrontendHostPort()
	cfg.Temporal.Namespace = "relance-setup"
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	var out bytes.Buffer
	require.NoError(t, runTemporal(ctx, cfg, log, []string{"setup", "--timeout", "90s"}, &out))
	require.Contains(t, out.String(), "namespace relance-setup: ready (created: true)")
	have, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "relance-setup"})
	require.NoError(t, err)
	n := 0
	for sa := range workflows.SearchAttributes().GetUntypedValues() {
		require.Equal(t, enumspb.IndexedValueType(sa.GetValueType()), have.GetCustomAttributes()[sa.GetName()], sa.GetName())
		require.Contains(t, out.String(), sa.GetName())
		n++
	}
	require.Equal(t, 5, n)

	out.Reset()
	require.NoError(t, runTemporal(ctx, cfg, log, []string{"setup"}, &out))
	require.Equal(t, "namespace relance-setup: ready (created: false); search attributes added: []\n", out.String())

	// A namespace where RelanceStage is a Bool: refused, naming it.
	_, err = tc.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "relance-clash", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := tc.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "relance-clash",
			SearchAttributes: map[string]enumspb.IndexedValueType{workflows.AttrStage.GetName(): enumspb.INDEXED_VALUE_TYPE_BOOL}})
		return err == nil
	}, 60*time.Second, 200*time.Millisecond)
	cfg.Temporal.Namespace = "relance-clash"
	err = runTemporal(ctx, cfg, log, []string{"setup", "--timeout", "60s"}, &out)
	require.ErrorContains(t, err, "search attribute RelanceStage exists in relance-clash as Bool")
	require.Error(t, runTemporal(ctx, cfg, log, []string{"teardown"}, &out))
}
