package main

import (
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
	"github.com/relance/relance/models"
)

// runImport is `relance import FILE --administration ID`: the same import as
// the API's, from a file on disk, with a progress bar on a terminal.
func runImport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	admID := fs.Int64("administration", 0, "administration ID")
	full := fs.Bool("full-snapshot", false, "the file lists every open invoice: open invoices absent from it are closed as paid")
	format := fs.String("format", "", "csv or json (default: from the file name, then its content)")
	report := fs.String("report", "", "write the JSON report to this file (default: standard output)")
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
		return errors.New("usage: relance import FILE --administration ID [--full-snapshot] [--format csv|json] [--report FILE]")
	}
	if *format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".json":
			*format = app.FormatJSON
		case ".csv", ".txt":
			*format = app.FormatCSV
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open import file: %w", err)
	}
	defer f.Close()
	data, err := app.ReadLimited(f, cfg.MaxImportBytes)
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
	parsed, err := app.ParseFile(data, *format, &adm)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	opt := app.ImportOptions{FullSnapshot: *full, FileSHA256: parsed.SHA256, Format: parsed.Format, Logger: log}
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
	rep, err := app.New(app.Options{DB: gdb, Temporal: tc, Logger: log}).Import(ctx, &adm, parsed.Result, opt)
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode import report: %w", err)
	}
	if *report != "" {
		if err := os.WriteFile(*report, append(out, '\n'), 0o644); err != nil {
			return fmt.Errorf("write import report: %w", err)
		}
	} else {
		fmt.Fprintln(os.Stdout, string(out))
	}
	fmt.Fprintf(os.Stderr, "import %d: %d rows; invoices %d created, %d updated, %d unchanged, %d rejected; customers %d created, %d updated, %d skipped; %d journeys started\n",
		rep.ImportID, rep.Rows, rep.Invoices.Created, rep.Invoices.Updated, rep.Invoices.Unchanged, rep.Invoices.Rejected,
		rep.Customers.Created, rep.Customers.Updated, rep.Customers.Skipped, rep.JourneysStarted)
	return nil
}
