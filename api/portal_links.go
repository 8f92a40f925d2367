package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// PortalLinkView is a customer's new portal link and short code.
type PortalLinkView struct {
	CustomerID int64  `json:"customer_id"`
	URL        string `json:"url"`
	// Code is typed on Home, for letters and SMS.
	Code string `json:"code"`
	Home string `json:"home"`
	// ExpiresAt is when URL stops working; later messages carry fresh links.
	ExpiresAt string `json:"expires_at"`
}

// rotatePortalLink gives the customer a new link and code: every link and
// code issued before stops working, and a revocation is lifted.
func (s *Server) rotatePortalLink(c *gin.Context) {
	cust, ok := object(c, s.customer)
	if !ok {
		return
	}
	url, code, err := s.App.RotatePortalLink(c.Request.Context(), cust)
	if err != nil {
		fail(c, err)
		return
	}
	v := PortalLinkView{CustomerID: cust.ID, URL: url, Code: code, Home: s.Portal.Home()}
	if k, err := s.Portal.Parse(url[len(s.Portal.Home())+1:]); err == nil {
		v.ExpiresAt = k.Expires.Format("2006-01-02T15:04:05Z")
	}
	logger(c).Info("portal link rotated", "customer_id", cust.ID)
	c.JSON(http.StatusOK, v)
}

// revokePortalLink closes the customer's portal until a new link is made.
func (s *Server) revokePortalLink(c *gin.Context) {
	cust, ok := object(c, s.customer)
	if !ok {
		return
	}
	if err := s.App.RevokePortalLink(c.Request.Context(), cust); err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("portal link revoked", "customer_id", cust.ID)
	c.Status(http.StatusNoContent)
}
