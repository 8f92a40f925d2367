// Package bench holds Relance's performance benchmarks (docs/domain.md §4): they
// run the real journeys, activities, import and API against a real Temporal
// dev server (the pinned CLI at bin/temporal) and real databases, and print
// figures with b.ReportMetric. Nothing is asserted on timings: the machines
// are shared and noisy, so compare the ratios a single run prints (each
// throughput figure sits beside the bare StartWorkflow rate of the same
// server, measured in the same run).
//
// Run them with `make bench`, or one at a time:
//
//	go test -count=1 -run '^$' -bench BenchmarkImport -benchmem ./bench/
//
// docs/benchmarks.md records the figures measured and what each one means.
package bench
