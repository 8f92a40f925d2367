// Package costs computes what a debtor owes on top of an overdue principal
// in the collection procedure (docs/domain.md §1.5): statutory late-payment
// interest and collection costs. Every function is pure: amounts are int64
// minor units (cents) of one currency, dates are calendar dates in UTC, and
// each function says how it rounds.
//
// Rounding rule, the same everywhere: the exact result is computed in
// integers (no floating point), and rounded once, at the end, to the nearest
// minor unit, halves away from zero (0.5 cent → 1 cent). Intermediate
// results are never rounded, so splitting a claim differently never changes
// a total by more than that one rounding.
package costs

import (
	"errors"
	"fmt"
	"time"
)

// CustomerKind says whether a debtor is a business or a consumer: it
// decides which collection costs apply and when they are due.
type CustomerKind string

// Customer kinds.
const (
	Business CustomerKind = "business"
	Consumer CustomerKind = "consumer"
)

// Valid reports whether k is a known kind.
func (k CustomerKind) Valid() bool { return k == Business || k == Consumer }

// ErrCurrency is returned for fixed or capped amounts that the law states in
// euros (the EU 40 EUR, the WIK's minimum and cap) when the claim is in
// another currency: converting them is a business decision, not arithmetic.
var ErrCurrency = errors.New("collection costs are defined in EUR only")

// divRound divides n by d (d > 0), rounding halves away from zero.
func divRound(n, d int64) int64 {
	if n < 0 {
		return -divRound(-n, d)
	}
	return (n + d/2) / d
}

// civil returns the calendar date of t in UTC, at midnight.
func civil(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Payment is money received against an overdue principal on a date.
type Payment struct {
	On          time.Time
	AmountMinor int64
}

// DaysPerYear is the day-count basis of Interest: actual days over a
// 365-day year, also in leap years (the convention of the Dutch statutory
// interest calculators and of most EU member states' practice).
const DaysPerYear = 365

// Interest is the simple (non-compounding) late-payment interest on a
// principal due on due, accrued daily at rateBP basis points a year
// (1015 = 10.15 %), from the day after the due date up to and including
// asOf. The amount accruing on a day is the principal less the payments
// received before that day: a payment stops interest on its amount from the
// day after it was received (interest runs up to and including the day of
// payment). Payments beyond the principal do not make interest negative.
//
// Directive 2011/7/EU, art. 2(5) and 3(3)(a): interest for late payment is
// simple interest, due from the day following the due date; its art. 2(6)
// sets the commercial rate at the reference rate plus at least 8 points.
//
// The exact amount Σ open(d) × rateBP / (365 × 10 000) is rounded once
// (package rule: half away from zero).
func Interest(principalMinor int64, due time.Time, payments []Payment, asOf time.Time, rateBP int64) int64 {
	if principalMinor <= 0 || rateBP <= 0 {
		return 0
	}
	first := civil(due).AddDate(0, 0, 1)
	last := civil(asOf)
	var sum int64 // Σ open amount over the days, in minor-unit days
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		open := principalMinor
		for _, p := range payments {
			if civil(p.On).Before(d) {
				open -= p.AmountMinor
			}
		}
		if open > 0 {
			sum += open
		}
	}
	return divRound(sum*rateBP, DaysPerYear*10000)
}

// FixedBusinessCostsMinor is the fixed compensation for recovery costs a
// business creditor is owed per late payment: 40 EUR (Directive 2011/7/EU,
// art. 6(1)).
const FixedBusinessCostsMinor = 4000

// WIK minimum and cap (Besluit vergoeding voor buitengerechtelijke
// incassokosten, Stb. 2012, 141, art. 2(1) and 2(2)).
const (
	WIKMinimumMinor = 4000
	WIKMaximumMinor = 677500
)

// wikBrackets are the scale of art. 2(1) of the Besluit: the rate in tenths
// of a percent over each successive slice of the principal (in cents); the
// last slice is unbounded (0).
var wikBrackets = []struct{ slice, perMille int64 }{
	{250000, 150},  // 15 % of the first 2,500
	{250000, 100},  // 10 % of the next 2,500
	{500000, 50},   // 5 % of the next 5,000
	{19000000, 10}, // 1 % of the next 190,000
	{0, 5},         // 0.5 % of the excess
}

// WIK is the extrajudicial collection costs on a principal under the Dutch
// WIK scale (art. 6:96 BW and the Besluit, art. 2): 15 % of the first
// 2,500 EUR, 10 % of the next 2,500, 5 % of the next 5,000, 1 % of the next
// 190,000 and 0.5 % of the excess, at least 40 EUR and at most 6,775 EUR.
// The percentage increase for a creditor who cannot deduct VAT (art. 2(3))
// is not applied. The scale's sum is rounded once (package rule), then the
// minimum and the cap apply. A principal of zero or less owes nothing.
func WIK(principalMinor int64) int64 {
	if principalMinor <= 0 {
		return 0
	}
	left := principalMinor
	var thousandths int64 // cents × 1/1000
	for _, b := range wikBrackets {
		part := left
		if b.slice > 0 && part > b.slice {
			part = b.slice
		}
		thousandths += part * b.perMille
		left -= part
		if left == 0 {
			break
		}
	}
	c := divRound(thousandths, 1000)
	return min(max(c, WIKMinimumMinor), WIKMaximumMinor)
}

// CollectionCosts are the costs of a case whose overdue principals are
// principals (one per invoice, minor units of currency). A business owes the
// fixed 40 EUR per invoice (Directive 2011/7/EU, art. 6); a consumer owes
// the WIK scale over the sum of the principals, claimed together in one
// letter (art. 6:96 BW; the scale applies to the claim, not to each invoice).
// Amounts in another currency than EUR answer ErrCurrency.
func CollectionCosts(kind CustomerKind, currency string, principals []int64) (int64, error) {
	if currency != "EUR" {
		return 0, fmt.Errorf("%w (case in %s)", ErrCurrency, currency)
	}
	switch kind {
	case Business:
		var n int64
		for _, p := range principals {
			if p > 0 {
				n++
			}
		}
		return n * FixedBusinessCostsMinor, nil
	case Consumer:
		var sum int64
		for _, p := range principals {
			if p > 0 {
				sum += p
			}
		}
		return WIK(sum), nil
	}
	return 0, fmt.Errorf("unknown customer kind %q", kind)
}

// ConsumerNoticeDays is the period the WIK's reminder letter must give a
// consumer to pay before any collection costs are due (art. 6:96(6) BW).
const ConsumerNoticeDays = 14

// CostsDueFrom is the first day on which collection costs may be charged,
// given the date of the notice of default. A business owes them from the
// notice on. A consumer must first get the 14-day letter: the period starts
// on the day after the letter is received, which is taken to be the day
// after it is sent, so costs are due from the 16th day after the notice.
func CostsDueFrom(kind CustomerKind, notice time.Time) time.Time {
	n := civil(notice)
	if kind == Consumer {
		return n.AddDate(0, 0, 2+ConsumerNoticeDays)
	}
	return n
}

// Claim is what a case asks of the debtor at one moment.
type Claim struct {
	PrincipalMinor int64
	InterestMinor  int64
	CostsMinor     int64
	// WaivedMinor is the part of interest and costs an admin waived, as far
	// as it applies (never more than interest plus costs).
	WaivedMinor int64
	TotalMinor  int64
}

// ApplyWaiver builds the claim with waivedMinor of the costs waived: the
// waiver takes the collection costs first, then the interest, and never
// touches the principal. A negative waiver is an error.
func ApplyWaiver(principalMinor, interestMinor, costsMinor, waivedMinor int64) (Claim, error) {
	if waivedMinor < 0 {
		return Claim{}, fmt.Errorf("waiver %d is negative", waivedMinor)
	}
	c := Claim{PrincipalMinor: principalMinor}
	w := waivedMinor
	fromCosts := min(w, costsMinor)
	w -= fromCosts
	fromInterest := min(w, interestMinor)
	c.CostsMinor = costsMinor - fromCosts
	c.InterestMinor = interestMinor - fromInterest
	c.WaivedMinor = fromCosts + fromInterest
	c.TotalMinor = c.PrincipalMinor + c.CostsMinor + c.InterestMinor
	return c, nil
}
