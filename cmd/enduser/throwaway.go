package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// devDefaultAddr is where `enduser dev` looks for a PostgreSQL server when no
// database URL is configured (the host and port of devDatabaseURL).
const devDefaultAddr = "127.0.0.1:5432"

// pgBinGlob is where Debian and Ubuntu install PostgreSQL's server binaries
// (they are not on PATH there).
const pgBinGlob = "/usr/lib/postgresql/*/bin"

// pgBins are the server binaries a throwaway cluster needs.
type pgBins struct{ initdb, pgCtl string }

// findPGBins finds initdb and pg_ctl: on PATH first, else in the newest
// version under pgBinGlob.
func findPGBins(lookPath func(string) (string, error), glob string) (pgBins, error) {
	if i, err := lookPath("initdb"); err == nil {
		if c, err := lookPath("pg_ctl"); err == nil {
			return pgBins{initdb: i, pgCtl: c}, nil
		}
	}
	dirs, _ := filepath.Glob(glob)
	version := func(dir string) int { // .../postgresql/15/bin -> 15
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		b := pgBins{initdb: filepath.Join(d, "initdb"), pgCtl: filepath.Join(d, "pg_ctl")}
		if isExecutable(b.initdb) && isExecutable(b.pgCtl) {
			return b, nil
		}
	}
	return pgBins{}, errors.New("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under " + glob)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// answers reports whether something accepts TCP connections at addr.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// devDatabase is the database `enduser dev` uses: a URL, or (throwaway) a
// cluster of its own to start.
type devDatabase struct {
	url       string
	throwaway bool
	bins      pgBins
	why       string // why a throwaway cluster, for the banner
}

// chooseDevDatabase decides where `enduser dev` keeps its data. A configured
// URL is used as it is (and stays an error if it does not answer); with none,
// the server at the default address when it answers, else a throwaway cluster
// when the server binaries are installed, else a one-line error that says what
// to do.
func chooseDevDatabase(throwawayFlag bool, configuredURL string, answers func(addr string) bool, find func() (pgBins, error)) (devDatabase, error) {
	if throwawayFlag {
		b, err := find()
		if err != nil {
			return devDatabase{}, fmt.Errorf("--throwaway-db: %w: install PostgreSQL's server package (apt-get install postgresql)", err)
		}
		return devDatabase{throwaway: true, bins: b, why: "--throwaway-db"}, nil
	}
	if configuredURL != "" {
		return devDatabase{url: configuredURL}, nil
	}
	if answers(devDefaultAddr) {
		return devDatabase{url: devDatabaseURL}, nil
	}
	b, err := find()
	if err != nil {
		return devDatabase{}, fmt.Errorf("no PostgreSQL answers at %s and %w: install PostgreSQL (apt-get install postgresql) or set ENDUSER_DATABASE_URL to a server that answers", devDefaultAddr, err)
	}
	return devDatabase{throwaway: true, bins: b, why: "nothing answers at " + devDefaultAddr}, nil
}

// throwawayCluster is a PostgreSQL cluster in a temporary directory, on a
// loopback port, trust authentication, for `enduser dev` only.
type throwawayCluster struct {
	bins pgBins
	dir  string // the temporary directory; data/ and postgres.log inside
	port int
	cred *syscall.Credential // the postgres OS user's, when run as root
	URL  string
}

// startThrowawayCluster runs initdb and pg_ctl start. When run as root (which
// initdb refuses) the directory belongs to, and the binaries run as, the
// postgres OS user. On error nothing is left behind.
func startThrowawayCluster(b pgBins) (_ *throwawayCluster, err error) {
	c := &throwawayCluster{bins: b}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("throwaway database: initdb refuses to run as root and there is no postgres OS user: run enduser dev as an ordinary user, or set ENDUSER_DATABASE_URL")
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if c.dir, err = os.MkdirTemp("", "enduser-dev-pg-"); err != nil {
		return nil, fmt.Errorf("throwaway database: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(c.dir)
		}
	}()
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return nil, fmt.Errorf("throwaway database: %w", err)
		}
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.run(b.initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		return nil, fmt.Errorf("throwaway database: initdb: %w: %s", err, lastLine(out))
	}
	// Several tries: the free port found can be taken before postgres binds it.
	for attempt := 0; ; attempt++ {
		if c.port, err = freeLoopbackPort(); err != nil {
			return nil, fmt.Errorf("throwaway database: %w", err)
		}
		if err = c.writeConf(data); err != nil {
			return nil, fmt.Errorf("throwaway database: %w", err)
		}
		out, startErr := c.run(b.pgCtl, "-D", data, "-l", filepath.Join(c.dir, "postgres.log"), "-w", "-t", "60", "start")
		if startErr == nil {
			break
		}
		_, _ = c.run(b.pgCtl, "-D", data, "-m", "immediate", "-w", "stop") // a half-started one
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
			return nil, fmt.Errorf("throwaway database: pg_ctl start: %w: %s", startErr, lastLine(append(out, log...)))
		}
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/enduser_dev?sslmode=disable", c.port)
	return c, nil
}

// writeConf sets the cluster's listen address and port, no Unix socket (its
// path could exceed the limit in a deep temporary directory) and no
// durability (the data dies with the cluster). A later setting wins in
// postgresql.conf, so appending on a retry is enough.
func (c *throwawayCluster) writeConf(data string) error {
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0) //nolint:gosec // G304: the cluster's own postgresql.conf, in the directory initdb just made
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n# enduser dev --throwaway-db\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = ''\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n", c.port)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stop stops the cluster (fast: clients are disconnected) and removes its
// directory.
func (c *throwawayCluster) Stop() error {
	out, err := c.run(c.bins.pgCtl, "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "-t", "30", "stop")
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %w: %s", err, lastLine(out))
	}
	if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// run runs a PostgreSQL binary as the cluster's owner, in a process group of
// its own: the postmaster that pg_ctl starts stays in that group, so a Ctrl-C
// at the terminal reaches enduser only, which then stops the cluster in order.
func (c *throwawayCluster) run(bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...) //nolint:gosec // G204: bin is initdb or pg_ctl as found on PATH or under /usr/lib/postgresql
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
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

// lastLine is the last non-blank line of a tool's output, for a one-line error.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// stopThrowaway is dev's deferred cleanup; it reports on w.
func stopThrowaway(c *throwawayCluster, w io.Writer) {
	if err := c.Stop(); err != nil {
		fmt.Fprintf(w, "enduser dev: throwaway database in %s: %v\n", c.dir, err)
		return
	}
	fmt.Fprintf(w, "enduser dev: throwaway database stopped and %s removed\n", c.dir)
}
