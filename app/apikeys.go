package app

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/relance/relance/auth"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// CreateAPIKey creates another key of orgID and returns its plaintext,
// shown once: only its hash is stored. A read-only key may read but not
// change anything.
func (s *Service) CreateAPIKey(ctx context.Context, orgID int64, name string, readOnly bool) (models.APIKey, string, error) {
	name, err := singleLine("name", name, 255, true)
	if err != nil {
		return models.APIKey{}, "", err
	}
	var orgs int64
	if err := s.db.WithContext(ctx).Model(&models.Organization{}).Where("id = ?", orgID).Count(&orgs).Error; err != nil {
		return models.APIKey{}, "", fmt.Errorf("look up organization %d: %w", orgID, err)
	}
	if orgs == 0 {
		return models.APIKey{}, "", fmt.Errorf("organization %d: %w", orgID, domain.ErrNotFound)
	}
	plain, k, err := auth.NewKey(orgID, name)
	if err != nil {
		return models.APIKey{}, "", err
	}
	k.ReadOnly = readOnly
	if err := s.db.WithContext(ctx).Create(&k).Error; err != nil {
		return models.APIKey{}, "", fmt.Errorf("store API key: %w", err)
	}
	s.log.Info("API key created", "organization_id", orgID, "api_key_id", k.ID, "read_only", readOnly)
	return k, plain, nil
}

// APIKeys lists the keys of organization org, revoked ones included (they
// say when).
func (s *Service) APIKeys(ctx context.Context, org int64, p domain.PageRequest) (domain.Page[models.APIKey], error) {
	out, err := page(s.db.WithContext(ctx).Where("organization_id = ?", org), p, func(k models.APIKey) int64 { return k.ID })
	return out, storeErr(err, "list API keys of organization %d", org)
}

// RevokeAPIKey revokes a key of orgID: from the next request on it answers
// 401 (keys are looked up on every request, nothing caches them). Revoking
// a revoked key is a no-op.
func (s *Service) RevokeAPIKey(ctx context.Context, orgID, id int64) (models.APIKey, error) {
	var k models.APIKey
	err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", id, orgID).First(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return k, fmt.Errorf("API key %d %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("load API key %d: %w", id, err)
	}
	if k.RevokedAt != nil {
		return k, nil
	}
	now := s.Now()
	if err := s.db.WithContext(ctx).Model(&models.APIKey{}).Where("id = ? AND revoked_at IS NULL", k.ID).Update("revoked_at", now).Error; err != nil {
		return k, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	k.RevokedAt = &now
	s.log.Info("API key revoked", "organization_id", orgID, "api_key_id", k.ID)
	return k, nil
}
