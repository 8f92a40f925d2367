package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// JourneyRequest is the body of POST /administrations/{id}/journeys and PUT /journeys/{id}.
type JourneyRequest struct {
	Name       string          `json:"name"`
	MinGapDays *int            `json:"min_gap_days"`
	Steps      []journeys.Step `json:"steps"`
}

// JourneyView is a journey with its steps in order.
type JourneyView struct {
	ID               int64           `json:"id"`
	AdministrationID int64           `json:"administration_id"`
	Name             string          `json:"name"`
	MinGapDays       int             `json:"min_gap_days"`
	Default          bool            `json:"default"`
	Steps            []journeys.Step `json:"steps"`
}

func journeyView(j models.Journey, adm *models.Administration) JourneyView {
	return JourneyView{
		ID: j.ID, AdministrationID: j.AdministrationID, Name: j.Name, MinGapDays: j.MinGapDays,
		Default: adm.DefaultJourneyID != nil && *adm.DefaultJourneyID == j.ID, Steps: activities.JourneySteps(j),
	}
}

// validate checks the request against the administration's templates.
func (s *Server) validateJourney(c *gin.Context, adm *models.Administration, r *JourneyRequest) error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || len(r.Name) > 255 {
		return badInput("name", "is required (at most 255 characters)")
	}
	gap := journeys.DefaultMinGapDays
	if r.MinGapDays != nil {
		gap = *r.MinGapDays
	}
	r.MinGapDays = &gap
	for i := range r.Steps {
		if r.Steps[i].Template == "" {
			r.Steps[i].Template = journeys.DefaultTemplate
		}
	}
	known := func(name string) bool {
		if name == journeys.DefaultTemplate {
			return true
		}
		var n int64
		s.DB.WithContext(c.Request.Context()).Model(&models.Template{}).
			Where("administration_id = ? AND name = ?", adm.ID, name).Count(&n)
		return n > 0
	}
	if err := journeys.Validate(r.Steps, gap, known); err != nil {
		field, reason := "steps", strings.TrimPrefix(err.Error(), journeys.ErrInvalid.Error()+": ")
		if f, rest, ok := strings.Cut(reason, ": "); ok && !strings.Contains(f, " ") {
			field, reason = f, rest
		}
		return ruleBroken(field, "%s", reason)
	}
	return nil
}

func stepsModel(steps []journeys.Step) []models.JourneyStep {
	out := make([]models.JourneyStep, len(steps))
	for i, s := range steps {
		out[i] = models.JourneyStep{Position: i, OffsetDays: s.OffsetDays, Kind: string(s.Kind), Template: s.Template}
	}
	return out
}

func (s *Server) listJourneys(c *gin.Context) {
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := paginate(s.DB.WithContext(c.Request.Context()).Preload("Steps").Where("administration_id = ?", adm.ID), c,
		func(j models.Journey) int64 { return j.ID })
	if err != nil {
		fail(c, err)
		return
	}
	out := Page[JourneyView]{Next: page.Next, Data: []JourneyView{}}
	for _, j := range page.Data {
		out.Data = append(out.Data, journeyView(j, adm))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createJourney(c *gin.Context) {
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req JourneyRequest
	if err := decode(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := s.validateJourney(c, adm, &req); err != nil {
		fail(c, err)
		return
	}
	j := models.Journey{AdministrationID: adm.ID, Name: req.Name, MinGapDays: *req.MinGapDays, Steps: stepsModel(req.Steps)}
	if err := s.DB.WithContext(c.Request.Context()).Create(&j).Error; err != nil {
		fail(c, fmt.Errorf("store journey: %w", err))
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/journeys/%d", j.ID))
	c.JSON(http.StatusCreated, journeyView(j, adm))
}

// journeyOf loads a journey of the caller's organization, with its administration.
func (s *Server) journeyOf(c *gin.Context) (*models.Journey, *models.Administration, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	var j models.Journey
	db := s.DB.WithContext(c.Request.Context())
	err = ownedAdministrations(c, db).Preload("Steps").Where("id = ?", id).First(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, notFound(fmt.Sprintf("journey %d", id))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load journey %d: %w", id, err)
	}
	adm, err := s.administration(c, j.AdministrationID)
	return &j, adm, err
}

func (s *Server) getJourney(c *gin.Context) {
	j, adm, err := s.journeyOf(c)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, journeyView(*j, adm))
}

// updateJourney replaces a journey's steps; running journeys that use it
// re-plan their future steps (journey-changed).
func (s *Server) updateJourney(c *gin.Context) {
	j, adm, err := s.journeyOf(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req JourneyRequest
	if err := decode(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := s.validateJourney(c, adm, &req); err != nil {
		fail(c, err)
		return
	}
	err = s.DB.WithContext(c.Request.Context()).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("journey_id = ?", j.ID).Delete(&models.JourneyStep{}).Error; err != nil {
			return err
		}
		steps := stepsModel(req.Steps)
		for i := range steps {
			steps[i].JourneyID = j.ID
		}
		if err := tx.Create(&steps).Error; err != nil {
			return err
		}
		j.Steps = steps
		j.Name, j.MinGapDays = req.Name, *req.MinGapDays
		return tx.Model(j).Updates(map[string]any{"name": j.Name, "min_gap_days": j.MinGapDays}).Error
	})
	if err != nil {
		fail(c, fmt.Errorf("update journey %d: %w", j.ID, err))
		return
	}
	n := s.notifyJourneyChanged(c.Request.Context(), adm, j.ID)
	c.Header("X-Relance-Journeys-Signalled", fmt.Sprint(n))
	c.JSON(http.StatusOK, journeyView(*j, adm))
}

func (s *Server) deleteJourney(c *gin.Context) {
	j, adm, err := s.journeyOf(c)
	if err != nil {
		fail(c, err)
		return
	}
	if adm.DefaultJourneyID != nil && *adm.DefaultJourneyID == j.ID {
		fail(c, conflict("journey %d is the administration's default journey", j.ID))
		return
	}
	var n int64
	if err := s.DB.WithContext(c.Request.Context()).Model(&models.Customer{}).Where("journey_id = ?", j.ID).Count(&n).Error; err != nil {
		fail(c, err)
		return
	}
	if n > 0 {
		fail(c, conflict("journey %d is assigned to %d customer(s)", j.ID, n))
		return
	}
	if err := s.DB.WithContext(c.Request.Context()).Select("Steps").Delete(j).Error; err != nil {
		fail(c, fmt.Errorf("delete journey %d: %w", j.ID, err))
		return
	}
	c.Status(http.StatusNoContent)
}

// DefaultJourneyRequest names the journey new and unassigned customers follow.
type DefaultJourneyRequest struct {
	JourneyID int64 `json:"journey_id"`
}

func (s *Server) setDefaultJourney(c *gin.Context) {
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req DefaultJourneyRequest
	if err := decode(c, &req); err != nil {
		fail(c, err)
		return
	}
	var j models.Journey
	if err := s.DB.WithContext(c.Request.Context()).Preload("Steps").Where("id = ? AND administration_id = ?", req.JourneyID, adm.ID).First(&j).Error; err != nil {
		fail(c, ruleBroken("journey_id", "journey %d is not a journey of administration %d", req.JourneyID, adm.ID))
		return
	}
	old := adm.DefaultJourneyID
	if err := s.DB.WithContext(c.Request.Context()).Model(adm).Update("default_journey_id", j.ID).Error; err != nil {
		fail(c, fmt.Errorf("set default journey: %w", err))
		return
	}
	adm.DefaultJourneyID = &j.ID
	if old == nil || *old != j.ID {
		s.notifyJourneyChanged(c.Request.Context(), adm, j.ID)
	}
	c.JSON(http.StatusOK, journeyView(j, adm))
}

func (s *Server) pathAdministration(c *gin.Context) (*models.Administration, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return s.administration(c, id)
}

// notifyJourneyChanged signals every running journey whose plan may have
// changed: the customers on this journey, and, when it is the default, the
// customers without their own. Failures are logged; the journeys keep their
// old plan until the next change.
func (s *Server) notifyJourneyChanged(ctx context.Context, adm *models.Administration, journeyID int64) int {
	q := s.DB.WithContext(ctx).Model(&models.Invoice{}).
		Joins("JOIN customers ON customers.id = invoices.customer_id").
		Where("invoices.administration_id = ? AND invoices.status = ?", adm.ID, models.InvoiceOpen)
	if adm.DefaultJourneyID != nil && *adm.DefaultJourneyID == journeyID {
		q = q.Where("customers.journey_id = ? OR customers.journey_id IS NULL", journeyID)
	} else {
		q = q.Where("customers.journey_id = ?", journeyID)
	}
	var ids []string
	if err := q.Pluck("invoices.workflow_id", &ids).Error; err != nil {
		s.Logger.Error("list journeys to re-plan", "journey_id", journeyID, "error", err)
		return 0
	}
	n := 0
	for _, id := range ids {
		err := s.App.Signal(ctx, id, workflows.SignalJourneyChanged, workflows.JourneyChangedSignal{JourneyID: journeyID})
		if err != nil && !errors.Is(err, app.ErrJourneyEnded) {
			s.Logger.Error("signal journey change", "workflow_id", id, "error", err)
			continue
		}
		if err == nil {
			n++
		}
	}
	return n
}
