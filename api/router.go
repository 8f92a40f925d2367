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

	"github.com/relance/relance/config"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/portal"
)

// Deps are the API's injected dependencies.
type Deps struct {
	// App owns every change of state; Inbound records the providers' events.
	App     Application
	Inbound ProviderEvents
	Config  config.Config
	Logger  *slog.Logger
	Portal  portal.Links
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PortalLimits are the portal's rate limits (zero: the defaults).
	PortalLimits PortalLimits
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
	r.Use(requestID(), accessLog(d.Logger), recovery(), cleanInput())
	r.NoRoute(func(c *gin.Context) { fail(c, notFound("route "+c.Request.Method+" "+c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, Problem{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})

	s.routes(r)
	if d.Extra != nil {
		d.Extra(r)
	}
	return r
}

// paging are the query parameters of every list.
var paging = []string{"limit", "cursor"}

// queryParams are the query parameters each /api/v1 route reads ("METHOD
// path" as routes registers it); any other parameter is refused with 400,
// so that a misspelt filter never silently lists everything.
var queryParams = map[string][]string{
	"GET /api/v1/administrations":               append([]string{"archived"}, paging...),
	"GET /api/v1/api-keys":                      paging,
	"GET /api/v1/administrations/:id/customers": append([]string{"q", "to_verify", "paused", "open_invoices"}, paging...),
	"GET /api/v1/administrations/:id/invoices":  append([]string{"status", "stage", "customer_id", "overdue", "paused", "disputed"}, paging...),
	"GET /api/v1/invoices/:id/payments":         paging,
	"GET /api/v1/administrations/:id/imports":   paging,
	"POST /api/v1/administrations/:id/imports":  {"full_snapshot", "dry_run", "format"},
	"GET /api/v1/imports/:id":                   {"format"},
	"GET /api/v1/administrations/:id/journeys":  paging,
	"GET /api/v1/administrations/:id/cases":     append([]string{"stage", "paused", "customer_id"}, paging...),
	"GET /api/v1/cases/:id/file":                {"format"},
	"GET /api/v1/inbox/conversations":           append([]string{"unread", "administration_id", "customer_id", "invoice_id", "case_id"}, paging...),
}

// routes lists every route Relance serves, in one place. The OpenAPI test
// checks them against the document. Bodies are bounded by MaxBodyBytes,
// except the import upload and the email webhooks, which bound theirs with
// their own, larger limits.
func (s *Server) routes(r *gin.Engine) {
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	// Prometheus scrapes this (docs/operations.md); like the health checks
	// it is for the platform, outside the authenticated API.
	r.GET("/metrics", gin.WrapH(metrics.Handler()))
	r.GET("/api/v1/openapi.json", serveOpenAPI)

	v1 := r.Group("/api/v1", s.authenticate(), strictQuery(queryParams))
	v1.POST("/administrations/:id/imports", capBody(s.Config.MaxImportBytes, "RELANCE_MAX_IMPORT_BYTES", multipartSlack), s.createImport)
	g := v1.Group("", capBody(s.Config.MaxBodyBytes, "RELANCE_MAX_BODY_BYTES", 0))
	g.GET("/administrations", s.listAdministrations)
	g.GET("/administrations/:id", s.getAdministration)
	g.PATCH("/administrations/:id/settings", s.patchAdministrationSettings)
	g.POST("/administrations", s.createAdministration)
	g.PATCH("/administrations/:id", s.updateAdministration)
	g.POST("/administrations/:id/archive", s.archiveAdministration)
	g.POST("/administrations/:id/restore", s.restoreAdministration)
	g.POST("/administrations/:id/customers", s.createCustomer)
	g.GET("/api-keys", s.listAPIKeys)
	g.POST("/api-keys", s.createAPIKey)
	g.POST("/api-keys/:id/revoke", s.revokeAPIKey)

	g.GET("/administrations/:id/customers", s.listCustomers)
	g.GET("/customers/:id", s.getCustomer)
	g.PATCH("/customers/:id", s.patchCustomer)
	g.PATCH("/customers/:id/send-settings", s.patchCustomerSendSettings)
	g.POST("/customers/:id/provided-email", s.submitProvidedEmail)
	g.POST("/customers/:id/provided-email/accept", s.acceptProvidedEmail)
	g.POST("/customers/:id/provided-email/dismiss", s.dismissProvidedEmail)
	g.POST("/customers/:id/pause", s.pauseCustomer)
	g.POST("/customers/:id/resume", s.resumeCustomer)
	g.PUT("/customers/:id/journey", s.assignCustomerJourney)
	g.POST("/customers/:id/statement", s.sendStatement)
	g.GET("/customers/:id/contacts", s.listContacts)
	g.POST("/customers/:id/contacts", s.createContact)
	g.PATCH("/customers/:id/contacts/:contact_id", s.patchContact)
	g.DELETE("/customers/:id/contacts/:contact_id", s.deleteContact)
	g.POST("/customers/:id/portal-link", s.rotatePortalLink)
	g.DELETE("/customers/:id/portal-link", s.revokePortalLink)

	g.GET("/administrations/:id/invoices", s.listInvoices)
	g.POST("/administrations/:id/invoices", s.createInvoice)
	g.GET("/invoices/:id", s.getInvoice)
	g.POST("/invoices/:id/pause", s.pauseInvoice)
	g.POST("/invoices/:id/resume", s.resumeInvoice)
	g.GET("/invoices/:id/payments", s.listPayments)
	g.POST("/invoices/:id/payments", s.registerPayment)
	g.POST("/invoices/:id/credit", s.creditInvoice)
	g.POST("/invoices/:id/dispute", s.disputeInvoice)
	g.POST("/invoices/:id/dispute-resolved", s.resolveDispute)
	g.POST("/invoices/:id/actions", s.sendAction)
	g.GET("/invoices/:id/timeline", s.invoiceTimeline)

	g.GET("/administrations/:id/cases", s.listCases)
	g.GET("/cases/:id", s.getCase)
	g.GET("/cases/:id/timeline", s.caseTimeline)
	g.POST("/cases/:id/pause", s.pauseCase)
	g.POST("/cases/:id/resume", s.resumeCase)
	g.POST("/cases/:id/waive", s.waiveCase)
	g.POST("/cases/:id/hand-over", s.handOverCase)
	g.POST("/cases/:id/dispute", s.disputeCase)
	g.POST("/cases/:id/dispute-resolved", s.resolveCaseDispute)
	g.GET("/cases/:id/file", s.caseFile)
	g.GET("/cases/:id/file.csv", s.caseFile)
	g.GET("/cases/:id/file.pdf", s.caseFile)

	g.GET("/administrations/:id/imports", s.listImports)
	g.GET("/imports/:id", s.getImport)
	g.GET("/administrations/:id/import-mapping", s.getImportMapping)
	g.PUT("/administrations/:id/import-mapping", s.putImportMapping)

	g.GET("/administrations/:id/journeys", s.listJourneys)
	g.POST("/administrations/:id/journeys", s.createJourney)
	g.PUT("/administrations/:id/default-journey", s.setDefaultJourney)
	g.GET("/journeys/:id", s.getJourney)
	g.PUT("/journeys/:id", s.updateJourney)
	g.DELETE("/journeys/:id", s.deleteJourney)
	g.GET("/operations/:id", s.getOperation)

	g.GET("/administrations/:id/templates", s.listTemplates)
	g.POST("/administrations/:id/templates", s.createTemplate)
	g.GET("/templates/:id", s.getTemplate)
	g.PUT("/templates/:id", s.updateTemplate)
	g.DELETE("/templates/:id", s.deleteTemplate)
	g.GET("/templates/:id/versions", s.listTemplateVersions)
	g.POST("/templates/preview", s.previewTemplate)
	g.GET("/template-tags", s.listTemplateTags)
	g.GET("/messages/:id/preview", s.previewMessage)

	g.GET("/organization/settings", s.getOrganizationSettings)
	g.PATCH("/organization/settings", s.patchOrganizationSettings)
	g.GET("/inbox/conversations", s.listConversations)
	g.GET("/inbox/conversations/:id", s.getConversation)
	g.POST("/inbox/conversations/:id/read", s.markConversationRead)
	g.POST("/inbox/conversations/:id/unread", s.markConversationUnread)
	g.POST("/inbox/conversations/:id/replies", s.replyToConversation)
	g.GET("/inbox/unread-summary", s.unreadSummary)
	g.GET("/inbox/attachments/:id", s.getInboxAttachment)

	wh := r.Group("/webhooks")
	wh.POST("/email/bounce", capBody(max(s.Config.MaxBodyBytes, minBounceBodyBytes), "RELANCE_MAX_BODY_BYTES (at least 10 MiB for bounces)", 0), s.emailBounce)
	wh.POST("/email/inbound", capBody(max(s.Config.MaxBodyBytes, maxInboundEmailBytes), "RELANCE_MAX_BODY_BYTES (at least 25 MiB for inbound email)", 0), s.emailInbound)
	hooks := wh.Group("", capBody(s.Config.MaxBodyBytes, "RELANCE_MAX_BODY_BYTES", 0))
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		hooks.Handle(m, "/vonage/status", s.vonageStatus)
		hooks.Handle(m, "/vonage/inbound", s.vonageInbound)
	}
	s.portalRoutes(r)
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when the database, Temporal and the namespace's
// search attributes are all ready.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	r := s.App.Ready(ctx)
	if !r.OK {
		c.Header("Retry-After", retryAfter)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": r.Checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": r.Checks})
}
