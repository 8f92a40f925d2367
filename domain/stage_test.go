package domain

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/policy"
)

func TestStageForward(t *testing.T) {
	cases := []struct {
		current Stage
		kind    policy.StepKind
		want    Stage
	}{
		{StageScheduled, policy.StepInvoice, StageInvoiced},
		{StageInvoiced, policy.StepReminder, StageReminded},
		{StageScheduled, policy.StepFinalReminder, StageFinalReminder},
		{StageFinalReminder, policy.StepReminder, StageFinalReminder},
		{StageFinalReminder, policy.StepInvoice, StageFinalReminder},
		{StageReminded, policy.StepInvoice, StageReminded},
		{StageReminded, policy.StepReminder, StageReminded},
		{StageReminded, policy.StepSMS, StageReminded},
		{StageReminded, policy.StepCollection, StageCollection},
		{StageCollection, policy.StepReminder, StageCollection},
	}
	for _, c := range cases {
		require.Equal(t, c.want, StageForward(c.current, c.kind), "%s then %s", c.current, c.kind)
	}
}
