package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// CreateAPIKeyRequest names a new key; a read-only key gets 403 on writes.
type CreateAPIKeyRequest struct {
	Name     string `json:"name"`
	ReadOnly bool   `json:"read_only"`
}

// CreatedAPIKey is a new key with its secret, which is shown this once.
type CreatedAPIKey struct {
	APIKeyView
	Key string `json:"key"`
}

func (s *Server) listAPIKeys(c *gin.Context) {
	listPage(c, func(p domain.PageRequest) (domain.Page[models.APIKey], error) {
		return s.App.APIKeys(c.Request.Context(), orgID(c), p)
	}, apiKeyView)
}

func (s *Server) createAPIKey(c *gin.Context) {
	var req CreateAPIKeyRequest
	if err := decode(c, &req); err != nil {
		fail(c, err)
		return
	}
	k, plain, err := s.App.CreateAPIKey(c.Request.Context(), orgID(c), req.Name, req.ReadOnly)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, CreatedAPIKey{APIKeyView: apiKeyView(&k), Key: plain})
}

func (s *Server) revokeAPIKey(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		fail(c, err)
		return
	}
	k, err := s.App.RevokeAPIKey(c.Request.Context(), orgID(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("API key revoked", "api_key_id", k.ID)
	c.JSON(http.StatusOK, apiKeyView(&k))
}
