package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
)

// Problem is an RFC 9457 problem document; Field names the input at fault.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Field     string `json:"field,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Domain errors, mapped to HTTP statuses only here at the edge.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnavailable  = errors.New("service unavailable")
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden is a valid key that may not do this (a read-only key's write).
	ErrForbidden = errors.New("forbidden")
)

// InputError is bad input (400): Field names the JSON field or parameter.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// RuleError is well-formed input that breaks a domain rule (422).
type RuleError struct {
	Field  string
	Reason string
}

func (e *RuleError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func badInput(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func ruleBroken(field, format string, args ...any) error {
	return &RuleError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func notFound(what string) error { return fmt.Errorf("%s %w", what, ErrNotFound) }

func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// fail answers err as problem+json and stops the chain.
func fail(c *gin.Context, err error) {
	status, title, field := http.StatusInternalServerError, "Internal error", ""
	detail := err.Error()
	var in *InputError
	var rule *RuleError
	var tooBig *http.MaxBytesError
	var appField *app.FieldError
	switch {
	case errors.As(err, &appField) && appField.Rule:
		status, title, field, detail = http.StatusUnprocessableEntity, "Rule violated", appField.Field, appField.Error()
	case errors.As(err, &appField):
		status, title, field, detail = http.StatusBadRequest, "Bad request", appField.Field, appField.Error()
	case errors.As(err, &in):
		status, title, field, detail = http.StatusBadRequest, "Bad request", in.Field, in.Error()
	case errors.As(err, &rule):
		status, title, field, detail = http.StatusUnprocessableEntity, "Rule violated", rule.Field, rule.Error()
	case errors.As(err, &tooBig):
		status, title = http.StatusRequestEntityTooLarge, "Request body too large"
		detail = fmt.Sprintf("the request body exceeds the limit of %d bytes", tooBig.Limit)
	case errors.Is(err, ErrNotFound), errors.Is(err, app.ErrNotFound), errors.Is(err, gorm.ErrRecordNotFound):
		status, title = http.StatusNotFound, "Not found"
	case errors.Is(err, ErrConflict), errors.Is(err, gorm.ErrDuplicatedKey), errors.Is(err, app.ErrDuplicate), errors.Is(err, app.ErrArchived):
		status, title = http.StatusConflict, "Conflict"
	case errors.Is(err, ErrUnauthorized):
		status, title = http.StatusUnauthorized, "Unauthorized"
	case errors.Is(err, ErrForbidden):
		status, title = http.StatusForbidden, "Forbidden"
	case errors.Is(err, ErrUnavailable):
		status, title = http.StatusServiceUnavailable, "Service unavailable"
	default:
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			status, title = http.StatusNotFound, "Not found"
		}
	}
	if status == http.StatusInternalServerError {
		logger(c).Error("request failed", "error", err)
		detail = "an internal error occurred; the request ID identifies it in the logs"
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="relance"`)
	}
	writeProblem(c, Problem{Status: status, Title: title, Detail: detail, Field: field})
}

func writeProblem(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	p.Instance = c.Request.URL.Path
	p.RequestID = c.GetString(ctxRequestID)
	body, _ := json.Marshal(p)
	c.Abort()
	c.Data(p.Status, "application/problem+json", body)
}
