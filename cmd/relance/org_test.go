package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/db"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

var orgOutput = regexp.MustCompile(`^organization_id=(\d+)\napi_key=(rl_[0-9a-f]{12}_[0-9a-f]{48})\n$`)

// TestOrgCreateCommand: `relance org create` makes a tenant whose printed key
// then creates administrations and customers through the API, and sees
// nothing of another tenant's (PostgreSQL and SQLite).
func TestOrgCreateCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (*gorm.DB, string)
	}{
		{"postgres", func(t *testing.T) (*gorm.DB, string) { return testkit.PostgresWithURL(t) }},
		{"sqlite", func(t *testing.T) (*gorm.DB, string) {
			url := "sqlite://" + filepath.Join(t.TempDir(), "relance.db")
			gdb, err := db.Open(context.Background(), url)
			require.NoError(t, err)
			require.NoError(t, db.Migrate(gdb))
			t.Cleanup(func() { _ = db.Close(gdb) })
			return gdb, url
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gdb, url := tc.open(t)
			cfg, err := config.Load()
			require.NoError(t, err)
			cfg.DatabaseURL = url
			log := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			create := func(args ...string) (int64, string) {
				var out bytes.Buffer
				require.NoError(t, runOrg(ctx, cfg, log, append([]string{"create"}, args...), &out))
				m := orgOutput.FindStringSubmatch(out.String())
				require.NotNil(t, m, out.String())
				id, err := strconv.ParseInt(m[1], 10, 64)
				require.NoError(t, err)
				return id, m[2]
			}
			orgA, keyA := create("--name", "Brouwerij Zuid", "--key-name", "ops")
			_, keyB := create("--name", "Other")
			var org models.Organization
			require.NoError(t, gdb.First(&org, orgA).Error)
			require.Equal(t, "Brouwerij Zuid", org.Name)
			var key models.APIKey
			require.NoError(t, gdb.Where("organization_id = ?", orgA).First(&key).Error)
			require.Equal(t, "ops", key.Name)
			require.NotContains(t, key.Hash, keyA, "only a hash is stored")

			// Bad usage creates nothing.
			var n int64
			require.NoError(t, gdb.Model(&models.Organization{}).Count(&n).Error)
			for _, args := range [][]string{nil, {"delete"}, {"create"}, {"create", "--name", " "}, {"create", "--name", "A\nB"}, {"create", "--nom", "X"}} {
				require.Error(t, runOrg(ctx, cfg, log, args, io.Discard), "%q", args)
			}
			var after int64
			require.NoError(t, gdb.Model(&models.Organization{}).Count(&after).Error)
			require.Equal(t, n, after)

			srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb}), Inbound: inbound.NewRecorder(gdb, nil), Config: config.Config{MaxBodyBytes: 8192}}))
			defer srv.Close()
			call := func(method, path, key, body string) int {
				req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+key)
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_ = res.Body.Close()
				return res.StatusCode
			}
			require.Equal(t, http.StatusCreated, call("POST", "/api/v1/administrations", keyA, `{"name":"Zuid","country":"BE"}`))
			var adm models.Administration
			require.NoError(t, gdb.Where("organization_id = ?", orgA).First(&adm).Error)
			custs := fmt.Sprintf("/api/v1/administrations/%d/customers", adm.ID)
			require.Equal(t, http.StatusCreated, call("POST", custs, keyA, `{"external_ref":"D-1","name":"Café Noord"}`))
			require.Equal(t, http.StatusNotFound, call("POST", custs, keyB, `{"external_ref":"D-2","name":"Intruder"}`))
			require.Equal(t, http.StatusNotFound, call("PATCH", fmt.Sprintf("/api/v1/administrations/%d", adm.ID), keyB, `{"name":"Mine"}`))
		})
	}
}
