package render

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTotalClaimLeavesOutAnnouncedCosts: a consumer's 14-day letter states
// the collection costs (#collection_costs) but they are not yet due, so
// #total_claim is the open amount plus interest only.
func TestTotalClaimLeavesOutAnnouncedCosts(t *testing.T) {
	d := fullData("en")
	d.Items = []Item{{Number: "A", DueDate: day(2026, 10, 1), Amount: eur(100000), Open: eur(100000)}}
	d.Invoice = nil
	costs, interest := eur(15000), eur(890)
	d.CollectionCosts, d.Interest = &costs, &interest
	tpl := "#collection_costs|#interest|#total_claim"

	due, err := RenderSMS(tpl, d)
	require.NoError(t, err)
	require.Equal(t, "€150.00|€8.90|€1,158.90", due.Text)

	d.CostsAnnounced = true
	announced, err := RenderSMS(tpl, d)
	require.NoError(t, err)
	require.Equal(t, "€150.00|€8.90|€1,008.90", announced.Text)
}
