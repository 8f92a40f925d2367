// Package schedule turns a journey's step offsets into the instants the steps
// are due (docs/domain.md §1.4): on a business day of the administration's country,
// inside business hours in its time zone, skipping public holidays that are
// days off.
//
// It is pure and deterministic (no clock, no I/O, no global state it writes)
// because the plan is computed inside a Temporal activity and its result is
// recorded in workflow history; the workflow only ever sees the times.
//
// At a scaled day length (RELANCE_DAY other than 24h, for demos and end-to-end
// tests) send windows and holidays do not apply: a journey that plays out in
// minutes has no business hours.
package schedule
