package app

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/text/currency"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// minimumAmounts is a validated change of an administration's minimum
// amounts: the currencies to set (minor units) and those to remove.
type minimumAmounts struct {
	set    map[string]int64
	remove []string
}

// minimumAmountChanges validates a minimum_amounts input: each key an
// ISO 4217 code in upper case, each amount >= 0; 0 or null removes the
// currency's minimum. Nothing is returned unless all of it is valid, so that
// a bad currency never leaves the others half-written.
func minimumAmountChanges(in map[string]*int64) (minimumAmounts, error) {
	out := minimumAmounts{set: map[string]int64{}}
	for _, cur := range slices.Sorted(maps.Keys(in)) {
		if !validCurrencyCode(cur) {
			return minimumAmounts{}, domain.RuleBroken("minimum_amounts",
				"%q is not an ISO 4217 currency code in upper case (EUR)", cur)
		}
		v := in[cur]
		switch {
		case v == nil || *v == 0:
			out.remove = append(out.remove, cur)
		case *v < 0:
			return minimumAmounts{}, domain.RuleBroken("minimum_amounts",
				"%s: the amount is in minor units and must be 0 or more, got %d", cur, *v)
		default:
			out.set[cur] = *v
		}
	}
	return out, nil
}

// validCurrencyCode reports whether c is three upper-case letters that
// ISO 4217 knows.
func validCurrencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	_, err := currency.ParseISO(c)
	return err == nil
}

// save upserts the set currencies (one row per administration and
// currency) and deletes the removed ones, inside the caller's transaction.
func (m minimumAmounts) save(tx *gorm.DB, adm int64) error {
	for _, cur := range slices.Sorted(maps.Keys(m.set)) {
		row := models.MinimumAmount{AdministrationID: adm, Currency: cur, AmountMinor: m.set[cur]}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "administration_id"}, {Name: "currency"}},
			DoUpdates: clause.AssignmentColumns([]string{"amount_minor", "updated_at"}),
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("store minimum amount %s of administration %d: %w", cur, adm, err)
		}
	}
	if len(m.remove) > 0 {
		err := tx.Where("administration_id = ? AND currency IN ?", adm, m.remove).Delete(&models.MinimumAmount{}).Error
		if err != nil {
			return fmt.Errorf("remove minimum amounts %v of administration %d: %w", m.remove, adm, err)
		}
	}
	return nil
}

// MinimumAmounts are the minimum amounts of the administrations adms, by
// administration and currency (minor units); an administration without
// any has an empty map.
func (s *Service) MinimumAmounts(ctx context.Context, adms []int64) (map[int64]map[string]int64, error) {
	out := make(map[int64]map[string]int64, len(adms))
	for _, id := range adms {
		out[id] = map[string]int64{}
	}
	if len(adms) == 0 {
		return out, nil
	}
	var rows []models.MinimumAmount
	if err := s.db.WithContext(ctx).Where("administration_id IN ?", adms).Order("administration_id, currency").Find(&rows).Error; err != nil {
		return nil, storeErr(err, "minimum amounts of administrations %v", adms)
	}
	for _, r := range rows {
		if out[r.AdministrationID] == nil {
			out[r.AdministrationID] = map[string]int64{}
		}
		out[r.AdministrationID][r.Currency] = r.AmountMinor
	}
	return out, nil
}
