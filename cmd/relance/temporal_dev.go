package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/relance/relance/workflows"
)

// devTemporal is the Temporal CLI dev server `relance dev` runs, with its Web
// UI and Relance's search attributes, persisted under the data folder.
type devTemporal struct {
	cmd  *exec.Cmd
	done chan error
}

func startDevTemporal(ctx context.Context, cli, dataDir, hostPort string, uiPort int, logOut io.Writer) (*devTemporal, error) {
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("the Temporal CLI is not at %s (make run installs it into bin/): %w", cli, err)
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, fmt.Errorf("temporal address %q: %w", hostPort, err)
	}
	if err := checkFree(hostPort); err != nil {
		return nil, err
	}
	if err := checkFree(fmt.Sprintf("%s:%d", host, uiPort)); err != nil {
		return nil, err
	}
	args := []string{"server", "start-dev",
		"--ip", host, "--port", port, "--ui-port", fmt.Sprint(uiPort),
		"--db-filename", filepath.Join(dataDir, "temporal.db"),
		"--namespace", "default", "--log-level", "warn",
	}
	args = append(args, workflows.DevServerArgs()...)
	for sa := range workflows.SearchAttributes().GetUntypedValues() {
		args = append(args, "--search-attribute", sa.GetName()+"="+sa.GetValueType().String())
	}
	cmd := exec.Command(cli, args...)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	// Its own process group: Ctrl-C reaches relance, which stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal dev server: %w", err)
	}
	t := &devTemporal{cmd: cmd, done: make(chan error, 1)}
	go func() { t.done <- cmd.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-t.done:
			return nil, fmt.Errorf("the Temporal dev server exited before it was ready (%v)", err)
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		default:
		}
		c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "default", Logger: quietLogger{}})
		if err == nil {
			_, herr := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if herr == nil {
				return t, nil
			}
		}
		if time.Now().After(deadline) {
			t.Stop()
			return nil, fmt.Errorf("the Temporal dev server did not become ready in 60s")
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Stop ends the server gracefully, then kills it after 10 s.
func (t *devTemporal) Stop() {
	if t == nil || t.cmd.Process == nil {
		return
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
	}
}

func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("address %s is in use (another `relance dev`?): %w", addr, err)
	}
	return ln.Close()
}

// quietLogger silences the SDK while polling for readiness.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
