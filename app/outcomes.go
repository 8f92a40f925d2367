package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// overlayOutcomes rewrites the "channel:state" outcomes of the journey's
// handled steps with their outbox rows' state as it is now. The workflow
// records what the send activity answered at the time; receipts and bounces
// come later and change the row only: a bounced email reads email:failed,
// an SMS confirmed by its delivery receipt sms:sent (instead of the
// email:sent and sms:uncertain the workflow remembers).
func (s *Service) overlayOutcomes(ctx context.Context, workflowID string, st *workflows.JourneyState) error {
	var rows []models.Message
	err := s.db.WithContext(ctx).Select("id", "key", "state").
		Where("workflow_id = ? AND manual = ?", workflowID, false).Order("id").Find(&rows).Error
	if err != nil {
		return fmt.Errorf("load the messages of %s: %w", workflowID, err)
	}
	OverlayOutcomes(st, rows)
	return nil
}

// OverlayOutcomes is overlayOutcomes' rule on given rows (ordered by ID). A
// row belongs to a step by the end of its outbox key, <offset>/<kind>/<channel>
// (the key starts with the workflow ID, which may itself contain slashes in
// the invoice number); the newest row of a step and channel wins, so a later
// journey cycle's row hides an earlier one's. Outcomes with no row are left
// as the workflow reports them.
func OverlayOutcomes(st *workflows.JourneyState, rows []models.Message) {
	latest := make(map[string]models.MessageState, len(rows))
	for _, m := range rows {
		parts := strings.Split(m.Key, "/")
		if len(parts) < 4 {
			continue
		}
		latest[strings.Join(parts[len(parts)-3:], "/")] = m.State
	}
	overlay := func(step *workflows.StepState) {
		for i, o := range step.Channels {
			ch, _, ok := strings.Cut(o, ":")
			if !ok {
				continue
			}
			if state, found := latest[stepChannelKey(step, ch)]; found {
				step.Channels[i] = ch + ":" + string(state)
			}
		}
	}
	for i := range st.Steps {
		overlay(&st.Steps[i])
	}
	for i := range st.Sent {
		overlay(&st.Sent[i])
	}
	if st.Next != nil {
		overlay(st.Next)
	}
}

func stepChannelKey(step *workflows.StepState, channel string) string {
	return strings.Join([]string{strconv.Itoa(step.OffsetDays), string(step.Kind), channel}, "/")
}
