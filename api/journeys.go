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
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
		return
	}
	listPage(c, func(p domain.PageRequest) (domain.Page[models.Journey], error) {
		return s.App.Journeys(c.Request.Context(), adm.ID, p)
	}, func(j *models.Journey) JourneyView { return journeyView(*j, adm) })
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
	in, err := req.input()
	if err != nil {
		fail(c, err)
		return
	}
	j, err := s.App.CreateJourney(c.Request.Context(), adm, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/journeys/%d", j.ID))
	c.JSON(http.StatusCreated, journeyView(*j, adm))
}

// journeyOf loads the journey of the :id path parameter, of the caller's
// organization, with its administration.
func (s *Server) journeyOf(c *gin.Context) (*models.Journey, *models.Administration, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	return s.App.Journey(c.Request.Context(), orgID(c), id)
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
	in, err := req.input()
	if err != nil {
		fail(c, err)
		return
	}
	n, err := s.App.UpdateJourney(c.Request.Context(), adm, j, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("X-Relance-Journeys-Signalled", fmt.Sprint(n))
	c.JSON(http.StatusOK, journeyView(*j, adm))
}

func (s *Server) deleteJourney(c *gin.Context) {
	j, adm, err := s.journeyOf(c)
	if err == nil {
		err = s.App.DeleteJourney(c.Request.Context(), adm, j)
	}
	if err != nil {
		fail(c, err)
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
	j, err := s.App.SetDefaultJourney(c.Request.Context(), adm, req.JourneyID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, journeyView(*j, adm))
}

func (s *Server) pathAdministration(c *gin.Context) (*models.Administration, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return s.administration(c, id)
}
