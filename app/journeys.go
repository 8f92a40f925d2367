package app

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
)

// validJourney normalises in and checks it against adm's templates.
func (s *Service) validJourney(ctx context.Context, adm *models.Administration, in *domain.JourneyInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 255 {
		return domain.Invalid("name", "is required (at most 255 characters)")
	}
	gap := journeys.DefaultMinGapDays
	if in.MinGapDays != nil {
		gap = *in.MinGapDays
	}
	in.MinGapDays = &gap
	for i := range in.Steps {
		if in.Steps[i].Template == "" {
			in.Steps[i].Template = journeys.DefaultTemplate
		}
	}
	known := func(name string) bool {
		if name == journeys.DefaultTemplate {
			return true
		}
		var n int64
		s.db.WithContext(ctx).Model(&models.Template{}).Where("administration_id = ? AND name = ?", adm.ID, name).Count(&n)
		return n > 0
	}
	if err := journeys.Validate(in.Steps, gap, known); err != nil {
		field, reason := "steps", strings.TrimPrefix(err.Error(), journeys.ErrInvalid.Error()+": ")
		if f, rest, ok := strings.Cut(reason, ": "); ok && !strings.Contains(f, " ") {
			field, reason = f, rest
		}
		return domain.RuleBroken(field, "%s", reason)
	}
	return nil
}

func stepRows(steps []journeys.Step) []models.JourneyStep {
	out := make([]models.JourneyStep, len(steps))
	for i, s := range steps {
		out[i] = models.JourneyStep{Position: i, OffsetDays: s.OffsetDays, Kind: string(s.Kind), Template: s.Template}
	}
	return out
}

// Journeys lists an administration's journeys with their steps.
func (s *Service) Journeys(ctx context.Context, adm int64, p domain.PageRequest) (domain.Page[models.Journey], error) {
	out, err := page(s.db.WithContext(ctx).Preload("Steps").Where("administration_id = ?", adm), p,
		func(j models.Journey) int64 { return j.ID })
	return out, storeErr(err, "list journeys of administration %d", adm)
}

// Journey loads a journey of organization org, with its steps and its administration.
func (s *Service) Journey(ctx context.Context, org, id int64) (*models.Journey, *models.Administration, error) {
	var j models.Journey
	if err := s.ofOrganization(ctx, org).Preload("Steps").Where("id = ?", id).First(&j).Error; err != nil {
		return nil, nil, storeErr(err, "journey %d", id)
	}
	adm, err := s.Administration(ctx, org, j.AdministrationID)
	return &j, adm, err
}

// CreateJourney stores a new journey of adm.
func (s *Service) CreateJourney(ctx context.Context, adm *models.Administration, in domain.JourneyInput) (*models.Journey, error) {
	if err := s.validJourney(ctx, adm, &in); err != nil {
		return nil, err
	}
	j := models.Journey{AdministrationID: adm.ID, Name: in.Name, MinGapDays: *in.MinGapDays, Steps: stepRows(in.Steps)}
	if err := s.db.WithContext(ctx).Create(&j).Error; err != nil {
		return nil, storeErr(err, "store journey")
	}
	return &j, nil
}

// UpdateJourney replaces a journey's name, gap and steps; the running
// journeys that follow it re-plan their future steps (journey-changed)
// through the operation it returns, which goes on after the call.
func (s *Service) UpdateJourney(ctx context.Context, adm *models.Administration, j *models.Journey, in domain.JourneyInput) (*models.Operation, error) {
	if err := s.validJourney(ctx, adm, &in); err != nil {
		return nil, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("journey_id = ?", j.ID).Delete(&models.JourneyStep{}).Error; err != nil {
			return err
		}
		steps := stepRows(in.Steps)
		for i := range steps {
			steps[i].JourneyID = j.ID
		}
		if err := tx.Create(&steps).Error; err != nil {
			return err
		}
		j.Steps = steps
		j.Name, j.MinGapDays = in.Name, *in.MinGapDays
		return tx.Model(j).Updates(map[string]any{"name": j.Name, "min_gap_days": j.MinGapDays}).Error
	})
	if err != nil {
		return nil, storeErr(err, "update journey %d", j.ID)
	}
	return s.startJourneyChange(ctx, adm, j.ID)
}

// DeleteJourney deletes a journey that neither the administration (as its
// default) nor any customer uses.
func (s *Service) DeleteJourney(ctx context.Context, adm *models.Administration, j *models.Journey) error {
	if adm.DefaultJourneyID != nil && *adm.DefaultJourneyID == j.ID {
		return conflict("journey %d is the administration's default journey", j.ID)
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.Customer{}).Where("journey_id = ?", j.ID).Count(&n).Error; err != nil {
		return storeErr(err, "count customers of journey %d", j.ID)
	}
	if n > 0 {
		return conflict("journey %d is assigned to %d customer(s)", j.ID, n)
	}
	return storeErr(s.db.WithContext(ctx).Select("Steps").Delete(j).Error, "delete journey %d", j.ID)
}

// SetDefaultJourney makes journey journeyID the one adm's customers without
// their own follow; their running journeys re-plan through the operation
// it returns. Setting the same default again starts the operation again
// (so that a request answered 503, Temporal down, can simply be repeated).
func (s *Service) SetDefaultJourney(ctx context.Context, adm *models.Administration, journeyID int64) (*models.Journey, *models.Operation, error) {
	var j models.Journey
	if err := s.db.WithContext(ctx).Preload("Steps").Where("id = ? AND administration_id = ?", journeyID, adm.ID).First(&j).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, domain.RuleBroken("journey_id", "journey %d is not a journey of administration %d", journeyID, adm.ID)
		}
		return nil, nil, storeErr(err, "load journey %d", journeyID)
	}
	if err := s.db.WithContext(ctx).Model(adm).Update("default_journey_id", j.ID).Error; err != nil {
		return nil, nil, storeErr(err, "set default journey of administration %d", adm.ID)
	}
	adm.DefaultJourneyID = &j.ID
	op, err := s.startJourneyChange(ctx, adm, j.ID)
	return &j, op, err
}

// journeyOfAdministration checks that journeyID is a journey of administration adm.
func (s *Service) journeyOfAdministration(ctx context.Context, adm, journeyID int64) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.Journey{}).Where("id = ? AND administration_id = ?", journeyID, adm).Count(&n).Error; err != nil {
		return storeErr(err, "look up journey %d", journeyID)
	}
	if n == 0 {
		return domain.RuleBroken("journey_id", "journey %d is not a journey of administration %d", journeyID, adm)
	}
	return nil
}
