package failover

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildEnduser builds the module's binary into a test directory: the test
// drives `enduser serve` and the CLI as an operator does, as processes.
func buildEnduser(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its GOROOT/bin first on PATH
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "enduser")
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/iotplatform/enduser-auth/cmd/enduser")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/enduser: %v: %s", err, b)
	}
	return out
}

// environ is os.Environ without its ENDUSER_ variables (a developer's
// settings stay out of the processes), with vars set over it.
func environ(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENDUSER_") {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// cli runs one enduser command line and fails the test when it fails.
func cli(t *testing.T, bin string, vars map[string]string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ(vars)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("enduser %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// serveProc is a running `enduser serve`.
type serveProc struct {
	cmd   *exec.Cmd
	url   string // the public listener
	admin string // the admin listener (/readyz)
	logs  *syncBuffer
	done  chan error
	once  sync.Once
}

var (
	servingRE = regexp.MustCompile(`serving on (http://\S+)`)
	adminRE   = regexp.MustCompile(`admin listener on (http://\S+)`)
)

// startServe starts `enduser serve` on loopback ports it chooses and waits
// for the addresses it announces on stdout. SIGTERM stops it at the end of
// the test.
func startServe(t *testing.T, bin string, vars map[string]string) *serveProc {
	t.Helper()
	p := &serveProc{logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = environ(vars)
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	announced := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.logs.Write([]byte(line + "\n"))
			if m := servingRE.FindStringSubmatch(line); m != nil {
				p.url = m[1]
			}
			if m := adminRE.FindStringSubmatch(line); m != nil {
				p.admin = m[1]
			}
			if !closed && p.url != "" && p.admin != "" {
				closed = true
				close(announced)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case <-announced:
	case <-time.After(90 * time.Second):
		t.Fatalf("enduser serve did not announce its listeners within 90s: %s", p.logs.String())
	}
	return p
}

// stop sends SIGTERM and waits for the process (killing it after 30 s);
// only the first call does.
func (p *serveProc) stop(t *testing.T) {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("enduser serve exited with %v: %s", err, tail(p.logs.String(), 20))
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("enduser serve did not stop within 30s of SIGTERM")
		}
	})
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// countLines counts the lines of s that contain substr.
func countLines(s, substr string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
