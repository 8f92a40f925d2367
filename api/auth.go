package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/auth"
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
		k, err := auth.Lookup(c.Request.Context(), s.DB, strings.TrimSpace(token))
		if errors.Is(err, auth.ErrInvalidKey) {
			fail(c, fmt.Errorf("%w: %w", ErrUnauthorized, err))
			return
		}
		if err != nil {
			fail(c, err)
			return
		}
		if k.ReadOnly && !safeMethod(c.Request.Method) {
			fail(c, fmt.Errorf("%w: this API key is read-only; %s needs a key that may write", ErrForbidden, c.Request.Method))
			return
		}
		auth.Touch(c.Request.Context(), s.DB, k, s.now())
		c.Set(ctxOrg, k.OrganizationID)
		c.Next()
	}
}

// safeMethod reports the methods a read-only key may use: they change nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
