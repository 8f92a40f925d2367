package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"

	"github.com/relance/relance/models"
)

// decode reads a JSON body strictly: unknown fields, trailing data and type
// mismatches are refused naming the field.
func decode(c *gin.Context, v any) error {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return badInput("", "content type %q: send application/json", ct)
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badInput("", "reading the body: %v", err)
	}
	if !utf8.Valid(body) {
		return badInput("", "the body is not valid UTF-8")
	}
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		return badInput("", "the body contains a NUL character, which no field may hold")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badInput("", "malformed JSON: data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badInput("", "malformed JSON: data after the object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return badInput("", "empty body: a JSON object is expected")
	case errors.As(err, &syn):
		return badInput("", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return badInput(typ.Field, "expected %s, got JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badInput("", "malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badInput(f, "unknown field")
	}
	return badInput("", "malformed JSON: %v", err)
}

// pathID reads a positive integer path parameter.
func pathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, badInput(name, "must be a positive integer, got %q", c.Param(name))
	}
	return id, nil
}

// Page is one page of a list: Next is the cursor of the following page.
type Page[T any] struct {
	Data []T   `json:"data"`
	Next int64 `json:"next_cursor,omitempty"`
}

// pageParams reads ?limit (1..200, default 50) and ?cursor (an ID: the list
// continues after it). Keyset pagination stays fast and stable while rows
// are added.
func pageParams(c *gin.Context) (limit int, cursor int64, err error) {
	limit = 50
	if v := c.Query("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > 200 {
			return 0, 0, badInput("limit", "must be an integer from 1 to 200")
		}
	}
	if v := c.Query("cursor"); v != "" {
		cursor, err = strconv.ParseInt(v, 10, 64)
		if err != nil || cursor < 0 {
			return 0, 0, badInput("cursor", "must be the next_cursor of a previous page")
		}
	}
	return limit, cursor, nil
}

// pageRequest reads ?limit and ?cursor into the application's page request.
func pageRequest(c *gin.Context) (domain.PageRequest, error) {
	limit, cursor, err := pageParams(c)
	return domain.PageRequest{Limit: limit, Cursor: cursor}, err
}

// listAll answers every row list gives, as views, without paging: for lists
// that stay short (an administration's templates, a template's versions).
func listAll[T, V any](c *gin.Context, list func() ([]T, error), view func(*T) V) {
	rows, err := list()
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]V, 0, len(rows))
	for i := range rows {
		out = append(out, view(&rows[i]))
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
}

// listPage answers one page of a list: list runs with the page request,
// view turns each row into its wire form.
func listPage[T, V any](c *gin.Context, list func(domain.PageRequest) (domain.Page[T], error), view func(*T) V) {
	p, err := pageRequest(c)
	if err != nil {
		fail(c, err)
		return
	}
	rows, err := list(p)
	if err != nil {
		fail(c, err)
		return
	}
	out := Page[V]{Next: rows.Next, Data: make([]V, 0, len(rows.Data))}
	for i := range rows.Data {
		out.Data = append(out.Data, view(&rows.Data[i]))
	}
	c.JSON(http.StatusOK, out)
}

// administration loads an administration of the caller's organization;
// another organization's is not found.
func (s *Server) administration(c *gin.Context, id int64) (*models.Administration, error) {
	return s.App.Administration(c.Request.Context(), orgID(c), id)
}

// invoice loads an invoice of the caller's organization.
func (s *Server) invoice(c *gin.Context, id int64) (*models.Invoice, error) {
	return s.App.Invoice(c.Request.Context(), orgID(c), id)
}

// customer loads a customer of the caller's organization.
func (s *Server) customer(c *gin.Context, id int64) (*models.Customer, error) {
	return s.App.Customer(c.Request.Context(), orgID(c), id)
}

// fieldf names a field inside a list, e.g. steps[2].kind.
func fieldf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// objectAndBody is the preamble of a handler about one object: it reads the
// {id} path parameter and the JSON body (required, or only when one is sent),
// then loads the object of the caller's organization with load. When
// anything fails it has answered and ok is false.
func objectAndBody[O, T any](c *gin.Context, load func(*gin.Context, int64) (O, error), required bool) (obj O, body T, ok bool) {
	if obj, ok = object(c, load); !ok {
		return obj, body, false
	}
	if required || c.Request.ContentLength != 0 {
		if err := decode(c, &body); err != nil {
			fail(c, err)
			return obj, body, false
		}
	}
	return obj, body, true
}

// object loads the object of the {id} path parameter, of the caller's
// organization, leaving the body to the handler (an upload, or none). When
// it fails it has answered and ok is false.
func object[O any](c *gin.Context, load func(*gin.Context, int64) (O, error)) (obj O, ok bool) {
	id, err := pathID(c, "id")
	if err == nil {
		obj, err = load(c, id)
	}
	if err != nil {
		fail(c, err)
		return obj, false
	}
	return obj, true
}

// boolQuery reads an optional true|false query parameter.
func boolQuery(c *gin.Context, name string) (*bool, error) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, badInput(name, "must be true or false, got %q", v)
	}
	return &b, nil
}

// boolQueries reads optional true|false query parameters into their
// filters, in the order of their names (the first bad one is reported).
func boolQueries(c *gin.Context, filters map[string]**bool) error {
	for _, name := range slices.Sorted(maps.Keys(filters)) {
		v, err := boolQuery(c, name)
		if err != nil {
			return err
		}
		*filters[name] = v
	}
	return nil
}
