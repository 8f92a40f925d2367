package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// ContactRequest creates (email and roles required) or changes (absent
// fields stay as they are) a customer's contact person.
type ContactRequest struct {
	Name     *string   `json:"name"`
	Email    *string   `json:"email"`
	Phone    *string   `json:"phone"`
	Language *string   `json:"language"`
	Roles    *[]string `json:"roles"`
	CC       *bool     `json:"cc"`
}

// ContactList is a customer's contact persons, oldest first.
type ContactList struct {
	Data []models.Contact `json:"data"`
}

func (s *Server) listContacts(c *gin.Context) {
	cust, ok := object(c, s.customer)
	if !ok {
		return
	}
	cs, err := s.App.Contacts(c.Request.Context(), cust)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ContactList{Data: cs})
}

func (s *Server) createContact(c *gin.Context) {
	cust, req, ok := objectAndBody[*models.Customer, ContactRequest](c, s.customer, true)
	if !ok {
		return
	}
	ct, err := s.App.CreateContact(c.Request.Context(), cust, domain.ContactInput(req))
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("contact created", "customer_id", cust.ID, "contact_id", ct.ID)
	c.JSON(http.StatusCreated, ct)
}

// contactID reads the {contact_id} path parameter.
func contactID(c *gin.Context) (int64, bool) {
	id, err := pathID(c, "contact_id")
	if err != nil {
		fail(c, err)
		return 0, false
	}
	return id, true
}

func (s *Server) patchContact(c *gin.Context) {
	cust, req, ok := objectAndBody[*models.Customer, ContactRequest](c, s.customer, true)
	if !ok {
		return
	}
	id, ok := contactID(c)
	if !ok {
		return
	}
	ct, err := s.App.UpdateContact(c.Request.Context(), cust, id, domain.ContactInput(req))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ct)
}

func (s *Server) deleteContact(c *gin.Context) {
	cust, ok := object(c, s.customer)
	if !ok {
		return
	}
	id, ok := contactID(c)
	if !ok {
		return
	}
	if err := s.App.DeleteContact(c.Request.Context(), cust, id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
