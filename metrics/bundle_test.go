package metrics

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// bundleValues reads the bundle families from the registry: the count of
// bundles of kind, of answers with reason, and the items histogram's
// sample count and sum.
func bundleValues(t *testing.T, kind, reason string) (sent, answered float64, samples uint64, sum float64) {
	t.Helper()
	families, err := Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			one := func(v string) bool { return len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == v }
			switch f.GetName() {
			case NameBundles:
				if one(kind) {
					sent = m.GetCounter().GetValue()
				}
			case NameBundleAnswers:
				if one(reason) {
					answered = m.GetCounter().GetValue()
				}
			case NameBundleItems:
				samples, sum = m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sent, answered, samples, sum
}

// TestBundleCounters: a bundle sent counts once by its kind, with its
// items in the histogram; an answer without a send counts by its reason.
func TestBundleCounters(t *testing.T) {
	sent, answered, samples, sum := bundleValues(t, "final_reminder", "customer_min_gap")
	BundleSent("final_reminder", 5)
	BundleAnswered("customer_min_gap")
	BundleAnswered("customer_min_gap")
	sent2, answered2, samples2, sum2 := bundleValues(t, "final_reminder", "customer_min_gap")
	require.Equal(t, sent+1, sent2)
	require.Equal(t, answered+2, answered2)
	require.Equal(t, samples+1, samples2)
	require.Equal(t, sum+5, sum2)
}
