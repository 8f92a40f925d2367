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
			Limits{StickyCache: DefaultStickyCacheSize, Activities: DefaultMaxActivities, SMSActivities: DefaultMaxSMSActivities, WorkflowTasks: DefaultMaxWorkflowTasks, WorkflowPollers: DefaultWorkflowPollers, ActivityPollers: DefaultActivityPollers}},
		{"defaults fit the default pool of 20", Options{DBMaxConns: 20},
			Limits{StickyCache: 2000, Activities: 12, SMSActivities: 4, WorkflowTasks: 16, WorkflowPollers: 8, ActivityPollers: 4}},
		{"explicit values kept when they fit", Options{MaxCachedWorkflows: 500, MaxActivities: 30, MaxSMSActivities: 8, MaxWorkflowTasks: 4, DBMaxConns: 50},
			Limits{StickyCache: 500, Activities: 30, SMSActivities: 8, WorkflowTasks: 4, WorkflowPollers: 4, ActivityPollers: 4}},
		{"exactly the budget", Options{MaxActivities: 14, MaxSMSActivities: 4, DBMaxConns: 20},
			Limits{StickyCache: 2000, Activities: 14, SMSActivities: 4, WorkflowTasks: 16, WorkflowPollers: 8, ActivityPollers: 4}},
		{"SDK-sized limits capped to the pool", Options{MaxActivities: 1000, MaxSMSActivities: 1000, DBMaxConns: 20},
			Limits{StickyCache: 2000, Activities: 14, SMSActivities: 4, WorkflowTasks: 16, WorkflowPollers: 8, ActivityPollers: 4, Capped: true}},
		{"small pool: SMS keeps one", Options{DBMaxConns: 5},
			Limits{StickyCache: 2000, Activities: 2, SMSActivities: 1, WorkflowTasks: 16, WorkflowPollers: 8, ActivityPollers: 2, Capped: true}},
		{"pool below the reserve still runs one of each", Options{DBMaxConns: 2},
			Limits{StickyCache: 2000, Activities: 1, SMSActivities: 1, WorkflowTasks: 16, WorkflowPollers: 8, ActivityPollers: 1, Capped: true}},
		{"SMS already small stays", Options{MaxActivities: 40, MaxSMSActivities: 2, DBMaxConns: 22},
			Limits{StickyCache: 2000, Activities: 18, SMSActivities: 2, WorkflowTasks: 16, WorkflowPollers: 8, ActivityPollers: 4, Capped: true}},
		{"explicit pollers kept", Options{WorkflowPollers: 3, ActivityPollers: 6},
			Limits{StickyCache: 2000, Activities: 12, SMSActivities: 4, WorkflowTasks: 16, WorkflowPollers: 3, ActivityPollers: 6}},
		{"pollers never outnumber the slots they feed", Options{MaxWorkflowTasks: 2, MaxActivities: 3, WorkflowPollers: 10, ActivityPollers: 10},
			Limits{StickyCache: 2000, Activities: 3, SMSActivities: 4, WorkflowTasks: 2, WorkflowPollers: 2, ActivityPollers: 3}},
		{"one workflow poll is two (the SDK refuses one)", Options{MaxWorkflowTasks: 1, WorkflowPollers: 1},
			Limits{StickyCache: 2000, Activities: 12, SMSActivities: 4, WorkflowTasks: 1, WorkflowPollers: 2, ActivityPollers: 4}},
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
