package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/metrics"
)

const (
	ctxRequestID = "request_id"
	ctxOrg       = "organization_id"
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
		l.Info("request", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "duration_ms", elapsed.Milliseconds(),
			"organization_id", c.GetInt64(ctxOrg))
	}
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

// ownBodyLimit holds the routes ("METHOD /full/path", as c.FullPath) that
// bound their body themselves with a larger limit than their group's (import
// uploads): the group's limitBody lets them through to their own capBody.
// It is filled by init functions only.
var ownBodyLimit = map[string]bool{}

// limitBody bounds request bodies, except on the routes of ownBodyLimit;
// reading past the limit fails with *http.MaxBytesError, which fail maps to 413.
func limitBody(limit int64) gin.HandlerFunc {
	bound := capBody(limit)
	return func(c *gin.Context) {
		if ownBodyLimit[c.Request.Method+" "+c.FullPath()] {
			c.Next()
			return
		}
		bound(c)
	}
}

// capBody bounds a request body to limit bytes: a declared length above it
// is refused before anything is read, a chunked body is cut off at it.
func capBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			fail(c, &http.MaxBytesError{Limit: limit})
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
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
