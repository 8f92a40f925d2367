package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/db"
)

const orgUsage = "usage: relance org create --name NAME [--key-name NAME]"

// runOrg is the operator's command that creates a tenant: everything below
// it (administrations, customers, more keys) is then created through the API
// with the key it prints (docs/domain.md §1.1).
func runOrg(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	var name, keyName string
	if err := subcommand(args, "org", "create", orgUsage, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "the organization's name")
		fs.StringVar(&keyName, "key-name", "first key", "a name to recognise its first API key by")
	}); err != nil {
		return err
	}
	if name == "" {
		return errors.New(orgUsage)
	}
	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	org, key, err := app.New(app.Options{DB: gdb, Logger: log}).CreateOrganization(ctx, name, keyName)
	if err != nil {
		return err
	}
	// Shell-friendly: eval "$(relance org create --name X)" sets both.
	_, err = fmt.Fprintf(out, "organization_id=%d\napi_key=%s\n", org.ID, key)
	return err
}
