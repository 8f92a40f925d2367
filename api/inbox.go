package api

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// The organization's inbox (docs/domain.md §1.8): conversations with the
// customers, opened, marked read or unread, answered; and the
// organization's setting that says whether opening marks read.

// OrganizationSettings is the organization's settings as the API shows
// and takes them.
type OrganizationSettings struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// InboxReadMode is manually (the default: a conversation stays unread
	// until marked read) or on_open (opening it marks it read).
	InboxReadMode models.InboxReadMode `json:"inbox_read_mode"`
}

// OrganizationSettingsPatch changes the organization's settings; absent
// fields stay as they are.
type OrganizationSettingsPatch struct {
	InboxReadMode *models.InboxReadMode `json:"inbox_read_mode"`
}

// ReplyRequest is an admin's answer in a conversation: the customer gets
// it by email and sees it in the portal.
type ReplyRequest struct {
	Body string `json:"body"`
	// Author names who answered, for the inbox (not shown to the customer).
	Author string `json:"author,omitempty"`
}

func organizationSettings(o *models.Organization) OrganizationSettings {
	return OrganizationSettings{ID: o.ID, Name: o.Name, InboxReadMode: o.InboxRead}
}

// getOrganizationSettings serves the caller's organization's settings.
func (s *Server) getOrganizationSettings(c *gin.Context) {
	o, err := s.App.Organization(c.Request.Context(), orgID(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, organizationSettings(o))
}

// patchOrganizationSettings changes the caller's organization's settings.
func (s *Server) patchOrganizationSettings(c *gin.Context) {
	var p OrganizationSettingsPatch
	if err := decode(c, &p); err != nil {
		fail(c, err)
		return
	}
	o, err := s.App.PatchOrganizationSettings(c.Request.Context(), orgID(c), domain.OrganizationSettingsPatch{InboxRead: p.InboxReadMode})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, organizationSettings(o))
}

// listConversations lists the organization's conversations, filtered by
// unread, administration, customer, invoice and case.
func (s *Server) listConversations(c *gin.Context) {
	var f domain.InboxFilter
	var err error
	if f.Unread, err = boolQuery(c, "unread"); err != nil {
		fail(c, err)
		return
	}
	for name, dest := range map[string]*int64{"administration_id": &f.AdministrationID, "customer_id": &f.CustomerID, "invoice_id": &f.InvoiceID, "case_id": &f.CaseID} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fail(c, badInput(name, "must be a positive integer, got %q", v))
			return
		}
		*dest = id
	}
	listPage(c, func(p domain.PageRequest) (domain.Page[models.Conversation], error) {
		return s.App.Conversations(c.Request.Context(), orgID(c), f, p)
	}, func(cv *models.Conversation) models.Conversation { return *cv })
}

// conversation loads a conversation of the caller's organization.
func (s *Server) conversation(c *gin.Context, id int64) (*models.Conversation, error) {
	return s.App.Conversation(c.Request.Context(), orgID(c), id)
}

// getConversation serves a conversation with its messages; with the
// on_open setting it marks it read, unless the key is read-only (reading
// with such a key changes nothing).
func (s *Server) getConversation(c *gin.Context) {
	conv, ok := object(c, s.conversation)
	if !ok {
		return
	}
	d, err := s.App.OpenConversation(c.Request.Context(), conv, !c.GetBool(ctxReadOnly))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// markConversationRead and markConversationUnread answer the conversation.
func (s *Server) markConversationRead(c *gin.Context)   { s.markConversation(c, false) }
func (s *Server) markConversationUnread(c *gin.Context) { s.markConversation(c, true) }

func (s *Server) markConversation(c *gin.Context, unread bool) {
	conv, ok := object(c, s.conversation)
	if !ok {
		return
	}
	if err := s.App.MarkConversation(c.Request.Context(), conv, unread); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}

// replyToConversation stores an admin's reply and has it emailed (202: the
// email leaves through the outbox; its state is in the answer's delivery
// and in the conversation).
func (s *Server) replyToConversation(c *gin.Context) {
	conv, body, ok := objectAndBody[*models.Conversation, ReplyRequest](c, s.conversation, true)
	if !ok {
		return
	}
	v, err := s.App.ReplyToConversation(c.Request.Context(), conv, domain.ReplyInput{Body: body.Body, Author: body.Author})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, v)
}

// unreadSummary serves the unread counts per customer, invoice and case.
func (s *Server) unreadSummary(c *gin.Context) {
	sum, err := s.App.UnreadSummary(c.Request.Context(), orgID(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sum)
}

// getInboxAttachment serves an attachment's bytes as a download (never
// inline: a customer's HTML file must not run in the admin's browser).
func (s *Server) getInboxAttachment(c *gin.Context) {
	a, ok := object(c, func(c *gin.Context, id int64) (*models.InboxAttachment, error) {
		return s.App.InboxAttachment(c.Request.Context(), orgID(c), id)
	})
	if !ok {
		return
	}
	if a.Refused != "" || a.Data == nil {
		fail(c, fmt.Errorf("%w: the bytes of attachment %d were not kept: %s", ErrConflict, a.ID, a.Refused))
		return
	}
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.FileName}))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "sandbox")
	c.Data(http.StatusOK, "application/octet-stream", a.Data)
}
