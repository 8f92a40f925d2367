// Package api is Relance's HTTP edge: the admin REST API under /api/v1, the
// health checks, the provider webhooks and the portal. Handlers are thin:
// they read the request, call the store or Temporal, and map domain errors to
// problem+json.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/config"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/portal"
)

// Deps are the API's injected dependencies.
type Deps struct {
	DB       *gorm.DB
	Temporal client.Client
	Config   config.Config
	Logger   *slog.Logger
	Portal   portal.Links
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Extra mounts more routes (the dev outbox page) on the same engine.
	Extra func(r *gin.Engine)
}

// Server holds the dependencies every handler uses.
type Server struct {
	Deps
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// NewRouter builds the HTTP handler of the API, webhooks and portal.
func NewRouter(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Server{Deps: d}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestID(), accessLog(d.Logger), recovery())
	r.NoRoute(func(c *gin.Context) { fail(c, notFound("route "+c.Request.Method+" "+c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, Problem{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	// Prometheus scrapes this (docs/operations.md); like the health checks
	// it is for the platform, outside the authenticated API.
	r.GET("/metrics", gin.WrapH(metrics.Handler()))
	r.GET("/api/v1/openapi.json", serveOpenAPI)

	v1 := r.Group("/api/v1", limitBody(d.Config.MaxBodyBytes), s.authenticate())
	for _, register := range routes {
		register(s, v1)
	}
	wh := r.Group("/webhooks", limitBody(d.Config.MaxBodyBytes))
	for _, register := range webhookRoutes {
		register(s, wh)
	}
	for _, register := range pageRoutes {
		register(s, r)
	}
	if d.Extra != nil {
		d.Extra(r)
	}
	return r
}

// routes, webhookRoutes and pageRoutes are filled by each resource's file
// (init), so that a resource keeps its handlers and routes together.
var (
	routes        []func(s *Server, g *gin.RouterGroup)
	webhookRoutes []func(s *Server, g *gin.RouterGroup)
	pageRoutes    []func(s *Server, r *gin.Engine)
)

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when the database and Temporal both answer.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if sqlDB, err := s.DB.DB(); err != nil || sqlDB.PingContext(ctx) != nil {
		checks["database"], ok = "unavailable", false
	} else {
		checks["database"] = "ok"
	}
	if s.Temporal == nil {
		checks["temporal"], ok = "not configured", false
	} else if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ok = "unavailable", false
	} else {
		checks["temporal"] = "ok"
	}
	if !ok {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": checks})
}
