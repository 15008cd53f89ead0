// Package failover holds the failover component test: a PostgreSQL primary
// with a synchronous standby made with PostgreSQL's own tools (initdb,
// pg_basebackup -R, synchronous_standby_names, pg_ctl stop -m immediate,
// pg_ctl promote), the real `enduser serve` binary configured with both hosts
// (target_session_attrs=read-write), and a few clients that log in and
// refresh before, during and after the primary dies and the standby is
// promoted. See docs/operations-failover.md and scripts/failover.sh.
//
// The package has no code of its own outside its test.
package failover
