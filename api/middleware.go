package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/relance/relance/metrics"
)

const (
	ctxRequestID = "request_id"
	ctxOrg       = "organization_id"
	ctxReadOnly  = "read_only"
	ctxLogger    = "logger"
	headerReqID  = "X-Request-ID"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes a sane X-Request-ID from the caller or makes one, and
// puts it on the response and on every log line of the request.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(headerReqID)
		if !validRequestID.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
		c.Header(headerReqID, id)
		c.Next()
	}
}

func accessLog(base *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		l := base.With("request_id", c.GetString(ctxRequestID))
		c.Set(ctxLogger, l)
		c.Next()
		elapsed := time.Since(start)
		// By route template (c.FullPath), never the raw path: IDs would
		// make a series per object.
		metrics.HTTPRequest(c.Request.Method, c.FullPath(), c.Writer.Status(), elapsed)
		// The request's span (when tracing is on) is named by its route
		// too; without tracing this span is a no-op.
		if route := c.FullPath(); route != "" {
			span := trace.SpanFromContext(c.Request.Context())
			span.SetName(c.Request.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route), attribute.String("relance.request_id", c.GetString(ctxRequestID)))
		}
		l.Info("request", "method", c.Request.Method, "path", logPath(c.Request.URL.Path),
			"status", c.Writer.Status(), "duration_ms", elapsed.Milliseconds(),
			"organization_id", c.GetInt64(ctxOrg))
	}
}

// logPath is the path as logged: a portal link is a credential, so only
// its customer ID is kept ("/portal/42.…/email").
func logPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/portal/")
	if !ok {
		return p
	}
	tok, tail, _ := strings.Cut(rest, "/")
	id, _, _ := strings.Cut(tok, ".")
	if tail != "" {
		tail = "/" + tail
	}
	return "/portal/" + id + ".…" + tail
}

// recovery turns a panic into a 500 problem; the process keeps serving.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				logger(c).Error("panic in handler", "panic", fmt.Sprint(r))
				fail(c, fmt.Errorf("panic: %v", r))
			}
		}()
		c.Next()
	}
}

// bodyLimit is a route's body limit as documented: the bytes, and the
// setting that configures them. A 413 states both.
type bodyLimit struct {
	bytes   int64
	setting string
}

const ctxBodyLimit = "body_limit"

// capBody bounds a request body: a declared length above the limit is
// refused before anything is read, a chunked body is cut off at it. slack is
// what an envelope may add around the limited content (a multipart form's
// headers around the file); the 413 states the limit without it.
func capBody(limit int64, setting string, slack int64) gin.HandlerFunc {
	documented := bodyLimit{bytes: limit, setting: setting}
	return func(c *gin.Context) {
		c.Set(ctxBodyLimit, documented)
		if c.Request.ContentLength > limit+slack {
			fail(c, &http.MaxBytesError{Limit: limit + slack})
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+slack)
		}
		c.Next()
	}
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		if sl, ok := l.(*slog.Logger); ok {
			return sl
		}
	}
	return slog.Default()
}

// orgID is the authenticated organization.
func orgID(c *gin.Context) int64 { return c.GetInt64(ctxOrg) }

// cleanInput refuses a request whose path or query holds a NUL byte or
// invalid UTF-8: no field of Relance may contain them, and the databases
// reject them with errors that would otherwise surface as 500s.
func cleanInput() gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, p := range c.Params {
			if bad(p.Value) {
				fail(c, badInput(p.Key, "contains a NUL byte or invalid UTF-8"))
				return
			}
		}
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			fail(c, badInput("", "malformed query string: %v", err))
			return
		}
		for k, vs := range q {
			if bad(k) {
				fail(c, badInput("", "a query parameter name contains a NUL byte or invalid UTF-8"))
				return
			}
			for _, v := range vs {
				if bad(v) {
					fail(c, badInput(k, "contains a NUL byte or invalid UTF-8"))
					return
				}
			}
		}
		c.Next()
	}
}

// bad reports whether s holds a NUL byte or invalid UTF-8.
func bad(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsRune(s, 0)
}

// strictQuery refuses query parameters the route does not read (allowed,
// keyed by "METHOD full path") and parameters given twice.
func strictQuery(allowed map[string][]string) gin.HandlerFunc {
	return func(c *gin.Context) {
		known := allowed[c.Request.Method+" "+c.FullPath()]
		for k, vs := range c.Request.URL.Query() {
			if !slices.Contains(known, k) {
				if len(known) == 0 {
					fail(c, badInput(k, "unknown query parameter: %s takes none", c.FullPath()))
				} else {
					fail(c, badInput(k, "unknown query parameter: %s takes %s", c.FullPath(), strings.Join(known, ", ")))
				}
				return
			}
			if len(vs) > 1 {
				fail(c, badInput(k, "is given %d times", len(vs)))
				return
			}
		}
		c.Next()
	}
}
