package main

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPartsStopTogether: when one part of a process stops, the others are
// stopped and its error is the process's; a part that returns nil early has
// failed too; a stop asked by the caller is no error.
func TestPartsStopTogether(t *testing.T) {
	untilStopped := func(ctx context.Context) error { <-ctx.Done(); return nil }

	p := startParts(context.Background())
	p.Go("worker", untilStopped)
	p.Go("API", func(context.Context) error { return errors.New("listen: address in use") })
	require.EqualError(t, p.Wait(), "listen: address in use")

	p = startParts(context.Background())
	p.Go("worker", func(context.Context) error { return nil })
	p.Go("API", untilStopped)
	require.EqualError(t, p.Wait(), "worker stopped")

	ctx, cancel := context.WithCancel(context.Background())
	p = startParts(ctx)
	p.Go("worker", untilStopped)
	p.Go("API", untilStopped)
	cancel()
	require.NoError(t, p.Wait())
}
