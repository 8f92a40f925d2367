package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/render"
)

// TemplateRequest is the body of POST /administrations/{id}/templates and
// PUT /templates/{id} (where name, kind, channel and language may be left
// out, and must not change).
type TemplateRequest struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Channel  string `json:"channel"`
	Language string `json:"language"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
}

func (r TemplateRequest) input() domain.TemplateInput {
	return domain.TemplateInput{Name: r.Name, Kind: r.Kind, Channel: r.Channel, Language: r.Language, Subject: r.Subject, Body: r.Body}
}

// TemplateView is a template as it applies to an administration: its own
// (id and version set) or a shipped default it has not overridden (source
// "shipped", no id).
type TemplateView struct {
	ID        int64                 `json:"id,omitempty"`
	Name      string                `json:"name"`
	Kind      string                `json:"kind"`
	Channel   string                `json:"channel"`
	Language  string                `json:"language"`
	Subject   string                `json:"subject"`
	Body      string                `json:"body"`
	Version   int                   `json:"version,omitempty"`
	Source    domain.TemplateSource `json:"source"`
	UpdatedAt *time.Time            `json:"updated_at,omitempty"`
}

func templateView(t domain.EffectiveTemplate) TemplateView {
	return TemplateView{ID: t.ID, Name: t.Name, Kind: t.Kind, Channel: t.Channel, Language: t.Language,
		Subject: t.Subject, Body: t.Body, Version: t.Version, Source: t.Source, UpdatedAt: t.UpdatedAt}
}

func storedTemplateView(t *models.Template) TemplateView {
	at := t.UpdatedAt
	return TemplateView{ID: t.ID, Name: t.Name, Kind: t.Kind, Channel: t.Channel, Language: t.Language,
		Subject: t.Subject, Body: t.Body, Version: t.Version, Source: domain.TemplateStored, UpdatedAt: &at}
}

// TemplateVersionView is one saved version of a template.
type TemplateVersionView struct {
	Version   int       `json:"version"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// TagView documents one #hashtag.
type TagView struct {
	Name        string `json:"name"`
	Group       string `json:"group"`
	Description string `json:"description"`
	Example     string `json:"example"`
}

// listTemplates answers every template that applies to the administration,
// its own and the shipped defaults it has not overridden, without paging
// (there are at most a few hundred).
func (s *Server) listTemplates(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	listAll(c, func() ([]domain.EffectiveTemplate, error) { return s.App.Templates(c.Request.Context(), adm.ID) },
		func(t *domain.EffectiveTemplate) TemplateView { return templateView(*t) })
}

func (s *Server) createTemplate(c *gin.Context) {
	adm, req, ok := objectAndBody[*models.Administration, TemplateRequest](c, s.administration, true)
	if !ok {
		return
	}
	t, err := s.App.CreateTemplate(c.Request.Context(), adm, req.input())
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/templates/%d", t.ID))
	c.JSON(http.StatusCreated, storedTemplateView(t))
}

// ownedTemplate is a template with its administration.
type ownedTemplate struct {
	t   *models.Template
	adm *models.Administration
}

// template loads a template of the caller's organization, with its administration.
func (s *Server) template(c *gin.Context, id int64) (ownedTemplate, error) {
	t, adm, err := s.App.Template(c.Request.Context(), orgID(c), id)
	return ownedTemplate{t, adm}, err
}

func (s *Server) getTemplate(c *gin.Context) {
	o, ok := object(c, s.template)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, storedTemplateView(o.t))
}

// updateTemplate saves a new subject and body as the template's next version.
func (s *Server) updateTemplate(c *gin.Context) {
	o, req, ok := objectAndBody[ownedTemplate, TemplateRequest](c, s.template, true)
	if !ok {
		return
	}
	if err := s.App.UpdateTemplate(c.Request.Context(), o.t, req.input()); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, storedTemplateView(o.t))
}

func (s *Server) deleteTemplate(c *gin.Context) {
	o, ok := object(c, s.template)
	if !ok {
		return
	}
	if err := s.App.DeleteTemplate(c.Request.Context(), o.adm, o.t); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) listTemplateVersions(c *gin.Context) {
	o, ok := object(c, s.template)
	if !ok {
		return
	}
	listAll(c, func() ([]models.TemplateVersion, error) { return s.App.TemplateVersions(c.Request.Context(), o.t) },
		func(v *models.TemplateVersion) TemplateVersionView {
			return TemplateVersionView{Version: v.Version, Subject: v.Subject, Body: v.Body, CreatedAt: v.CreatedAt}
		})
}

// listTemplateTags documents every #hashtag, from the renderer's own table.
func (s *Server) listTemplateTags(c *gin.Context) {
	tags := render.Tags()
	out := make([]TagView, 0, len(tags))
	for _, t := range tags {
		out = append(out, TagView{Name: t.Name, Group: t.Group, Description: t.Description, Example: t.Example})
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
}

// PreviewRequest is the body of POST /templates/preview: a saved template
// (template_id) or an unsaved one (kind, channel, language, subject, body),
// and the invoice or customer whose data fills it.
type PreviewRequest struct {
	TemplateID  int64  `json:"template_id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Channel     string `json:"channel"`
	Language    string `json:"language"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	InvoiceID   int64  `json:"invoice_id"`
	CustomerID  int64  `json:"customer_id"`
	MaxSegments int    `json:"max_segments"`
}

// PreviewView is a rendered template. The letter's PDF comes base64-encoded
// in pdf_base64 (JSON carries no bytes).
type PreviewView struct {
	Kind            string   `json:"kind"`
	Channel         string   `json:"channel"`
	Language        string   `json:"language"`
	TemplateID      int64    `json:"template_id,omitempty"`
	TemplateVersion int      `json:"template_version,omitempty"`
	Recipient       string   `json:"recipient"`
	Subject         string   `json:"subject,omitempty"`
	HTML            string   `json:"html,omitempty"`
	Text            string   `json:"text"`
	Characters      int      `json:"characters,omitempty"`
	Segments        int      `json:"segments,omitempty"`
	Encoding        string   `json:"encoding,omitempty"`
	PDFBase64       []byte   `json:"pdf_base64,omitempty"`
	Warnings        []string `json:"warnings"`

	// To, Cc and Bcc are who an email would go to now (contacts by role,
	// the customer's address, the archive copy).
	To  []string `json:"to,omitempty"`
	Cc  []string `json:"cc,omitempty"`
	Bcc []string `json:"bcc,omitempty"`
}

func (s *Server) previewTemplate(c *gin.Context) {
	var req PreviewRequest
	if err := decode(c, &req); err != nil {
		fail(c, err)
		return
	}
	inline := req.Name != "" || req.Kind != "" || req.Channel != "" || req.Language != "" || req.Subject != "" || req.Body != ""
	if req.TemplateID != 0 && inline {
		fail(c, badInput("template_id", "give template_id or the template's fields, not both"))
		return
	}
	p, err := s.App.PreviewTemplate(c.Request.Context(), orgID(c), domain.TemplatePreviewInput{
		TemplateID: req.TemplateID, InvoiceID: req.InvoiceID, CustomerID: req.CustomerID, MaxSegments: req.MaxSegments,
		Template: domain.TemplateInput{Name: req.Name, Kind: req.Kind, Channel: req.Channel, Language: req.Language, Subject: req.Subject, Body: req.Body},
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, PreviewView{Kind: p.Kind, Channel: p.Channel, Language: p.Language, TemplateID: p.TemplateID,
		TemplateVersion: p.TemplateVersion, Recipient: p.Recipient, Subject: p.Subject, HTML: p.HTML, Text: p.Text,
		Characters: p.Characters, Segments: p.Segments, Encoding: p.Encoding, PDFBase64: p.PDF, Warnings: append([]string{}, p.Warnings...),
		To: p.To, Cc: p.Cc, Bcc: p.Bcc})
}
