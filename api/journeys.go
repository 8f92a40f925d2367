package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// JourneyRequest is the body of POST /administrations/{id}/journeys and PUT /journeys/{id}.
type JourneyRequest struct {
	Name       string           `json:"name"`
	MinGapDays *int             `json:"min_gap_days"`
	Steps      []StepDefinition `json:"steps"`
}

// JourneyView is a journey with its steps in order.
type JourneyView struct {
	ID               int64            `json:"id"`
	AdministrationID int64            `json:"administration_id"`
	Name             string           `json:"name"`
	MinGapDays       int              `json:"min_gap_days"`
	Default          bool             `json:"default"`
	Steps            []StepDefinition `json:"steps"`
}

func journeyView(j models.Journey, adm *models.Administration) JourneyView {
	return JourneyView{
		ID: j.ID, AdministrationID: j.AdministrationID, Name: j.Name, MinGapDays: j.MinGapDays,
		Default: adm.DefaultJourneyID != nil && *adm.DefaultJourneyID == j.ID, Steps: stepDefinitions(j.StepList()),
	}
}

func (r JourneyRequest) input() (domain.JourneyInput, error) {
	steps, err := journeySteps(r.Steps)
	return domain.JourneyInput{Name: r.Name, MinGapDays: r.MinGapDays, Steps: steps}, err
}

func (s *Server) listJourneys(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	listPage(c, func(p domain.PageRequest) (domain.Page[models.Journey], error) {
		return s.App.Journeys(c.Request.Context(), adm.ID, p)
	}, func(j *models.Journey) JourneyView { return journeyView(*j, adm) })
}

func (s *Server) createJourney(c *gin.Context) {
	adm, req, ok := objectAndBody[*models.Administration, JourneyRequest](c, s.administration, true)
	if !ok {
		return
	}
	in, err := req.input()
	var j *models.Journey
	if err == nil {
		j, err = s.App.CreateJourney(c.Request.Context(), adm, in)
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/journeys/%d", j.ID))
	c.JSON(http.StatusCreated, journeyView(*j, adm))
}

// ownedJourney is a journey with its administration.
type ownedJourney struct {
	j   *models.Journey
	adm *models.Administration
}

// journey loads a journey of the caller's organization, with its administration.
func (s *Server) journey(c *gin.Context, id int64) (ownedJourney, error) {
	j, adm, err := s.App.Journey(c.Request.Context(), orgID(c), id)
	return ownedJourney{j, adm}, err
}

func (s *Server) getJourney(c *gin.Context) {
	o, ok := object(c, s.journey)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, journeyView(*o.j, o.adm))
}

// updateJourney replaces a journey's steps and answers 202 with the
// operation that tells the running journeys using it to re-plan their
// future steps (journey-changed); the operation goes on after the answer.
func (s *Server) updateJourney(c *gin.Context) {
	o, req, ok := objectAndBody[ownedJourney, JourneyRequest](c, s.journey, true)
	if !ok {
		return
	}
	in, err := req.input()
	var op *models.Operation
	if err == nil {
		op, err = s.App.UpdateJourney(c.Request.Context(), o.adm, o.j, in)
	}
	if err != nil {
		fail(c, err)
		return
	}
	accepted(c, op)
}

func (s *Server) deleteJourney(c *gin.Context) {
	o, ok := object(c, s.journey)
	if !ok {
		return
	}
	if err := s.App.DeleteJourney(c.Request.Context(), o.adm, o.j); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// DefaultJourneyRequest names the journey new and unassigned customers follow.
type DefaultJourneyRequest struct {
	JourneyID int64 `json:"journey_id"`
}

// setDefaultJourney answers 202 with the operation that re-plans the
// running journeys of the customers without their own journey.
func (s *Server) setDefaultJourney(c *gin.Context) {
	adm, req, ok := objectAndBody[*models.Administration, DefaultJourneyRequest](c, s.administration, true)
	if !ok {
		return
	}
	_, op, err := s.App.SetDefaultJourney(c.Request.Context(), adm, req.JourneyID)
	if err != nil {
		fail(c, err)
		return
	}
	accepted(c, op)
}
