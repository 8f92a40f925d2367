package app

import (
	"context"

	"github.com/relance/relance/models"
)

// Message loads an outbox message of organization org: what was sent (or
// skipped or failed) on one channel, as stored when it was rendered.
func (s *Service) Message(ctx context.Context, org, id int64) (*models.Message, error) {
	var m models.Message
	if err := s.ofOrganization(ctx, org).Where("id = ?", id).First(&m).Error; err != nil {
		return nil, storeErr(err, "message %d", id)
	}
	return &m, nil
}
