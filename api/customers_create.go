package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/app"
)

// createCustomer creates a customer of an administration of the caller's
// organization; change it later with PATCH /customers/{id}.
func (s *Server) createCustomer(c *gin.Context) {
	id, in, ok := idAndBody[app.NewCustomer](c)
	if !ok {
		return
	}
	adm, err := s.App.Administration(c.Request.Context(), orgID(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	cust, err := s.App.CreateCustomer(c.Request.Context(), adm, in)
	if err != nil {
		fail(c, err)
		return
	}
	v := s.customerViewWith(cust, 0)
	c.JSON(http.StatusCreated, v)
}
