package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// createCustomer creates a customer of an administration of the caller's
// organization; change it later with PATCH /customers/{id}.
func (s *Server) createCustomer(c *gin.Context) {
	adm, in, ok := objectAndBody[*models.Administration, domain.NewCustomer](c, s.administration, true)
	if !ok {
		return
	}
	cust, err := s.App.CreateCustomer(c.Request.Context(), adm, in)
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("customer created", "administration_id", adm.ID, "customer_id", cust.ID)
	c.Header("Location", fmt.Sprintf("/api/v1/customers/%d", cust.ID))
	c.JSON(http.StatusCreated, s.customerViewWith(cust, 0))
}
