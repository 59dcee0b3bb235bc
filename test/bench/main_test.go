package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve the bare handler when the benchmark
// starts it again (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	if addr := os.Getenv(serveBareEnv); addr != "" {
		if err := runBare(addr); err != nil {
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// TestBenchSmoke runs one very short round and checks the report is sane:
// every target answered (positive req/s, p50 ≤ p99), the ratios and the
// RSA comparison are printed. It says nothing about the targets' numbers.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gateway and loads it")
	}
	var out strings.Builder
	err := run(options{rounds: 1, duration: 400 * time.Millisecond, warmup: 100 * time.Millisecond,
		conns: 4, signOps: 100 * time.Millisecond, resRate: 50, resDuration: 400 * time.Millisecond}, &out)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	report := out.String()
	row := regexp.MustCompile(`(?m)^  (bare 302|/join HS256|/join RS256|/join room|floor)\s+(\d+)\s+([\d.]+)×\s+([\d.]+)ms\s+([\d.]+)ms\s+([\d.]+)×$`)
	rows := row.FindAllStringSubmatch(report, -1)
	if len(rows) != 5 {
		t.Fatalf("want 5 median rows (bare, HS256, floor, RS256, room), got %d:\n%s", len(rows), report)
	}
	for _, r := range rows {
		rps, _ := strconv.Atoi(r[2])
		p50, _ := strconv.ParseFloat(r[4], 64)
		p99, _ := strconv.ParseFloat(r[5], 64)
		if rps <= 0 || p50 <= 0 || p50 > p99 {
			t.Errorf("%s: req/s %d, p50 %v ms, p99 %v ms: not a sane measurement\n%s", r[1], rps, p50, p99, report)
		}
		if r[1] == "bare 302" && (r[3] != "1.00" || r[6] != "1.00") {
			t.Errorf("the bare handler's ratios to itself are %s and %s, want 1.00", r[3], r[6])
		}
	}
	res := regexp.MustCompile(`reservation API POST /conference at a fixed rate: (\d+) requests, p50 ([\d.]+)ms, p99 ([\d.]+)ms`).FindStringSubmatch(report)
	if res == nil {
		t.Fatalf("no reservation API line:\n%s", report)
	}
	if n, _ := strconv.Atoi(res[1]); n != 20 { // 50 req/s × 0.4 s after the warm-up
		t.Errorf("%d reservation requests measured, want 20", n)
	}
	for _, want := range []string{"raw RSA-2048 PKCS#1 v1.5 SHA-256 signature", "/join HS256 req/s ≥ 0.6× bare", "RS256 mint ≤ 1.1× raw RSA",
		"/join room ≤ 1.2× rule-only", "reservation POST p99 < 5.00ms", "/join on a registered room costs",
		"floor (the gateway's /healthz, same cookie and middleware)"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
