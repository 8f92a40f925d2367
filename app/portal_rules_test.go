package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/models"
)

func TestHeldByAdmin(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(24*time.Hour), now.Add(-time.Hour)
	cases := []struct {
		name string
		inv  models.Invoice
		want bool
	}{
		{"not paused", models.Invoice{}, false},
		{"paused without end", models.Invoice{PausedAt: &earlier}, true},
		{"paused until later", models.Invoice{PausedAt: &earlier, PausedUntil: &later}, true},
		{"pause over", models.Invoice{PausedAt: &earlier, PausedUntil: &earlier}, false},
		{"a promise: the customer may change it", models.Invoice{PausedAt: &earlier, PausedUntil: &later, PromisedUntil: &later}, false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, heldByAdmin(&c.inv, now), c.name)
	}
}
