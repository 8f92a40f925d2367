package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/importer"
	"github.com/relance/relance/models"
)

// ImportMapping returns the column mapping administration admID saved, or
// nil when it saved none.
func (s *Service) ImportMapping(ctx context.Context, admID int64) (importer.Mapping, error) {
	var row models.ImportMapping
	err := s.db.WithContext(ctx).Where("administration_id = ?", admID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load import mapping of administration %d: %w", admID, err)
	}
	var m importer.Mapping
	if err := json.Unmarshal([]byte(row.Columns), &m); err != nil {
		return nil, fmt.Errorf("decode import mapping of administration %d: %w", admID, err)
	}
	return m, nil
}

// SaveImportMapping replaces administration admID's column mapping, which
// every later import uses. An invalid mapping (unknown field, required field
// without a column, one column for two fields) returns an error wrapping
// importer.ErrMapping (an *importer.MappingError) and writes nothing. An
// empty mapping removes it.
func (s *Service) SaveImportMapping(ctx context.Context, admID int64, m importer.Mapping) error {
	if err := importer.CheckMapping(m); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	if len(m) == 0 {
		if err := db.Where("administration_id = ?", admID).Delete(&models.ImportMapping{}).Error; err != nil {
			return fmt.Errorf("remove import mapping of administration %d: %w", admID, err)
		}
		return nil
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode import mapping: %w", err)
	}
	row := models.ImportMapping{AdministrationID: admID, Columns: string(body)}
	if err := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "administration_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"columns", "updated_at"}),
	}).Create(&row).Error; err != nil {
		return fmt.Errorf("save import mapping of administration %d: %w", admID, err)
	}
	return nil
}
