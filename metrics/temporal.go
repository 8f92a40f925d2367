package metrics

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler is the Temporal SDK's metrics handler (client.Options's
// MetricsHandler) writing into this process's registry: the SDK's counters
// become NAME_total, its timers histograms NAME_seconds, its gauges gauges;
// its tags become labels. Temporal's contrib/tally module does this
// through tally; it is not served here, so this adapter speaks
// client.MetricsHandler directly.
func TemporalHandler() client.MetricsHandler { return sdkHandler{c: sdk} }

// sdkBuckets are the histogram buckets of the SDK's timers (seconds): from
// a poll answered at once to a long poll's minute.
var sdkBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type kind int

const (
	kindCounter kind = iota
	kindGauge
	kindTimer
)

// sdkCollector holds every series the SDK reported. The SDK tags one
// metric name with different tag sets in different places, which a
// Prometheus family cannot have, so each family is exposed with the union
// of its tag keys, a missing tag as "".
type sdkCollector struct {
	mu       sync.Mutex
	families map[string]*family
}

type family struct {
	name   string
	kind   kind
	keys   map[string]bool
	series map[string]*series
}

type series struct {
	tags    map[string]string
	value   atomic.Uint64 // counter (integer) or gauge (float64 bits)
	mu      sync.Mutex    // timer
	count   uint64
	sum     float64
	buckets []uint64
}

var sdk = &sdkCollector{families: map[string]*family{}}

func (c *sdkCollector) get(name string, k kind, tags map[string]string) *series {
	full := sanitize("temporal_" + strings.TrimPrefix(name, "temporal_"))
	switch k {
	case kindCounter:
		full += "_total"
	case kindTimer:
		full += "_seconds"
	}
	key := tagKey(tags)
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.families[full]
	if f == nil {
		f = &family{name: full, kind: k, keys: map[string]bool{}, series: map[string]*series{}}
		c.families[full] = f
	}
	s := f.series[key]
	if s == nil {
		s = &series{tags: tags}
		if k == kindTimer {
			s.buckets = make([]uint64, len(sdkBuckets))
		}
		f.series[key] = s
		for t := range tags {
			f.keys[t] = true
		}
	}
	return s
}

// Describe sends nothing: the families appear as the SDK reports them
// (an unchecked collector).
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.families {
		keys := slices.Sorted(maps.Keys(f.keys))
		labels := make([]string, len(keys))
		for i, k := range keys {
			labels[i] = sanitize(k)
		}
		desc := prometheus.NewDesc(f.name, "Temporal SDK metric "+f.name+".", labels, nil)
		for _, s := range f.series {
			vals := make([]string, len(keys))
			for i, k := range keys {
				vals[i] = s.tags[k]
			}
			var m prometheus.Metric
			var err error
			switch f.kind {
			case kindCounter:
				m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, float64(s.value.Load()), vals...)
			case kindGauge:
				m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, float64frombits(s.value.Load()), vals...)
			case kindTimer:
				s.mu.Lock()
				cum := map[float64]uint64{}
				var acc uint64
				for i, b := range sdkBuckets {
					acc += s.buckets[i]
					cum[b] = acc
				}
				m, err = prometheus.NewConstHistogram(desc, s.count, s.sum, cum, vals...)
				s.mu.Unlock()
			}
			if err == nil {
				ch <- m
			}
		}
	}
}

type sdkHandler struct {
	c    *sdkCollector
	tags map[string]string
}

// WithTags implements client.MetricsHandler.
func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	maps.Copy(merged, tags)
	return sdkHandler{c: h.c, tags: merged}
}

// Counter implements client.MetricsHandler.
func (h sdkHandler) Counter(name string) client.MetricsCounter {
	return counter{h.c.get(name, kindCounter, h.tags)}
}

// Gauge implements client.MetricsHandler.
func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	return gauge{h.c.get(name, kindGauge, h.tags)}
}

// Timer implements client.MetricsHandler.
func (h sdkHandler) Timer(name string) client.MetricsTimer {
	return timer{h.c.get(name, kindTimer, h.tags)}
}

type counter struct{ s *series }

func (c counter) Inc(n int64) {
	if n > 0 {
		c.s.value.Add(uint64(n))
	}
}

type gauge struct{ s *series }

func (g gauge) Update(v float64) { g.s.value.Store(float64bits(v)) }

type timer struct{ s *series }

func (t timer) Record(d time.Duration) {
	sec := d.Seconds()
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.count++
	t.s.sum += sec
	if i := sort.SearchFloat64s(sdkBuckets, sec); i < len(sdkBuckets) {
		t.s.buckets[i]++
	}
}

func tagKey(tags map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(tags[k])
		b.WriteByte(0)
	}
	return b.String()
}

// sanitize makes a Prometheus metric or label name of an SDK name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func float64bits(f float64) uint64     { return math.Float64bits(f) }
func float64frombits(u uint64) float64 { return math.Float64frombits(u) }
