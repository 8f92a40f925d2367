package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/db"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/models"
)

// mapFlag collects --map field=Column pairs (the flag may be repeated, and
// one value may hold several pairs separated by commas).
type mapFlag struct{ m importer.Mapping }

func (f *mapFlag) String() string { return fmt.Sprint(f.m) }

func (f *mapFlag) Set(v string) error {
	if f.m == nil {
		f.m = importer.Mapping{}
	}
	for _, pair := range strings.Split(v, ",") {
		field, column, ok := strings.Cut(pair, "=")
		field = strings.TrimSpace(field)
		if !ok || field == "" {
			return fmt.Errorf("--map %q: write field=Column (e.g. customer_ref=Relatiecode)", pair)
		}
		f.m[field] = strings.TrimSpace(column)
	}
	return nil
}

// readMappingFile reads a column mapping from a file: JSON, either
// {"columns": {...}} (what the API's GET answers) or a plain object, or
// lines of field=Column (blank lines and lines starting with # skipped).
func readMappingFile(path string) (importer.Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping file: %w", err)
	}
	text := strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff"))
	if strings.HasPrefix(text, "{") {
		var wrapped struct {
			Columns importer.Mapping `json:"columns"`
		}
		if err := json.Unmarshal([]byte(text), &wrapped); err == nil && wrapped.Columns != nil {
			return wrapped.Columns, nil
		}
		var m importer.Mapping
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			return nil, fmt.Errorf("mapping file %s: not a JSON object of field: column: %w", path, err)
		}
		return m, nil
	}
	m := importer.Mapping{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		field, column, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(field) == "" {
			return nil, fmt.Errorf("mapping file %s, line %d: write field=Column", path, i+1)
		}
		m[strings.TrimSpace(field)] = strings.TrimSpace(column)
	}
	return m, nil
}

// runImport is `relance import FILE --administration ID`: the same import as
// the API's, from a file on disk, with a progress bar on a terminal.
func runImport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	admID := fs.Int64("administration", 0, "administration ID")
	full := fs.Bool("full-snapshot", false, "the file lists every open invoice: open invoices absent from it are closed as paid")
	format := fs.String("format", "", "csv, json or xlsx (default: from the file name, then its content)")
	report := fs.String("report", "", "write the report to this file, as CSV when its name ends in .csv, else JSON (default: JSON on standard output)")
	dryRun := fs.Bool("dry-run", false, "show the report without writing anything (Temporal is not needed)")
	var maps mapFlag
	fs.Var(&maps, "map", "column mapping for this import, field=Column[,field=Column...] (over the administration's saved mapping)")
	mappingFile := fs.String("mapping", "", "read the column mapping from this file (JSON, or field=Column lines)")
	saveMapping := fs.Bool("save-mapping", false, "save the mapping given by --map/--mapping as the administration's, for every later import")
	// Flags may come before or after FILE.
	var file string
	rest := args
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			if file != "" {
				return fmt.Errorf("import takes one file, got %q and %q", file, rest[0])
			}
			file, rest = rest[0], rest[1:]
		}
	}
	if file == "" || *admID <= 0 {
		return errors.New("usage: relance import FILE --administration ID [--full-snapshot] [--format csv|json|xlsx] [--report FILE[.csv]] [--dry-run] [--map field=Column,...] [--mapping FILE] [--save-mapping]")
	}
	if *format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".json":
			*format = domain.FormatJSON
		case ".csv", ".txt":
			*format = domain.FormatCSV
		case ".xlsx":
			*format = domain.FormatXLSX
		}
	}
	given := importer.Mapping{}
	if *mappingFile != "" {
		m, err := readMappingFile(*mappingFile)
		if err != nil {
			return err
		}
		for k, v := range m {
			given[k] = v
		}
	}
	for k, v := range maps.m {
		given[k] = v
	}
	if *saveMapping && len(given) == 0 {
		return errors.New("--save-mapping needs --map or --mapping")
	}
	if err := importer.CheckMapping(given); err != nil {
		return fmt.Errorf("column mapping: %w; nothing was imported", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open import file: %w", err)
	}
	defer f.Close()
	data, err := domain.ReadLimited(f, cfg.MaxImportBytes)
	if err != nil {
		return fmt.Errorf("%s: %w (raise RELANCE_MAX_IMPORT_BYTES to import it)", file, err)
	}

	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	var adm models.Administration
	if err := gdb.WithContext(ctx).First(&adm, *admID).Error; err != nil {
		return fmt.Errorf("administration %d: %w", *admID, err)
	}
	// The saved mapping, with this import's pairs over it.
	svc := app.New(app.Options{DB: gdb, Logger: log})
	mapping, err := svc.ImportMapping(ctx, adm.ID)
	if err != nil {
		return err
	}
	if mapping == nil {
		mapping = importer.Mapping{}
	}
	for k, v := range given {
		mapping[k] = v
	}
	parsed, err := domain.ParseFile(data, *format, &adm, mapping)
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was imported", file, err)
	}
	if *saveMapping && !*dryRun {
		if err := svc.SaveImportMapping(ctx, adm.ID, mapping); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "column mapping saved for administration %d: later imports use it\n", adm.ID)
	}
	if !*dryRun {
		// A dry run writes nothing and starts nothing: it needs no Temporal.
		tc, err := dialTemporal(ctx, cfg, log, nil)
		if err != nil {
			return err
		}
		defer tc.Close()
		svc = app.New(app.Options{DB: gdb, Temporal: tc, Logger: log})
	}

	opt := domain.ImportOptions{FullSnapshot: *full, FileSHA256: parsed.SHA256, Format: parsed.Format, Logger: log, DryRun: *dryRun}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		bar := progressbar.NewOptions(len(parsed.Result.Rows),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("importing "+filepath.Base(file)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100_000_000),
			progressbar.OptionClearOnFinish(),
		)
		opt.Progress = func(done, _ int) { _ = bar.Set(done) }
		defer func() { _ = bar.Finish() }()
	}
	rep, err := svc.Import(ctx, &adm, parsed.Result, opt)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if strings.EqualFold(filepath.Ext(*report), ".csv") {
		if err := domain.WriteReportCSV(&out, rep); err != nil {
			return err
		}
	} else {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode import report: %w", err)
		}
		out.Write(append(b, '\n'))
	}
	if *report != "" {
		if err := os.WriteFile(*report, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write import report: %w", err)
		}
	} else {
		_, _ = os.Stdout.Write(out.Bytes())
	}
	what := fmt.Sprintf("import %d", rep.ImportID)
	started := fmt.Sprintf("%d journeys started", rep.JourneysStarted)
	if rep.DryRun {
		what, started = "dry run (nothing written)", fmt.Sprintf("%d journeys would start", rep.JourneysToStart)
	}
	fmt.Fprintf(os.Stderr, "%s: %d rows; invoices %d created, %d updated, %d unchanged, %d rejected, %d kept at the open amount recorded in Relance; customers %d created, %d updated, %d skipped; %d warnings, %d ignored columns; %s\n",
		what, rep.Rows, rep.Invoices.Created, rep.Invoices.Updated, rep.Invoices.Unchanged, rep.Invoices.Rejected, rep.Invoices.KeptRelancePayment,
		rep.Customers.Created, rep.Customers.Updated, rep.Customers.Skipped, len(rep.Warnings), len(rep.Ignored), started)
	return nil
}
