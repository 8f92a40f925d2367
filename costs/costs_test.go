package costs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestWIK: worked examples of the scale of the Besluit vergoeding voor
// buitengerechtelijke incassokosten (Stb. 2012, 141), art. 2(1): 15 % of
// the first 2,500, 10 % of the next 2,500, 5 % of the next 5,000, 1 % of the
// next 190,000, 0.5 % of the excess, max 6,775; art. 2(2): at least 40.
// Each expectation is worked out by hand in its comment.
func TestWIK(t *testing.T) {
	for _, tc := range []struct {
		name      string
		principal int64
		want      int64
	}{
		{"nothing owed", 0, 0},
		{"negative principal", -5000, 0},
		{"minimum: 15% of 100.00 = 15.00 < 40", 10000, 4000},
		{"minimum: 15% of 266.66 = 39.999 rounds to 40.00", 26666, 4000},
		{"just above the minimum: 15% of 300.00 = 45.00", 30000, 4500},
		{"15% of 1,234.56 = 185.184 rounds to 185.18", 123456, 18518},
		{"edge of the first bracket: 15% of 2,500 = 375.00", 250000, 37500},
		{"one cent into the second bracket: 375 + 0.001", 250001, 37500},
		{"375 + 10% of 500 = 425.00", 300000, 42500},
		{"edge of the second bracket: 375 + 250 = 625.00", 500000, 62500},
		{"edge of the third bracket: 625 + 5% of 5,000 = 875.00", 1000000, 87500},
		{"edge of the fourth bracket: 875 + 1% of 190,000 = 2,775.00", 20000000, 277500},
		{"0.5% bracket: 2,775 + 0.5% of 100,000 = 3,275.00", 30000000, 327500},
		{"the cap is reached at exactly 1,000,000: 2,775 + 4,000 = 6,775", 100000000, 677500},
		{"cap: 2,000,000 owes 6,775", 200000000, 677500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, WIK(tc.principal))
		})
	}
}

// TestInterest: simple interest accrued daily from the day after the due
// date (Directive 2011/7/EU, art. 3(3)(a)), on actual days over 365,
// Σ open × rate / (365 × 10 000), rounded once, halves away from zero.
func TestInterest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		principal int64
		due, asOf string
		payments  []Payment
		rateBP    int64
		want      int64
	}{
		{"not yet late on the due date", 100000, "2026-01-31", "2026-01-31", nil, 1015, 0},
		{"before the due date", 100000, "2026-01-31", "2026-01-15", nil, 1015, 0},
		{"zero rate", 100000, "2026-01-31", "2026-03-02", nil, 0, 0},
		// 1,000.00 at 10.15 % (reference rate 2.15 + 8 points) for the 30 days
		// 1 Feb – 2 Mar 2026: 100000 × 30 × 1015 / 3 650 000 = 834.25 → 8.34.
		{"30 days at the EU B2B rate", 100000, "2026-01-31", "2026-03-02", nil, 1015, 834},
		// A whole year: 1 Jan – 31 Dec 2026 is 365 days: 10.15 % of 1,000.00 = 101.50.
		{"one year", 100000, "2025-12-31", "2026-12-31", nil, 1015, 10150},
		// 1,000.00 at 8 %, 400.00 paid on 15 Feb: 1–15 Feb (15 days) on 1,000.00,
		// 16 Feb – 2 Mar (15 days) on 600.00: (100000×15 + 60000×15) × 800 /
		// 3 650 000 = 1 920 000 000 / 3 650 000 = 526.03 → 5.26.
		{"partial payment changes the open amount", 100000, "2026-01-31", "2026-03-02",
			[]Payment{{On: date("2026-02-15"), AmountMinor: 40000}}, 800, 526},
		// Paid in full on 10 Feb: interest runs 1–10 Feb only:
		// 100000 × 10 × 1015 / 3 650 000 = 278.08 → 2.78.
		{"interest stops with the payment", 100000, "2026-01-31", "2026-12-31",
			[]Payment{{On: date("2026-02-10"), AmountMinor: 100000}}, 1015, 278},
		// One day on 18.25 at 10 %: 1825 × 1000 / 3 650 000 = 0.5 → 1 (half away from zero).
		{"half a cent rounds up", 1825, "2026-01-01", "2026-01-02", nil, 1000, 1},
		{"overpayment does not make interest negative", 10000, "2026-01-01", "2026-02-01",
			[]Payment{{On: date("2026-01-01"), AmountMinor: 20000}}, 1000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Interest(tc.principal, date(tc.due), tc.payments, date(tc.asOf), tc.rateBP)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestInterestIgnoresTimeOfDay: dates are calendar dates; an instant late
// in the day counts as that day.
func TestInterestIgnoresTimeOfDay(t *testing.T) {
	due := time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)
	asOf := time.Date(2026, 3, 2, 0, 1, 0, 0, time.UTC)
	require.Equal(t, int64(834), Interest(100000, due, nil, asOf, 1015))
}

func TestCollectionCosts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kind       CustomerKind
		currency   string
		principals []int64
		want       int64
		err        error
	}{
		// Directive 2011/7/EU art. 6(1): 40 EUR per late payment.
		{"business: 40 EUR per invoice", Business, "EUR", []int64{100000, 5000, 250000}, 12000, nil},
		{"business: a paid invoice owes nothing", Business, "EUR", []int64{100000, 0}, 4000, nil},
		// WIK over the sum: 1,000 + 2,000 = 3,000 → 375 + 50 = 425.00 (per
		// invoice it would be 150 + 300 = 450).
		{"consumer: WIK over the sum of the claim", Consumer, "EUR", []int64{100000, 200000}, 42500, nil},
		{"consumer: the minimum", Consumer, "EUR", []int64{2000}, 4000, nil},
		{"consumer: nothing open", Consumer, "EUR", nil, 0, nil},
		{"other currency", Business, "USD", []int64{100000}, 0, ErrCurrency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CollectionCosts(tc.kind, tc.currency, tc.principals)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := CollectionCosts("robot", "EUR", []int64{1})
	require.Error(t, err)
}

// TestCostsDueFrom: a consumer gets 14 days, counted from the day after the
// letter is received (taken as the day after it is sent): a notice sent on
// 2 March makes costs due from 18 March (3 March received, 4–17 March the
// 14 days).
func TestCostsDueFrom(t *testing.T) {
	notice := time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)
	require.Equal(t, date("2026-03-02"), CostsDueFrom(Business, notice))
	require.Equal(t, date("2026-03-18"), CostsDueFrom(Consumer, notice))
}

func TestApplyWaiver(t *testing.T) {
	for _, tc := range []struct {
		name   string
		waived int64
		want   Claim
	}{
		{"no waiver", 0, Claim{PrincipalMinor: 100000, InterestMinor: 834, CostsMinor: 4000, TotalMinor: 104834}},
		{"part of the costs", 1000, Claim{PrincipalMinor: 100000, InterestMinor: 834, CostsMinor: 3000, WaivedMinor: 1000, TotalMinor: 103834}},
		{"costs then interest", 4500, Claim{PrincipalMinor: 100000, InterestMinor: 334, CostsMinor: 0, WaivedMinor: 4500, TotalMinor: 100334}},
		{"more than both: never the principal", 10000, Claim{PrincipalMinor: 100000, WaivedMinor: 4834, TotalMinor: 100000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyWaiver(100000, 834, 4000, tc.waived)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := ApplyWaiver(100000, 834, 4000, -1)
	require.Error(t, err)
}

func TestDivRound(t *testing.T) {
	for _, tc := range []struct{ n, d, want int64 }{
		{5, 10, 1}, {4, 10, 0}, {15, 10, 2}, {-5, 10, -1}, {-4, 10, 0}, {0, 7, 0},
	} {
		require.Equal(t, tc.want, divRound(tc.n, tc.d), "%d/%d", tc.n, tc.d)
	}
}
