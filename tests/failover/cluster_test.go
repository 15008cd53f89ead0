package failover

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBinGlob is where Debian and Ubuntu install PostgreSQL's server binaries
// (not on PATH there); .ci/run installs the postgresql package.
const pgBinGlob = "/usr/lib/postgresql/*/bin"

// pgTools are the server binaries the harness runs.
var pgTools = []string{"initdb", "pg_ctl", "pg_basebackup", "postgres"}

// findPGBin returns the directory holding every tool of pgTools: the newest
// version under pgBinGlob, else the directory of initdb on PATH.
func findPGBin() (string, error) {
	dirs, _ := filepath.Glob(pgBinGlob)
	version := func(dir string) int { // .../postgresql/15/bin -> 15
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if hasTools(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (%s) under %s or on PATH: install PostgreSQL (apt-get install postgresql)",
		strings.Join(pgTools, ", "), pgBinGlob)
}

func hasTools(dir string) bool {
	for _, tool := range pgTools {
		fi, err := os.Stat(filepath.Join(dir, tool))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// standbyName is the standby's application_name, which the primary's
// synchronous_standby_names names.
const standbyName = "standby1"

// node is one PostgreSQL server of the cluster.
type node struct {
	name string
	data string // its data directory
	log  string // its server log
	port int
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// adminURL is a connection to the node's maintenance database.
func (n *node) adminURL() string {
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&connect_timeout=5", n.addr())
}

// cluster is a primary and its synchronous standby in a temporary directory,
// on free loopback ports, trust authentication, made and driven with
// PostgreSQL's own tools. When the test runs as root (initdb refuses root),
// the directory belongs to, and the tools run as, the postgres OS user.
type cluster struct {
	t                *testing.T
	bin              string
	root             string
	cred             *syscall.Credential
	primary, standby *node
}

// newCluster makes and starts the primary, sets its synchronous standby
// (synchronous_commit=on, synchronous_standby_names naming it), makes the
// standby with pg_basebackup -R, starts it and waits until the primary
// reports it as its synchronous standby. Both servers are stopped and the
// directory removed when the test ends.
func newCluster(t *testing.T, bin string) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("initdb refuses to run as root and there is no postgres OS user")
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir(): its parent is private to the test's user, and the
	// servers run as postgres.
	root, err := os.MkdirTemp("", "enduser-failover-")
	if err != nil {
		t.Fatal(err)
	}
	c.root = root
	t.Cleanup(c.destroy)
	if c.cred != nil {
		if err := os.Chown(root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	c.primary = &node{name: "primary", data: filepath.Join(root, "primary"), log: filepath.Join(root, "primary.log")}
	c.standby = &node{name: "standby", data: filepath.Join(root, "standby"), log: filepath.Join(root, "standby.log")}

	c.mustRun("initdb", "-D", c.primary.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	// fsync off: the test kills servers, never the machine, so the page cache
	// survives; every other setting is what the promise needs.
	c.start(c.primary, `
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
shared_buffers = 16MB
max_connections = 60
wal_level = replica
max_wal_senders = 4
hot_standby = on
synchronous_commit = on
`)
	// In postgresql.auto.conf (ALTER SYSTEM), as Patroni keeps it: the
	// standby's copy of this file carries it too, so its promotion must reset
	// it, or every commit there would wait for a standby that never comes.
	c.exec(c.primary, "ALTER SYSTEM SET synchronous_standby_names = '"+standbyName+"'")
	c.exec(c.primary, "SELECT pg_reload_conf()")

	// The standby: a base backup of the primary, -R writing standby.signal and
	// primary_conninfo (with the application_name the primary waits for).
	c.mustRun("pg_basebackup", "-d", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", c.primary.port, standbyName),
		"-D", c.standby.data, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	c.start(c.standby, "")
	c.waitSync()
	return c
}

// start writes n's settings (conf, then a fresh port) at the end of its
// postgresql.conf, where a later setting wins, and starts it; a port taken
// between the choice and the bind is tried again with another.
func (c *cluster) start(n *node, conf string) {
	c.t.Helper()
	for attempt := 1; ; attempt++ {
		port, err := freeLoopbackPort()
		if err != nil {
			c.t.Fatal(err)
		}
		n.port = port
		c.appendConf(n, fmt.Sprintf("%s\nport = %d\n", conf, port))
		out, err := c.run("pg_ctl", "-D", n.data, "-l", n.log, "-w", "-t", "60", "start")
		if err == nil {
			return
		}
		_, _ = c.run("pg_ctl", "-D", n.data, "-m", "immediate", "-w", "stop") // a half-started one
		if attempt == 3 {
			log, _ := os.ReadFile(n.log)
			c.t.Fatalf("pg_ctl start %s: %v: %s\n%s", n.name, err, out, log)
		}
	}
}

func (c *cluster) appendConf(n *node, text string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(n.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("\n# tests/failover\n" + text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// waitSync waits until the primary names the standby its synchronous one.
func (c *cluster) waitSync() {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var state string
		err := c.query(c.primary, "SELECT coalesce(max(sync_state), '') FROM pg_stat_replication WHERE application_name = '"+standbyName+"'", &state)
		if err == nil && state == "sync" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the standby is not the primary's synchronous standby after 60s (sync_state %q, %v)", state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// killPrimary stops the primary as a crash would: pg_ctl stop -m immediate
// (the postmaster SIGQUITs every backend, no checkpoint, no goodbye to the
// clients). It returns once the server is gone.
func (c *cluster) killPrimary() {
	c.t.Helper()
	c.mustRun("pg_ctl", "-D", c.primary.data, "-m", "immediate", "-w", "-t", "60", "stop")
}

// promote makes the standby the primary as Patroni does: first its
// synchronous_standby_names is reset (it has no standby of its own, and a
// primary that names one waits for it at every commit), then pg_ctl promote,
// which returns once the server accepts writes. It returns when pg_ctl
// promote was issued and when it returned.
func (c *cluster) promote() (issued, done time.Time) {
	c.t.Helper()
	c.exec(c.standby, "ALTER SYSTEM RESET synchronous_standby_names")
	c.exec(c.standby, "SELECT pg_reload_conf()")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var names string
		if err := c.query(c.standby, "SHOW synchronous_standby_names", &names); err == nil && names == "" {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatal("the standby still names a synchronous standby 30s after the reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	issued = time.Now()
	c.mustRun("pg_ctl", "-D", c.standby.data, "-w", "-t", "60", "promote")
	done = time.Now()
	var inRecovery bool
	if err := c.query(c.standby, "SELECT pg_is_in_recovery()", &inRecovery); err != nil || inRecovery {
		c.t.Fatalf("the standby is still in recovery after pg_ctl promote (%v)", err)
	}
	return issued, done
}

// inRecovery reports whether n answers and is a standby.
func (c *cluster) inRecovery(n *node) (bool, error) {
	var r bool
	err := c.query(n, "SELECT pg_is_in_recovery()", &r)
	return r, err
}

// exec runs one statement on n's maintenance database.
func (c *cluster) exec(n *node, sql string) {
	c.t.Helper()
	if err := c.query(n, sql, nil); err != nil {
		c.t.Fatalf("%s on %s: %v", sql, n.name, err)
	}
}

// query runs sql on n and scans its one row into dest (none when dest is nil).
func (c *cluster) query(n *node, sql string, dest any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return queryURL(ctx, n.adminURL(), sql, dest)
}

func queryURL(ctx context.Context, url, sql string, dest any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if dest == nil {
		_, err = conn.Exec(ctx, sql)
		return err
	}
	return conn.QueryRow(ctx, sql).Scan(dest)
}

// destroy stops both servers (immediately: their data dies with them) and
// removes the directory.
func (c *cluster) destroy() {
	for _, n := range []*node{c.primary, c.standby} {
		if n != nil {
			if _, err := os.Stat(filepath.Join(n.data, "postmaster.pid")); err == nil {
				_, _ = c.run("pg_ctl", "-D", n.data, "-m", "immediate", "-w", "-t", "60", "stop")
			}
		}
	}
	if err := os.RemoveAll(c.root); err != nil {
		c.t.Errorf("remove the cluster's directory: %v", err)
	}
}

func (c *cluster) mustRun(tool string, args ...string) {
	c.t.Helper()
	if out, err := c.run(tool, args...); err != nil {
		c.t.Fatalf("%s %s: %v: %s", tool, strings.Join(args, " "), err, out)
	}
}

// run runs a PostgreSQL tool as the cluster's owner, in a process group of
// its own (so that a Ctrl-C at the terminal reaches the test only, whose
// cleanup stops the servers).
func (c *cluster) run(tool string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, tool), args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+c.root) // not root's home (pg_basebackup -R names its .pgpass)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}
