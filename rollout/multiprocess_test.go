package rollout_test

// The multi-process fleet test: THREE OS processes (re-executions of this test binary) share one SQL
// store (MariaDB, then PostgreSQL) and one wxtest emulator on loopback. The parent plays WeChat
// (emulator clock, reviewers: 5% of audits rejected, 1% of pushes dropped), receives the pushes and
// feeds them into the store, and starts the rollout with the audit quota at a fifth of the fleet.
// Mid-run it SIGKILLs one child and starts a new one. The children share nothing with the parent but
// their environment: the emulator URL, the component config, the DSN and the table prefixes (the
// credentials, verify ticket and refresh tokens, are in the same database).
//
// ROLLOUT_FLEET_N sets the fleet size (default 300; the BENCHMARKS.md figure is 10,000 without -race).

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/rollout/sqlstore"
	credsql "github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

const (
	envChild    = "WXOPEN_ROLLOUT_CHILD" // the child's instance name; switches TestFleetChild on
	envBackend  = "WXOPEN_ROLLOUT_BACKEND"
	envEmulator = "WXOPEN_ROLLOUT_EMULATOR"
	envPrefix   = "WXOPEN_ROLLOUT_PREFIX"
	envTemplate = "WXOPEN_ROLLOUT_TEMPLATE"
	envAppID    = "WXOPEN_ROLLOUT_APPID"
	envSecret   = "WXOPEN_ROLLOUT_SECRET"
	envToken    = "WXOPEN_ROLLOUT_TOKEN"
	envAESKey   = "WXOPEN_ROLLOUT_AESKEY"
	childLease  = 3 * time.Second
)

func fleetSize() int {
	if n, err := strconv.Atoi(os.Getenv("ROLLOUT_FLEET_N")); err == nil && n > 0 {
		return n
	}
	return 300
}

// credStore is the platform's credential store in the same database.
func credStore(t testing.TB, db *sql.DB, b backend, prefix string) *credsql.Store {
	s, err := credsql.New(db, credsql.WithTable(prefix+"_creds"), credsql.WithDialect(b.dialect))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFleetProcesses(t *testing.T) {
	if os.Getenv(envChild) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) { fleetProcesses(t, b) })
	}
}

func fleetProcesses(t *testing.T, b backend) {
	n := fleetSize()
	db := b.open(t)
	buf := make([]byte, 5)
	_, _ = rand.Read(buf)
	prefix := "ro_mp_" + hex.EncodeToString(buf)
	t.Cleanup(func() { dropTables(db, prefix); _, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_creds") })
	store := b.store(t, prefix)
	f := newFleet(t, n, credStore(t, db, b, prefix))
	f.step = 5 * time.Second
	quota := n / 5
	f.emu.SetAuditQuota(quota, 0)
	f.emu.SetAuditReview(auditReview(0.05, 0.01))
	ro := f.rollout(rollout.ReleaseGrey)
	parent := f.runner(t, store, "parent") // receives the pushes; does no work
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, err := parent.Start(ctx, ro); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go f.reviewers(rctx, t)

	env := append(os.Environ(), envBackend+"="+b.name, envEmulator+"="+f.emu.URL, envPrefix+"="+prefix,
		envTemplate+"="+strconv.FormatInt(f.tpl, 10), envAppID+"="+f.app.AppID, envSecret+"="+f.app.AppSecret,
		envToken+"="+f.app.Token, envAESKey+"="+f.app.EncodingAESKey)
	var mu sync.Mutex
	var outs []*bytes.Buffer
	startChild := func(name string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFleetChild$", "-test.v")
		cmd.Env = append(env, envChild+"="+name)
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		outs = append(outs, out)
		mu.Unlock()
		return cmd
	}
	cmds := []*exec.Cmd{startChild("child-0"), startChild("child-1"), startChild("child-2")}

	// Mid-run (a tenth of the fleet submitted), child-0 dies without a word; a new process starts.
	for f.emu.AuditsSubmitted() < max(n/10, 1) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmds[0].Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmds[0].Wait()
	killedAt := f.emu.AuditsSubmitted()
	cmds[0] = startChild("child-0-restarted")

	f.raiseQuota(ctx, t, quota)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			mu.Lock()
			t.Errorf("child %d: %v\n%s", i, err, tail(outs[len(outs)-3+i].String(), 3000))
			mu.Unlock()
		}
	}
	elapsed := time.Since(start)
	stop()
	counts := checkFleet(t, f, store, ro.ID)
	t.Logf("%s: %d merchants, 3 processes (one SIGKILLed after %d submissions and restarted), quota %d then raised: %v wall-clock; %v",
		b.name, n, killedAt, quota, elapsed.Round(time.Millisecond), counts)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestFleetChild is a child process of TestFleetProcesses; it does nothing otherwise.
func TestFleetChild(t *testing.T) {
	name := os.Getenv(envChild)
	if name == "" {
		t.Skip("only run as a child of TestFleetProcesses")
	}
	var b backend
	for _, c := range sqlBackends {
		if c.name == os.Getenv(envBackend) {
			b = c
		}
	}
	prefix := os.Getenv(envPrefix)
	db := b.open(t)
	store, err := sqlstore.New(db, b.dialect, prefix)
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := strconv.ParseInt(os.Getenv(envTemplate), 10, 64)
	p, err := wxopen.New(wxopen.Config{ComponentAppID: os.Getenv(envAppID), AppSecret: os.Getenv(envSecret),
		Token: os.Getenv(envToken), EncodingAESKey: os.Getenv(envAESKey)},
		wxopen.WithBaseURL(os.Getenv(envEmulator)), wxopen.WithCredentialStore(credStore(t, db, b, prefix)))
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRunner(p, store, os.Getenv(envAppID), name, childLease)
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Minute)
	defer cancel()
	if err := r.Work(ctx, fleetRollout(tpl, rollout.ReleaseGrey)); err != nil {
		t.Fatal(err)
	}
	fmt.Println("child", name, "done")
}
