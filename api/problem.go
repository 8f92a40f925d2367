package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/relance/relance/domain"
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

// Errors of the edge. The application's errors (domain.ErrNotFound,
// domain.ErrConflict, domain.ErrUnavailable, *domain.FieldError) are mapped to HTTP
// statuses only here, in fail.
var (
	ErrNotFound     = domain.ErrNotFound
	ErrConflict     = domain.ErrConflict
	ErrUnavailable  = domain.ErrUnavailable
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden is a valid key that may not do this (a read-only key's write).
	ErrForbidden = errors.New("forbidden")
)

// retryAfter is the Retry-After of a 503: the seconds after which a
// dependency that did not answer is worth asking again.
const retryAfter = "5"

// badInput is malformed input (400) naming the field or parameter.
func badInput(field, format string, args ...any) error { return domain.Invalid(field, format, args...) }

// ruleBroken is well-formed input that breaks a domain rule (422).
func ruleBroken(field, format string, args ...any) error {
	return domain.RuleBroken(field, format, args...)
}

func notFound(what string) error { return fmt.Errorf("%s %w", what, ErrNotFound) }

func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// fail answers err as problem+json and stops the chain.
func fail(c *gin.Context, err error) {
	status, title, field := http.StatusInternalServerError, "Internal error", ""
	detail := err.Error()
	var in *domain.FieldError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &in) && !in.Rule:
		status, title, field, detail = http.StatusBadRequest, "Bad request", in.Field, in.Error()
	case errors.As(err, &in):
		status, title, field, detail = http.StatusUnprocessableEntity, "Rule violated", in.Field, in.Error()
	case errors.As(err, &tooBig):
		status, title = http.StatusRequestEntityTooLarge, "Request body too large"
		detail = fmt.Sprintf("the request body exceeds the limit of %d bytes", tooBig.Limit)
		if l, ok := c.Get(ctxBodyLimit); ok {
			if l, ok := l.(bodyLimit); ok {
				detail = fmt.Sprintf("the request body exceeds the limit of %d bytes (%s)", l.bytes, l.setting)
			}
		}
	case errors.Is(err, ErrNotFound):
		status, title = http.StatusNotFound, "Not found"
	case errors.Is(err, ErrConflict):
		status, title = http.StatusConflict, "Conflict"
	case errors.Is(err, ErrUnauthorized):
		status, title = http.StatusUnauthorized, "Unauthorized"
	case errors.Is(err, ErrForbidden):
		status, title = http.StatusForbidden, "Forbidden"
	case errors.Is(err, ErrUnavailable):
		status, title = http.StatusServiceUnavailable, "Service unavailable"
		c.Header("Retry-After", retryAfter)
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
