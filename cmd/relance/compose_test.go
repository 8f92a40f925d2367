package main

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/config"
	"github.com/relance/relance/worker"
)

// No Docker engine runs on the build machines, so docker-compose.yml is
// checked here as far as can be done without one: it loads through the
// compose-spec loader (the JSON schema and the consistency checks Docker
// Compose runs), and it agrees with the code it deploys.

func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	data, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  "../..",
		ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: data}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("relance", true) })
}

func TestComposeFile(t *testing.T) {
	p, err := loadCompose(t, map[string]string{"RELANCE_PORTAL_SECRET": strings.Repeat("s", 32)})
	require.NoError(t, err)

	for _, name := range []string{"postgres", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "migrate", "api", "worker"} {
		require.Contains(t, p.Services, name)
	}

	// Long-running services have health checks; one-shot jobs do not restart.
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "api", "worker"} {
		s := p.Services[name]
		require.NotNil(t, s.HealthCheck, "%s needs a health check", name)
		require.NotEmpty(t, s.HealthCheck.Test, name)
		require.Equal(t, "unless-stopped", s.Restart, name)
	}
	for _, name := range []string{"temporal-schema", "temporal-setup", "migrate"} {
		require.Equal(t, "no", p.Services[name].Restart, name)
	}

	// Start order: the app waits for its schema and for the search attributes.
	for _, name := range []string{"api", "worker"} {
		deps := p.Services[name].DependsOn
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, deps["migrate"].Condition, name)
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, deps["temporal-setup"].Condition, name)
	}
	require.Equal(t, types.ServiceConditionHealthy, p.Services["temporal-setup"].DependsOn["temporal"].Condition)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, p.Services["temporal"].DependsOn["temporal-schema"].Condition)

	// Images are pinned; the app image is built from this repository.
	for name, s := range p.Services {
		require.NotEmpty(t, s.Image, name)
		require.NotContains(t, s.Image, ":latest", name)
		if !strings.HasPrefix(s.Image, "relance:") {
			require.Regexp(t, `:[0-9]`, s.Image, "%s: pin a version", name)
		}
	}
	require.NotNil(t, p.Services["migrate"].Build)
	df, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	require.Contains(t, string(df), "CGO_ENABLED=0 go build")
	require.Contains(t, string(df), "./cmd/relance")

	// Commands are relance subcommands; health checks call existing ones.
	known := []string{"api", "worker", "migrate", "healthcheck", "temporal"}
	for _, name := range []string{"migrate", "api", "worker", "temporal-setup"} {
		s := p.Services[name]
		require.NotEmpty(t, s.Command, name)
		require.Contains(t, known, s.Command[0], name)
	}
	require.Equal(t, "healthcheck", p.Services["api"].HealthCheck.Test[2])
	require.Equal(t, "http://127.0.0.1:8081/readyz", p.Services["worker"].HealthCheck.Test[3])
	require.Equal(t, "0.0.0.0:8081", *p.Services["worker"].Environment["RELANCE_WORKER_LISTEN"])

	// Every variable given to relance is one the configuration reads (a
	// typo would silently fall back to a default), and the result is valid.
	names := configEnvNames(reflect.TypeOf(config.Config{}), "")
	for _, name := range []string{"migrate", "api", "worker", "temporal-setup"} {
		env := map[string]string{}
		for k, v := range p.Services[name].Environment {
			require.Contains(t, names, k, "%s: %s is not a configuration variable", name, k)
			require.NotNil(t, v, k)
			env[k] = *v
		}
		for k, v := range env {
			t.Setenv(k, v)
		}
		cfg, err := config.Load()
		require.NoError(t, err, name)
		require.Equal(t, "temporal:7233", cfg.Temporal.Address)
		require.True(t, strings.HasPrefix(cfg.DatabaseURL, "postgres://"), name)
		require.Equal(t, "/var/lib/relance/letters", cfg.Letters.Dir)
	}
	require.Equal(t, "0.0.0.0:8080", *p.Services["api"].Environment["RELANCE_LISTEN"])
	grace := p.Services["worker"].StopGracePeriod
	require.NotNil(t, grace)
	require.Greater(t, time.Duration(*grace), worker.DefaultStopTimeout, "compose must let a send in flight finish")

	// The setup job is `relance temporal setup` (TestTemporalSetup shows it
	// registers exactly workflows.SearchAttributes(), typed, and checks them).
	require.Equal(t, types.ShellCommand{"temporal", "setup"}, p.Services["temporal-setup"].Command)

	// Temporal's schema job migrates both databases from the image's schemas.
	schema := strings.Join(p.Services["temporal-schema"].Command, "\n")
	require.Contains(t, schema, "temporal temporal_visibility")
	require.Contains(t, schema, "/etc/temporal/schema/postgresql/v12/")
	require.Equal(t, "postgres12", *p.Services["temporal-schema"].Environment["SQL_PLUGIN"])
	require.Equal(t, "postgres12", *p.Services["temporal"].Environment["DB"])
	_, err = os.Stat("../../deploy/temporal/dynamicconfig.yaml")
	require.NoError(t, err)
}

// TestComposeNeedsPortalSecret: production must not start with the dev
// secret that signs portal links.
func TestComposeNeedsPortalSecret(t *testing.T) {
	_, err := loadCompose(t, map[string]string{})
	require.ErrorContains(t, err, "RELANCE_PORTAL_SECRET")
}

// configEnvNames lists the environment variables config.Config reads.
func configEnvNames(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		if p, ok := f.Tag.Lookup("envPrefix"); ok {
			out = append(out, configEnvNames(f.Type, prefix+p)...)
			continue
		}
		if name := strings.Split(f.Tag.Get("env"), ",")[0]; name != "" {
			out = append(out, prefix+name)
		}
	}
	slices.Sort(out)
	return out
}
