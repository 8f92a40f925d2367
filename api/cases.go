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
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	var f domain.CaseFilter
	var err error
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
	}, caseView)
}

// collectionCase loads a case of the caller's organization.
func (s *Server) collectionCase(c *gin.Context, id int64) (*models.CollectionCase, error) {
	return s.App.Case(c.Request.Context(), orgID(c), id)
}

// getCase serves a case with its invoices and stages.
func (s *Server) getCase(c *gin.Context) {
	cs, ok := object(c, s.collectionCase)
	if !ok {
		return
	}
	d, err := s.App.CaseDetail(c.Request.Context(), cs)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, CaseDetailView{Case: caseView(&d.Case), Invoices: d.Invoices, Stages: d.Stages,
		NextStage: d.NextStage, NextAt: d.NextAt, StateError: d.StateError})
}

// caseTimeline serves the case's messages and events, oldest first.
func (s *Server) caseTimeline(c *gin.Context) {
	cs, ok := object(c, s.collectionCase)
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
	cs, until, reason, ok := pauseOf(c, s.collectionCase)
	if !ok {
		return
	}
	if err := s.App.PauseCase(c.Request.Context(), cs, until, reason); err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case paused", "case_id", cs.ID, "workflow_id", cs.WorkflowID, "until", until)
	c.JSON(http.StatusOK, caseView(cs))
}

func (s *Server) resumeCase(c *gin.Context) {
	cs, req, ok := objectAndBody[*models.CollectionCase, ResumeRequest](c, s.collectionCase, false)
	if !ok {
		return
	}
	if err := s.App.ResumeCase(c.Request.Context(), cs, strings.TrimSpace(req.Reason)); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, caseView(cs))
}

// waiveCase waives all or part of the case's costs and interest.
func (s *Server) waiveCase(c *gin.Context) {
	cs, req, ok := objectAndBody[*models.CollectionCase, domain.WaiverInput](c, s.collectionCase, true)
	if !ok {
		return
	}
	cs, err := s.App.WaiveCaseCosts(c.Request.Context(), cs, req)
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case costs waived", "case_id", cs.ID, "amount_minor", req.AmountMinor, "all", req.All)
	c.JSON(http.StatusOK, caseView(cs))
}

// handOverCase sends the case to the collection agency now.
func (s *Server) handOverCase(c *gin.Context) {
	cs, req, ok := objectAndBody[*models.CollectionCase, HandOverRequest](c, s.collectionCase, false)
	if !ok {
		return
	}
	if err := s.App.HandOverCaseNow(c.Request.Context(), cs, strings.TrimSpace(req.Reason)); err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case handed over on request", "case_id", cs.ID)
	c.JSON(http.StatusAccepted, caseView(cs))
}

// disputeCase records the customer's dispute of a case: its stages stop.
func (s *Server) disputeCase(c *gin.Context) {
	s.caseDispute(c, true)
}

// resolveCaseDispute ends a case's dispute.
func (s *Server) resolveCaseDispute(c *gin.Context) {
	s.caseDispute(c, false)
}

func (s *Server) caseDispute(c *gin.Context, open bool) {
	cs, reason, ok := reasonOf(c, s.collectionCase, open)
	if !ok {
		return
	}
	var err error
	if open {
		err = s.App.DisputeCase(c.Request.Context(), cs, reason)
	} else {
		err = s.App.ResolveCaseDispute(c.Request.Context(), cs, reason)
	}
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("case dispute", "case_id", cs.ID, "disputed", open, "reason", reason)
	c.JSON(http.StatusOK, cs)
}

// caseFile serves the case file for a collection agency: .csv or .pdf by
// the path, or ?format= on /file.
func (s *Server) caseFile(c *gin.Context) {
	cs, ok := object(c, s.collectionCase)
	if !ok {
		return
	}
	var format string
	switch {
	case strings.HasSuffix(c.FullPath(), "/file.csv"):
		format = "csv"
	case strings.HasSuffix(c.FullPath(), "/file.pdf"):
		format = "pdf"
	default:
		format = c.DefaultQuery("format", "pdf")
	}
	f, err := s.App.CaseFile(c.Request.Context(), cs, format)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	c.Data(http.StatusOK, f.ContentType, f.Body)
}
