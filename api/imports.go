package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/models"
)

// multipartSlack is what a multipart envelope may add around a file of
// MaxImportBytes: part headers, boundaries and the small form fields.
const multipartSlack = 64 << 10

// ImportRunView is a stored import run. Report is the whole report on
// GET /imports/{id}; lists carry only its counts (Summary).
type ImportRunView struct {
	ID               int64                `json:"id"`
	AdministrationID int64                `json:"administration_id"`
	FileSHA256       string               `json:"file_sha256"`
	Format           string               `json:"format"`
	FullSnapshot     bool                 `json:"full_snapshot"`
	CreatedAt        time.Time            `json:"created_at"`
	Summary          ImportSummary        `json:"summary"`
	Report           *domain.ImportReport `json:"report,omitempty"`
}

// ImportSummary is the counts of an import report, without its row lists.
type ImportSummary struct {
	Rows            int                         `json:"rows"`
	Customers       domain.ImportCustomerCounts `json:"customers"`
	Invoices        domain.ImportInvoiceCounts  `json:"invoices"`
	JourneysStarted int                         `json:"journeys_started"`
}

// upload is an import file as the request carried it.
type upload struct {
	data         []byte
	format       string // csv, json or "" (tell from the content)
	fullSnapshot bool
}

// importFormat maps a media type to an import format; ok is false for a
// type that is not an import file.
func importFormat(mediaType string) (format string, ok bool) {
	switch mediaType {
	case "text/csv", "application/csv", "text/comma-separated-values":
		return domain.FormatCSV, true
	case "application/json":
		return domain.FormatJSON, true
	case xlsxMediaType:
		return domain.FormatXLSX, true
	}
	return "", false
}

// xlsxMediaType is the media type of an Excel .xlsx workbook.
const xlsxMediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// tooLarge turns any over-the-limit read into the 413 of the file limit.
func (s *Server) tooLarge(err error) error {
	var mb *http.MaxBytesError
	if errors.Is(err, domain.ErrTooLarge) || errors.As(err, &mb) {
		return &http.MaxBytesError{Limit: s.Config.MaxImportBytes}
	}
	return err
}

// readUpload reads the file of a text/csv, application/json or
// multipart/form-data (part "file") request, never more than MaxImportBytes.
func (s *Server) readUpload(c *gin.Context) (upload, error) {
	var up upload
	if v, ok := c.GetQuery("full_snapshot"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return up, badInput("full_snapshot", "must be true or false, got %q", v)
		}
		up.fullSnapshot = b
	}
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return up, badInput("Content-Type", "is required: text/csv, application/json or multipart/form-data with a file part")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return up, badInput("Content-Type", "%q is not a media type", ct)
	}
	if f, ok := importFormat(mt); ok {
		up.format = f
		up.data, err = domain.ReadLimited(c.Request.Body, s.Config.MaxImportBytes)
		return up, s.tooLarge(err)
	}
	if mt != "multipart/form-data" {
		return up, &mediaTypeError{got: mt}
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return up, badInput("Content-Type", "multipart body without a boundary: %v", err)
	}
	gotFile, gotSnapshot := false, false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return up, s.tooLarge(err)
			}
			return up, badInput("file", "malformed multipart body: %v", err)
		}
		switch name := part.FormName(); name {
		case "file":
			if gotFile {
				return up, badInput("file", "send one file per import")
			}
			gotFile = true
			up.format = partFormat(part)
			up.data, err = domain.ReadLimited(part, s.Config.MaxImportBytes)
			if err != nil {
				return up, s.tooLarge(err)
			}
		case "full_snapshot":
			v, err := domain.ReadLimited(part, 16)
			if err != nil {
				return up, badInput("full_snapshot", "must be true or false")
			}
			b, err := strconv.ParseBool(strings.TrimSpace(string(v)))
			if err != nil {
				return up, badInput("full_snapshot", "must be true or false, got %q", v)
			}
			if gotSnapshot || c.Query("full_snapshot") != "" {
				return up, badInput("full_snapshot", "give it once, in the query or the form")
			}
			gotSnapshot, up.fullSnapshot = true, b
		default:
			return up, badInput(name, "unknown form field: send file and, optionally, full_snapshot")
		}
		_ = part.Close()
	}
	if !gotFile {
		return up, badInput("file", "the multipart body has no file part")
	}
	return up, nil
}

// partFormat tells an uploaded file's format from its part's content type,
// then its name; "" leaves it to the content.
func partFormat(p *multipart.Part) string {
	if mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err == nil {
		if f, ok := importFormat(mt); ok {
			return f
		}
	}
	switch strings.ToLower(filepath.Ext(p.FileName())) {
	case ".json":
		return domain.FormatJSON
	case ".csv":
		return domain.FormatCSV
	case ".xlsx":
		return domain.FormatXLSX
	}
	return ""
}

// mediaTypeError is a request body of a type the route does not take (415).
type mediaTypeError struct{ got string }

func (e *mediaTypeError) Error() string {
	return fmt.Sprintf("content type %q: send text/csv, application/json, %s or multipart/form-data with a file part", e.got, xlsxMediaType)
}

// fileError maps a file-level problem of an import file: not a CSV, JSON
// or XLSX file is bad input (400), a well-formed file that cannot be
// imported as a whole (header, no rows, too many rows, a saved mapping that
// does not fit) breaks a rule (422). Either way nothing was imported.
func fileError(err error) error {
	switch {
	case errors.Is(err, importer.ErrNotCSV), errors.Is(err, importer.ErrNotJSON), errors.Is(err, importer.ErrNotXLSX), errors.Is(err, domain.ErrFormat):
		return badInput("file", "%v; nothing was imported", err)
	case errors.Is(err, importer.ErrMapping):
		return ruleBroken("import-mapping", "%v; fix the administration's column mapping; nothing was imported", err)
	case errors.Is(err, importer.ErrHeader), errors.Is(err, importer.ErrEmpty), errors.Is(err, importer.ErrTooManyRows):
		return ruleBroken("file", "%v; nothing was imported", err)
	}
	return badInput("file", "%v; nothing was imported", err)
}

// reportAsCSV tells from ?format= and the Accept header whether the report
// is wanted as CSV instead of JSON.
func reportAsCSV(c *gin.Context) (bool, error) {
	switch f := c.Query("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, badInput("format", "the report format must be json or csv, got %q", f)
	}
	for _, part := range strings.Split(c.GetHeader("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true, nil
		}
	}
	return false, nil
}

// writeReport answers an import report as JSON or, when asked, as CSV.
func writeReport(c *gin.Context, status int, rep domain.ImportReport, asCSV bool) {
	if !asCSV {
		c.JSON(status, rep)
		return
	}
	var b strings.Builder
	if err := domain.WriteReportCSV(&b, rep); err != nil {
		fail(c, err)
		return
	}
	name := "import-report.csv"
	if rep.ImportID > 0 {
		name = fmt.Sprintf("import-%d-report.csv", rep.ImportID)
	}
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	c.Data(status, "text/csv; charset=utf-8", []byte(b.String()))
}

// createImport imports an accounting export into an administration and
// answers its report (201; the run is stored at Location), as JSON or CSV
// (?format=csv or Accept: text/csv). With ?dry_run=true nothing is written
// and the report says what the import would do (200). The administration's
// column mapping, if saved, says which column feeds which field. The import
// goes on when the client disconnects, so that a long upload's import is
// not cut in the middle; its run can be read afterwards.
func (s *Server) createImport(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	asCSV, err := reportAsCSV(c)
	if err != nil {
		fail(c, err)
		return
	}
	dryRun := false
	if v, ok := c.GetQuery("dry_run"); ok {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			fail(c, badInput("dry_run", "must be true or false, got %q", v))
			return
		}
	}
	up, err := s.readUpload(c)
	if err != nil {
		var mt *mediaTypeError
		if errors.As(err, &mt) {
			writeProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Title: "Unsupported media type", Detail: mt.Error(), Field: "Content-Type"})
			return
		}
		fail(c, err)
		return
	}
	mapping, err := s.App.ImportMapping(c.Request.Context(), adm.ID)
	if err != nil {
		fail(c, err)
		return
	}
	parsed, err := domain.ParseFile(up.data, up.format, adm, mapping)
	if err != nil {
		fail(c, fileError(err))
		return
	}
	ctx := context.WithoutCancel(c.Request.Context())
	rep, err := s.App.Import(ctx, adm, parsed.Result, domain.ImportOptions{
		FullSnapshot: up.fullSnapshot, FileSHA256: parsed.SHA256, Format: parsed.Format, Logger: logger(c), DryRun: dryRun,
	})
	if err != nil {
		fail(c, err)
		return
	}
	if dryRun {
		writeReport(c, http.StatusOK, rep, asCSV)
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/imports/%d", rep.ImportID))
	writeReport(c, http.StatusCreated, rep, asCSV)
}

func importRunView(run models.ImportRun, full bool) (ImportRunView, error) {
	v := ImportRunView{ID: run.ID, AdministrationID: run.AdministrationID, FileSHA256: run.FileSHA256,
		Format: run.Format, FullSnapshot: run.FullSnapshot, CreatedAt: run.CreatedAt}
	if full {
		var rep domain.ImportReport
		if err := json.Unmarshal([]byte(run.Report), &rep); err != nil {
			return v, fmt.Errorf("decode report of import %d: %w", run.ID, err)
		}
		rep.ImportID = run.ID
		v.Report = &rep
		v.Summary = ImportSummary{Rows: rep.Rows, Customers: rep.Customers, Invoices: rep.Invoices, JourneysStarted: rep.JourneysStarted}
		return v, nil
	}
	// The summary's fields only: the row lists are skipped, not kept.
	if err := json.Unmarshal([]byte(run.Report), &v.Summary); err != nil {
		return v, fmt.Errorf("decode report of import %d: %w", run.ID, err)
	}
	return v, nil
}

func (s *Server) listImports(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	p, err := pageRequest(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := s.App.ImportRuns(c.Request.Context(), adm.ID, p)
	if err != nil {
		fail(c, err)
		return
	}
	out := Page[ImportRunView]{Next: page.Next, Data: make([]ImportRunView, 0, len(page.Data))}
	for _, run := range page.Data {
		v, err := importRunView(run, false)
		if err != nil {
			fail(c, err)
			return
		}
		out.Data = append(out.Data, v)
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getImport(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		fail(c, err)
		return
	}
	asCSV, err := reportAsCSV(c)
	if err != nil {
		fail(c, err)
		return
	}
	run, err := s.App.ImportRun(c.Request.Context(), orgID(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	v, err := importRunView(*run, true)
	if err != nil {
		fail(c, err)
		return
	}
	if asCSV {
		writeReport(c, http.StatusOK, *v.Report, true)
		return
	}
	c.JSON(http.StatusOK, v)
}

// ImportMappingView is an administration's column mapping for imports:
// field → column of its accounting software's export, as written.
type ImportMappingView struct {
	Columns importer.Mapping `json:"columns"`
}

func (s *Server) getImportMapping(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	m, err := s.App.ImportMapping(c.Request.Context(), adm.ID)
	if err != nil {
		fail(c, err)
		return
	}
	if m == nil {
		m = importer.Mapping{}
	}
	c.JSON(http.StatusOK, ImportMappingView{Columns: m})
}

// putImportMapping replaces the administration's column mapping; every
// later import uses it. An unknown field is bad input (400); a required
// field without a column, or two fields on one column, breaks a rule (422).
// Nothing is saved then.
func (s *Server) putImportMapping(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	var body ImportMappingView
	if err := decode(c, &body); err != nil {
		fail(c, err)
		return
	}
	if body.Columns == nil {
		fail(c, badInput("columns", `is required: {"columns": {"field": "Column", ...}}`))
		return
	}
	if err := s.App.SaveImportMapping(c.Request.Context(), adm.ID, body.Columns); err != nil {
		var me *importer.MappingError
		if errors.As(err, &me) {
			for _, q := range me.Problems {
				if q.Unknown {
					fail(c, badInput("columns."+q.Field, "%v", me))
					return
				}
			}
			fail(c, ruleBroken("columns."+me.Problems[0].Field, "%v", me))
			return
		}
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, body)
}
