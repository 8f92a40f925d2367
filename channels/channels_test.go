package channels_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels"
)

func TestPermanent(t *testing.T) {
	base := errors.New("number barred")

	require.NoError(t, channels.Permanent(nil))
	require.False(t, channels.IsPermanent(nil))
	require.False(t, channels.IsPermanent(base))

	p := channels.Permanent(base)
	require.True(t, channels.IsPermanent(p))
	require.ErrorIs(t, p, base, "the cause stays reachable")
	require.Equal(t, base.Error(), p.Error())

	wrapped := fmt.Errorf("send sms: %w", p)
	require.True(t, channels.IsPermanent(wrapped), "wrapping keeps the mark")
	require.Same(t, p, channels.Permanent(p), "marking twice does not nest")
}
