package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/relance/relance/models"
)

// decode reads a JSON body strictly: unknown fields, trailing data and type
// mismatches are refused naming the field.
func decode(c *gin.Context, v any) error {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return badInput("", "content type %q: send application/json", ct)
	}
	dec := json.NewDecoder(c.Request.Body)
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

// paginate applies keyset pagination on id and returns the page.
func paginate[T any](q *gorm.DB, c *gin.Context, id func(T) int64) (Page[T], error) {
	limit, cursor, err := pageParams(c)
	if err != nil {
		return Page[T]{}, err
	}
	var rows []T
	if cursor > 0 {
		q = q.Where("id > ?", cursor)
	}
	if err := q.Order("id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[T]{}, fmt.Errorf("list: %w", err)
	}
	p := Page[T]{Data: rows}
	if len(rows) > limit {
		p.Data = rows[:limit]
		p.Next = id(rows[limit-1])
	}
	if p.Data == nil {
		p.Data = []T{}
	}
	return p, nil
}

// administration loads an administration of the caller's organization;
// another organization's is not found.
func (s *Server) administration(c *gin.Context, id int64) (*models.Administration, error) {
	var a models.Administration
	err := s.DB.WithContext(c.Request.Context()).Where("id = ? AND organization_id = ?", id, orgID(c)).First(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound(fmt.Sprintf("administration %d", id))
	}
	if err != nil {
		return nil, fmt.Errorf("load administration %d: %w", id, err)
	}
	return &a, nil
}

// ownedAdministrations scopes a query to the caller's organization's administrations.
func ownedAdministrations(c *gin.Context, db *gorm.DB) *gorm.DB {
	return db.Where("administration_id IN (?)", db.Session(&gorm.Session{NewDB: true}).
		Model(&models.Administration{}).Select("id").Where("organization_id = ?", orgID(c)))
}

// invoice loads an invoice of the caller's organization.
func (s *Server) invoice(c *gin.Context, id int64) (*models.Invoice, error) {
	var inv models.Invoice
	db := s.DB.WithContext(c.Request.Context())
	err := ownedAdministrations(c, db).Where("id = ?", id).First(&inv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound(fmt.Sprintf("invoice %d", id))
	}
	if err != nil {
		return nil, fmt.Errorf("load invoice %d: %w", id, err)
	}
	return &inv, nil
}

// customer loads a customer of the caller's organization.
func (s *Server) customer(c *gin.Context, id int64) (*models.Customer, error) {
	var cu models.Customer
	db := s.DB.WithContext(c.Request.Context())
	err := ownedAdministrations(c, db).Where("id = ?", id).First(&cu).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound(fmt.Sprintf("customer %d", id))
	}
	if err != nil {
		return nil, fmt.Errorf("load customer %d: %w", id, err)
	}
	return &cu, nil
}

// idAndBody reads the {id} path parameter and the JSON body of a request
// about one object. When either is bad it has answered with the problem and
// ok is false.
func idAndBody[T any](c *gin.Context) (id int64, body T, ok bool) {
	return idAndMaybeBody[T](c, true)
}

// idAndMaybeBody is idAndBody for an action whose body may be left out
// (a resume without a reason) unless required: an empty body is the zero T.
func idAndMaybeBody[T any](c *gin.Context, required bool) (id int64, body T, ok bool) {
	id, err := pathID(c, "id")
	if err == nil && (required || c.Request.ContentLength != 0) {
		err = decode(c, &body)
	}
	if err != nil {
		fail(c, err)
		return 0, body, false
	}
	return id, body, true
}
