package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLimits(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want Limits
	}{
		{"defaults, no pool given", Options{},
			Limits{StickyCache: DefaultStickyCacheSize, Activities: DefaultMaxActivities, SMSActivities: DefaultMaxSMSActivities, WorkflowTasks: DefaultMaxWorkflowTasks}},
		{"defaults fit the default pool of 20", Options{DBMaxConns: 20},
			Limits{StickyCache: 2000, Activities: 12, SMSActivities: 4, WorkflowTasks: 16}},
		{"explicit values kept when they fit", Options{MaxCachedWorkflows: 500, MaxActivities: 30, MaxSMSActivities: 8, MaxWorkflowTasks: 4, DBMaxConns: 50},
			Limits{StickyCache: 500, Activities: 30, SMSActivities: 8, WorkflowTasks: 4}},
		{"exactly the budget", Options{MaxActivities: 14, MaxSMSActivities: 4, DBMaxConns: 20},
			Limits{StickyCache: 2000, Activities: 14, SMSActivities: 4, WorkflowTasks: 16}},
		{"SDK-sized limits capped to the pool", Options{MaxActivities: 1000, MaxSMSActivities: 1000, DBMaxConns: 20},
			Limits{StickyCache: 2000, Activities: 14, SMSActivities: 4, WorkflowTasks: 16, Capped: true}},
		{"small pool: SMS keeps one", Options{DBMaxConns: 5},
			Limits{StickyCache: 2000, Activities: 2, SMSActivities: 1, WorkflowTasks: 16, Capped: true}},
		{"pool below the reserve still runs one of each", Options{DBMaxConns: 2},
			Limits{StickyCache: 2000, Activities: 1, SMSActivities: 1, WorkflowTasks: 16, Capped: true}},
		{"SMS already small stays", Options{MaxActivities: 40, MaxSMSActivities: 2, DBMaxConns: 22},
			Limits{StickyCache: 2000, Activities: 18, SMSActivities: 2, WorkflowTasks: 16, Capped: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.opt.Limits()
			require.Equal(t, c.want, got)
			if c.opt.DBMaxConns > 0 {
				require.LessOrEqual(t, got.Activities+got.SMSActivities, max(c.opt.DBMaxConns-DBReserve, 2), "never more activities than the pool serves")
			}
		})
	}
}
