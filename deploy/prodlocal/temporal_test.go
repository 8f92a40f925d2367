package prodlocal

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestParsePostgres(t *testing.T) {
	p, err := ParsePostgres("postgres://app:s3cret@db.internal:6543/whatever?sslmode=require")
	require.NoError(t, err)
	require.Equal(t, Postgres{Host: "db.internal", Port: 6543, User: "app", Password: "s3cret", Query: "sslmode=require"}, p)
	require.Equal(t, "postgres://app:s3cret@db.internal:6543/relance_temporal?sslmode=require", p.URL("relance_temporal"))

	p, err = ParsePostgres("postgres://127.0.0.1/postgres")
	require.NoError(t, err)
	require.Equal(t, Postgres{Host: "127.0.0.1", Port: 5432, User: "postgres"}, p)

	for _, bad := range []string{"sqlite://x.db", "postgres://h:notaport/x", "://"} {
		_, err := ParsePostgres(bad)
		require.Error(t, err, bad)
	}
}

// TestFreePortsFitTheMembershipColumn: the server stores membership ports
// in a smallint; an ephemeral port above 32767 stops it at start.
func TestFreePortsFitTheMembershipColumn(t *testing.T) {
	ports, err := FreePorts(0)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range []int{ports.Frontend, ports.FrontendHTTP, ports.FrontendMembership, ports.History, ports.HistoryMembership,
		ports.Matching, ports.MatchingMembership, ports.Worker, ports.WorkerMembership, ports.Metrics} {
		require.Less(t, p, 32768)
		require.GreaterOrEqual(t, p, 20000)
		require.False(t, seen[p], "port %d picked twice", p)
		seen[p] = true
	}
	fixed, err := FreePorts(7433)
	require.NoError(t, err)
	require.Equal(t, 7433, fixed.Frontend)
	require.Equal(t, 7442, fixed.Metrics)
}

// TestWriteConfig renders the template into YAML naming the databases,
// the server and the ports given.
func TestWriteConfig(t *testing.T) {
	tm := &Temporal{PG: Postgres{Host: "127.0.0.1", Port: 5432, User: "postgres"}, DB: "t_db", VisibilityDB: "t_vis",
		Dir: t.TempDir(), Ports: Ports{Frontend: 21001, FrontendHTTP: 21002, FrontendMembership: 21003, History: 21004,
			HistoryMembership: 21005, Matching: 21006, MatchingMembership: 21007, Worker: 21008, WorkerMembership: 21009, Metrics: 21010}}
	path, err := tm.WriteConfig()
	require.NoError(t, err)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var cfg struct {
		Persistence struct {
			NumHistoryShards int `yaml:"numHistoryShards"`
			Datastores       map[string]struct {
				SQL struct {
					DatabaseName string `yaml:"databaseName"`
					ConnectAddr  string `yaml:"connectAddr"`
					MaxConns     int    `yaml:"maxConns"`
				} `yaml:"sql"`
			} `yaml:"datastores"`
		} `yaml:"persistence"`
		Services map[string]struct {
			RPC struct {
				GRPCPort       int `yaml:"grpcPort"`
				MembershipPort int `yaml:"membershipPort"`
			} `yaml:"rpc"`
		} `yaml:"services"`
		DynamicConfigClient struct {
			Filepath string `yaml:"filepath"`
		} `yaml:"dynamicConfigClient"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg), string(raw))
	require.Equal(t, 4, cfg.Persistence.NumHistoryShards)
	require.Equal(t, "t_db", cfg.Persistence.Datastores["postgres-default"].SQL.DatabaseName)
	require.Equal(t, "t_vis", cfg.Persistence.Datastores["postgres-visibility"].SQL.DatabaseName)
	require.Equal(t, "127.0.0.1:5432", cfg.Persistence.Datastores["postgres-default"].SQL.ConnectAddr)
	require.Equal(t, 20, cfg.Persistence.Datastores["postgres-default"].SQL.MaxConns)
	require.Equal(t, 21001, cfg.Services["frontend"].RPC.GRPCPort)
	require.Equal(t, 21009, cfg.Services["worker"].RPC.MembershipPort)
	require.True(t, strings.HasPrefix(cfg.DynamicConfigClient.Filepath, tm.Dir))
	dyn, err := os.ReadFile(cfg.DynamicConfigClient.Filepath)
	require.NoError(t, err)
	var dc map[string]any
	require.NoError(t, yaml.Unmarshal(dyn, &dc))
	require.Contains(t, dc, "matching.numTaskqueueReadPartitions")
}
