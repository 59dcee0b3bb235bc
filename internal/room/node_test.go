package room

import (
	"bufio"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeScript prints, for every code point in a few contexts (alone, beside
// a Latin letter, beside capital sigma), the input after Jitsi's stripping
// (hex) and what Jitsi's getBackendSafeRoomName makes of it.
const nodeScript = `
const ex = /[:?#[\]@!$&'()*+,;=></"]/g;
function safe(room) {
  try { room = decodeURIComponent(room); } catch (e) {}
  return encodeURIComponent(room.normalize('NFKC').toLowerCase()).toLowerCase();
}
const ctx = [c => c, c => 'A' + c, c => c + 'A', c => 'Σ' + c + 'Σ', c => 'AΣ' + c, c => 'A' + c + 'Σ', c => 'AΣ' + c + 'A'];
let buf = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp === 0x25) continue;
  const c = String.fromCodePoint(cp);
  for (const f of ctx) {
    const s = f(c).replace(ex, '').replace(/\s/g, '');
    if (s !== '') buf.push(Buffer.from(s, 'utf8').toString('hex') + '\t' + safe(s));
  }
  if (buf.length > 10000) { process.stdout.write(buf.join('\n') + '\n'); buf = []; }
}
process.stdout.write(buf.join('\n') + '\n');
`

// TestMatchesNode compares Parse with JavaScript (node) for every Unicode
// code point: whatever Parse accepts must get exactly the name Jitsi's
// client computes. It takes ~30 s, so it runs only with
// JITSI_GATE_TEST_NODE=1 (and then fails if node is missing).
func TestMatchesNode(t *testing.T) {
	if os.Getenv("JITSI_GATE_TEST_NODE") != "1" {
		t.Skip("set JITSI_GATE_TEST_NODE=1 to compare with node's String.normalize/toLowerCase/encodeURIComponent")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("JITSI_GATE_TEST_NODE=1 but node is not installed: %v", err)
	}
	script := filepath.Join(t.TempDir(), "gen.js")
	if err := os.WriteFile(script, []byte(nodeScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	total, accepted, bad := 0, 0, 0
	for sc.Scan() {
		h, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("bad hex %q", h)
		}
		total++
		n, err := Parse(string(b))
		if err != nil {
			continue
		}
		accepted++
		if n.Safe != want {
			bad++
			if bad <= 20 {
				t.Errorf("Parse(%+q).Safe = %q, node computes %q", b, n.Safe, want)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v", err)
	}
	t.Logf("%d inputs, %d accepted, %d differ from node", total, accepted, bad)
	if total < 7_000_000 || accepted < 500_000 {
		t.Fatalf("too few inputs compared: %d total, %d accepted", total, accepted)
	}
}
