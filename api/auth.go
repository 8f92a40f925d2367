package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
)

// authenticate accepts "Authorization: Bearer <api key>" and scopes the
// request to the key's organization.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			fail(c, fmt.Errorf("%w: missing bearer API key: send Authorization: Bearer <key>", ErrUnauthorized))
			return
		}
		caller, err := s.App.Authenticate(c.Request.Context(), strings.TrimSpace(token))
		if errors.Is(err, domain.ErrInvalidKey) {
			fail(c, fmt.Errorf("%w: %w", ErrUnauthorized, err))
			return
		}
		if err != nil {
			fail(c, err)
			return
		}
		if caller.ReadOnly && !safeMethod(c.Request.Method) {
			fail(c, fmt.Errorf("%w: %w: %s needs a key that may write", ErrForbidden, domain.ErrReadOnly, c.Request.Method))
			return
		}
		c.Set(ctxOrg, caller.OrganizationID)
		c.Set(ctxReadOnly, caller.ReadOnly)
		c.Next()
	}
}

// safeMethod reports the methods a read-only key may use: they change nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
