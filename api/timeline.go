package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/policy"
)

// TimelineView is an invoice's timeline: what happened, in time order, and
// what its journey plans, with the channels it would use now.
type TimelineView struct {
	InvoiceID int64               `json:"invoice_id"`
	Stage     domain.Stage        `json:"stage"`
	Entries   []TimelineEntryView `json:"entries"`
	Planned   []PlannedStepView   `json:"planned"`
	// PlannedError says why the planned part is missing (the journey could
	// not be asked); the entries are complete all the same.
	PlannedError string `json:"planned_error,omitempty"`
}

// TimelineEntryView is one entry: kind is message, delivery (a delivery
// report or bounce of a message), payment, paused, resumed, disputed,
// dispute_resolved, email_submitted, imported, or bundle (a step its
// customer's bundle carries).
type TimelineEntryView struct {
	At          time.Time            `json:"at"`
	Kind        string               `json:"kind"`
	Detail      string               `json:"detail,omitempty"`
	Message     *TimelineMessageView `json:"message,omitempty"`
	AmountMinor int64                `json:"amount_minor,omitempty"`
	Currency    string               `json:"currency,omitempty"`
	Bundle      *TimelineBundleView  `json:"bundle,omitempty"`
}

// TimelineBundleView is a step of the invoice's journey in its customer's
// bundle (docs/bundling.md): state bundled (waiting in the bundle
// workflow_id), held (under the minimum amount), sent (in the bundle's
// messages, one per channel, shared with the other invoices it covered),
// skipped, failed, postponed (the customer's minimum gap: not_before) or
// requeued (paused, disputed or moved: the journey asks again).
type TimelineBundleView struct {
	StepKey    string                `json:"step_key"`
	Position   int                   `json:"position"`
	StepKind   policy.StepKind       `json:"step_kind"`
	State      string                `json:"state"`
	Reason     string                `json:"reason,omitempty"`
	WorkflowID string                `json:"workflow_id"`
	BundleKey  string                `json:"bundle_key,omitempty"`
	NotBefore  *time.Time            `json:"not_before,omitempty"`
	Invoices   int                   `json:"invoices,omitempty"`
	Messages   []TimelineMessageView `json:"messages"`
}

// TimelineMessageView is a message on one channel: its state (sent, skipped
// with the reason, failed, uncertain), recipient, template version,
// delivery status (a bounce), and the link to its preview.
type TimelineMessageView struct {
	ID              int64           `json:"id"`
	StepKind        policy.StepKind `json:"step_kind"`
	Channel         string          `json:"channel"`
	State           string          `json:"state"`
	Reason          string          `json:"reason,omitempty"`
	Manual          bool            `json:"manual"`
	Recipient       string          `json:"recipient,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	TemplateID      *int64          `json:"template_id,omitempty"`
	TemplateVersion int             `json:"template_version,omitempty"`
	DeliveryStatus  string          `json:"delivery_status,omitempty"`
	DeliveryAt      *time.Time      `json:"delivery_at,omitempty"`
	Preview         string          `json:"preview"`
}

// PlannedStepView is a step still to come: its date (after the minimum gap
// and a pause's end for the next one), and the channel choice as it would
// be made now.
type PlannedStepView struct {
	Position int                  `json:"position"`
	Kind     policy.StepKind      `json:"kind"`
	At       time.Time            `json:"at"`
	Next     bool                 `json:"next"`
	Channels []policy.Channel     `json:"channels"`
	Skipped  bool                 `json:"skipped,omitempty"`
	Reason   string               `json:"reason,omitempty"`
	Refusals []ChannelRefusalView `json:"refusals,omitempty"`
}

// ChannelRefusalView is a channel a planned step would not use, and why.
type ChannelRefusalView struct {
	Channel policy.Channel `json:"channel"`
	Reason  string         `json:"reason"`
}

func (s *Server) invoiceTimeline(c *gin.Context) {
	inv, ok := object(c, s.invoice)
	if !ok {
		return
	}
	t, err := s.App.InvoiceTimeline(c.Request.Context(), inv)
	if err != nil {
		fail(c, err)
		return
	}
	v := TimelineView{InvoiceID: inv.ID, Stage: t.Stage, PlannedError: t.PlannedError,
		Entries: make([]TimelineEntryView, len(t.Entries)), Planned: make([]PlannedStepView, len(t.Planned))}
	for i, e := range t.Entries {
		v.Entries[i] = TimelineEntryView{At: e.At, Kind: e.Kind, Detail: e.Detail, AmountMinor: e.AmountMinor, Currency: e.Currency}
		if m := e.Message; m != nil {
			mv := timelineMessageView(*m)
			v.Entries[i].Message = &mv
		}
		if b := e.Bundle; b != nil {
			bv := &TimelineBundleView{StepKey: b.StepKey, Position: b.Position, StepKind: b.StepKind, State: b.State,
				Reason: b.Reason, WorkflowID: b.WorkflowID, BundleKey: b.BundleKey, NotBefore: b.NotBefore,
				Invoices: b.Invoices, Messages: make([]TimelineMessageView, len(b.Messages))}
			for j, m := range b.Messages {
				bv.Messages[j] = timelineMessageView(m)
			}
			v.Entries[i].Bundle = bv
		}
	}
	for i, p := range t.Planned {
		pv := PlannedStepView{Position: p.Position, Kind: p.Kind, At: p.At, Next: p.Next, Channels: []policy.Channel{}}
		if p.Choice != nil {
			pv.Channels = append(pv.Channels, p.Choice.Channels...)
			pv.Skipped, pv.Reason = p.Choice.Skipped, p.Choice.Reason
			for _, r := range p.Choice.Refusals {
				pv.Refusals = append(pv.Refusals, ChannelRefusalView{Channel: r.Channel, Reason: r.Reason})
			}
		}
		v.Planned[i] = pv
	}
	c.JSON(http.StatusOK, v)
}

// timelineMessageView is a timeline message with its preview link (none
// for a bundle's channel that has no outbox row).
func timelineMessageView(m domain.TimelineMessage) TimelineMessageView {
	v := TimelineMessageView{ID: m.ID, StepKind: m.StepKind, Channel: m.Channel, State: m.State,
		Reason: m.Reason, Manual: m.Manual, Recipient: m.Recipient, Subject: m.Subject, TemplateID: m.TemplateID,
		TemplateVersion: m.TemplateVersion, DeliveryStatus: m.DeliveryStatus, DeliveryAt: m.DeliveryAt}
	if m.ID != 0 {
		v.Preview = previewLink(m.ID)
	}
	return v
}
