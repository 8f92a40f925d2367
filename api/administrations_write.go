package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// createAdministration creates an administration of the caller's
// organization, with its settings, company details and the default journey.
func (s *Server) createAdministration(c *gin.Context) {
	var in domain.AdministrationInput
	if err := decode(c, &in); err != nil {
		fail(c, err)
		return
	}
	adm, err := s.App.CreateAdministration(c.Request.Context(), orgID(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("administration created", "administration_id", adm.ID)
	s.answerAdministration(c, http.StatusCreated, adm)
}

// updateAdministration changes any field GET shows; absent fields stay.
func (s *Server) updateAdministration(c *gin.Context) {
	id, err := pathID(c, "id")
	var in domain.AdministrationInput
	if err == nil {
		err = decode(c, &in)
	}
	if err != nil {
		fail(c, err)
		return
	}
	adm, err := s.App.UpdateAdministration(c.Request.Context(), orgID(c), id, in)
	if err != nil {
		fail(c, err)
		return
	}
	s.answerAdministration(c, http.StatusOK, adm)
}

func (s *Server) archiveAdministration(c *gin.Context) { s.setArchived(c, true) }
func (s *Server) restoreAdministration(c *gin.Context) { s.setArchived(c, false) }

func (s *Server) setArchived(c *gin.Context, archived bool) {
	id, err := pathID(c, "id")
	if err != nil {
		fail(c, err)
		return
	}
	adm, err := s.App.ArchiveAdministration(c.Request.Context(), orgID(c), id, archived)
	if err != nil {
		fail(c, err)
		return
	}
	s.answerAdministration(c, http.StatusOK, adm)
}

// listAdministrations lists the organization's administrations; archived
// ones only with ?archived=true.
func (s *Server) listAdministrations(c *gin.Context) {
	archived, err := boolQuery(c, "archived")
	if err != nil {
		fail(c, err)
		return
	}
	all := archived != nil && *archived
	var mins map[int64]map[string]int64
	listPage(c, func(p domain.PageRequest) (domain.Page[models.Administration], error) {
		page, err := s.App.Administrations(c.Request.Context(), orgID(c), all, p)
		if err != nil {
			return page, err
		}
		ids := make([]int64, len(page.Data))
		for i, a := range page.Data {
			ids[i] = a.ID
		}
		// One query for the page's minimum amounts, not one per row.
		mins, err = s.App.MinimumAmounts(c.Request.Context(), ids)
		return page, err
	}, func(a *models.Administration) AdministrationView { return administrationView(a, mins[a.ID]) })
}
