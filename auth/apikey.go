// Package auth issues and checks API keys. A key is shown once, at creation;
// the database keeps its prefix (to find the row) and a SHA-256 hash.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/models"
)

// ErrInvalidKey covers every refused key, so a caller learns nothing about
// which part was wrong.
var ErrInvalidKey = errors.New("invalid API key")

const keyPrefix = "rl_"

// NewKey makes a key for an organization: "rl_<prefix>_<secret>".
func NewKey(orgID int64, name string) (string, models.APIKey, error) {
	var p [6]byte
	var s [24]byte
	if _, err := rand.Read(p[:]); err != nil {
		return "", models.APIKey{}, fmt.Errorf("generate API key: %w", err)
	}
	if _, err := rand.Read(s[:]); err != nil {
		return "", models.APIKey{}, fmt.Errorf("generate API key: %w", err)
	}
	prefix := hex.EncodeToString(p[:])
	plain := keyPrefix + prefix + "_" + hex.EncodeToString(s[:])
	return plain, models.APIKey{OrganizationID: orgID, Name: name, Prefix: prefix, Hash: hash(plain)}, nil
}

// Create stores a new key and returns its plaintext, shown once.
func Create(ctx context.Context, db *gorm.DB, orgID int64, name string) (string, models.APIKey, error) {
	plain, k, err := NewKey(orgID, name)
	if err != nil {
		return "", k, err
	}
	if err := db.WithContext(ctx).Create(&k).Error; err != nil {
		return "", k, fmt.Errorf("store API key: %w", err)
	}
	return plain, k, nil
}

// Lookup returns the live key matching plain.
func Lookup(ctx context.Context, db *gorm.DB, plain string) (models.APIKey, error) {
	var k models.APIKey
	rest, ok := strings.CutPrefix(plain, keyPrefix)
	if !ok {
		return k, ErrInvalidKey
	}
	prefix, _, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 12 {
		return k, ErrInvalidKey
	}
	err := db.WithContext(ctx).Where("prefix = ? AND revoked_at IS NULL", prefix).First(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return k, ErrInvalidKey
	}
	if err != nil {
		return k, fmt.Errorf("look up API key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash(plain))) != 1 {
		return models.APIKey{}, ErrInvalidKey
	}
	return k, nil
}

// Touch records a key's use, at most once a minute per key.
func Touch(ctx context.Context, db *gorm.DB, k models.APIKey, now time.Time) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < time.Minute {
		return
	}
	db.WithContext(ctx).Model(&models.APIKey{}).Where("id = ?", k.ID).Update("last_used_at", now)
}

func hash(plain string) string {
	h := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(h[:])
}
