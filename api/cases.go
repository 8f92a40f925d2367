package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// HandOverRequest sends a case to the collection agency now.
type HandOverRequest struct {
	Reason string `json:"reason,omitempty"`
}

// listCases lists an administration's collection cases, filtered by stage,
// paused and customer.
func (s *Server) listCases(c *gin.Context) {
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
		return
	}
	var f domain.CaseFilter
	if v := c.Query("stage"); v != "" {
		if !slices.Contains(domain.CaseStages, models.CaseStage(v)) {
			fail(c, badInput("stage", "unknown case stage %q", v))
			return
		}
		f.Stage = models.CaseStage(v)
	}
	if v := c.Query("customer_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fail(c, badInput("customer_id", "must be a positive integer, got %q", v))
			return
		}
		f.CustomerID = id
	}
	if f.Paused, err = boolQuery(c, "paused"); err != nil {
		fail(c, err)
		return
	}
	listPage(c, func(p domain.PageRequest) (domain.Page[models.CollectionCase], error) {
		return s.App.Cases(c.Request.Context(), adm.ID, f, p)
	}, func(cs *models.CollectionCase) models.CollectionCase { return *cs })
}

// pathCase loads the {id} case of the caller's organization.
func (s *Server) pathCase(c *gin.Context) (*models.CollectionCase, bool) {
	id, err := pathID(c, "id")
	if err != nil {
		fail(c, err)
		return nil, false
	}
	cs, err := s.App.Case(c.Request.Context(), orgID(c), id)
	if err != nil {
		fail(c, err)
		return nil, false
	}
	return cs, true
}

// getCase serves a case with its invoices and stages.
func (s *Server) getCase(c *gin.Context) {
	cs, ok := s.pathCase(c)
	if !ok {
		return
	}
	d, err := s.App.CaseDetail(c.Request.Context(), cs)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// caseTimeline serves the case's messages and events, oldest first.
func (s *Server) caseTimeline(c *gin.Context) {
	cs, ok := s.pathCase(c)
	if !ok {
		return
	}
	tl, err := s.App.CaseTimeline(c.Request.Context(), cs)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": tl})
}

func (s *Server) pauseCase(c *gin.Context) {
	id, req, ok := idAndBody[PauseRequest](c)
	if !ok {
		return
	}
	until, reason, err := req.parse()
	if err != nil {
		fail(c, err)
		return
	}
	cs, err := s.App.Case(c.Request.Context(), orgID(c), id)
	if err == nil {
		err = s.App.PauseCase(c.Request.Context(), cs, until, reason)
	}
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case paused", "case_id", cs.ID, "workflow_id", cs.WorkflowID, "until", until)
	c.JSON(http.StatusOK, cs)
}

func (s *Server) resumeCase(c *gin.Context) {
	id, req, ok := idAndMaybeBody[ResumeRequest](c, false)
	if !ok {
		return
	}
	cs, err := s.App.Case(c.Request.Context(), orgID(c), id)
	if err == nil {
		err = s.App.ResumeCase(c.Request.Context(), cs, strings.TrimSpace(req.Reason))
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cs)
}

// waiveCase waives all or part of the case's costs and interest.
func (s *Server) waiveCase(c *gin.Context) {
	id, req, ok := idAndBody[domain.WaiverInput](c)
	if !ok {
		return
	}
	cs, err := s.App.Case(c.Request.Context(), orgID(c), id)
	if err == nil {
		cs, err = s.App.WaiveCaseCosts(c.Request.Context(), cs, req)
	}
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case costs waived", "case_id", cs.ID, "amount_minor", req.AmountMinor, "all", req.All)
	c.JSON(http.StatusOK, cs)
}

// handOverCase sends the case to the collection agency now.
func (s *Server) handOverCase(c *gin.Context) {
	id, req, ok := idAndMaybeBody[HandOverRequest](c, false)
	if !ok {
		return
	}
	cs, err := s.App.Case(c.Request.Context(), orgID(c), id)
	if err == nil {
		err = s.App.HandOverCaseNow(c.Request.Context(), cs, strings.TrimSpace(req.Reason))
	}
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case handed over on request", "case_id", cs.ID)
	c.JSON(http.StatusAccepted, cs)
}
