package core_test

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// The architecture rules of DESIGN.md, enforced mechanically.
//
// Deterministic packages (core, the io ports and shared code, the sim):
//   - no go statements and no select statements;
//   - no wall clock: time.Now, Since, Until, Sleep, After, AfterFunc,
//     Tick, NewTimer, NewTicker;
//   - no global random source: package-level functions of math/rand and
//     math/rand/v2 other than constructors;
//   - no os, net, syscall, sync, unsafe, os/exec;
//   - every range over a map carries an "// order-independent: why"
//     comment on the line above, because Go randomizes map order and it
//     must never leak into behaviour.
//
// The core, further, may import only standard-library data packages, the
// compression codecs (and xxhash for LZ4 frame headers), kmsg and kerr (no time, math/rand, io/fs, and so on).

var deterministicPatterns = []string{"cloudkafka/core/...", "cloudkafka/io", "cloudkafka/io/...", "cloudkafka/sim/..."}

var forbiddenImports = map[string]bool{
	"os": true, "os/exec": true, "os/signal": true, "net": true, "net/http": true, "syscall": true,
	"sync": true, "sync/atomic": true, "unsafe": true, "math/rand": true, "runtime": true,
}

var coreAllowed = map[string]bool{
	"encoding/base64": true, "encoding/binary": true, "encoding/json": true, "errors": true,
	"fmt": true, "hash/crc32": true, "math": true, "regexp": true, "sort": true,
	"strconv": true, "strings": true, "bytes": true, "slices": true, "cmp": true,
	"container/heap": true, "unicode/utf16": true,
	"github.com/twmb/franz-go/pkg/kmsg": true, "github.com/twmb/franz-go/pkg/kerr": true,
	"github.com/klauspost/compress/gzip": true, "github.com/klauspost/compress/snappy": true,
	"github.com/klauspost/compress/zstd": true, "github.com/pierrec/lz4/v4": true,
	"github.com/OneOfOne/xxhash": true, // the LZ4 frame header checksum of legacy message sets
	"cloudkafka/core/cover":      true,
	// SASL (sasl.go, scram.go, scram_server.go): hashes and HMACs are
	// pure functions, and the SCRAM server takes its nonces from the
	// core's random source.
	"crypto/hmac": true, "crypto/sha256": true, "crypto/sha512": true, "crypto/subtle": true, "hash": true,
	// ACL host rules (acl_authorize.go) compare client addresses as
	// values: net/netip parses and compares, and does no IO.
	"net/netip": true,
}

var wallClock = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}

func TestArchitecture(t *testing.T) {
	pkgs := load(t, "", deterministicPatterns...)
	if len(pkgs) < 3 {
		t.Fatalf("loaded %d packages; want core, io and its subpackages", len(pkgs))
	}
	var problems []string
	for _, p := range pkgs {
		problems = append(problems, check(p)...)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestArchitectureCatches proves the checker can fail: a package breaking
// every rule must produce one finding per rule.
func TestArchitectureCatches(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module cloudkafka\n\ngo 1.22\n")
	if err := os.MkdirAll(filepath.Join(dir, "core"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("core/bad.go", `package core

import (
	"math/rand"
	"os"
	"sync"
	"time"
)

var mu sync.Mutex

func Bad(m map[string]int, c chan int) int {
	go func() {}()
	select {
	case <-c:
	default:
	}
	for k := range m {
		_ = k
	}
	// order-independent: summing is commutative
	for _, v := range m {
		_ = v
	}
	_ = os.Getpid()
	_ = time.Now()
	return rand.Intn(3)
}
`)
	pkgs := load(t, dir, "cloudkafka/core")
	got := strings.Join(check(pkgs[0]), "\n")
	for _, want := range []string{"go statement", "select statement", "range over map", "imports os",
		"imports sync", "imports math/rand", "imports time", "time.Now", "rand.Intn"} {
		if !strings.Contains(got, want) {
			t.Errorf("checker missed %q; findings:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "range over map"); n != 1 {
		t.Errorf("got %d map-range findings; want 1 (the annotated loop is allowed)", n)
	}
}

func load(t *testing.T, dir string, patterns ...string) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{Dir: dir, Mode: packages.NeedName | packages.NeedImports | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo | packages.NeedFiles}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatalf("load %v: %v", patterns, err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("load %s: %v", p.PkgPath, e)
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].PkgPath < pkgs[j].PkgPath })
	return pkgs
}

func check(p *packages.Package) []string {
	var out []string
	report := func(pos token.Pos, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", p.Fset.Position(pos), fmt.Sprintf(format, args...)))
	}
	isCore := p.PkgPath == "cloudkafka/core" || strings.HasPrefix(p.PkgPath, "cloudkafka/core/")
	for _, f := range p.Syntax {
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if forbiddenImports[path] || (isCore && !coreAllowed[path]) {
				report(imp.Pos(), "%s imports %s", p.PkgPath, path)
			}
		}
		annotated := annotatedLines(p.Fset, f)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				report(n.Pos(), "go statement")
			case *ast.SelectStmt:
				report(n.Pos(), "select statement")
			case *ast.RangeStmt:
				if _, ok := p.TypesInfo.TypeOf(n.X).Underlying().(*types.Map); ok && !annotated[p.Fset.Position(n.Pos()).Line-1] {
					report(n.Pos(), "range over map without an order-independent comment")
				}
			case *ast.SelectorExpr:
				checkCall(p, n, report)
			}
			return true
		})
	}
	return out
}

func checkCall(p *packages.Package, sel *ast.SelectorExpr, report func(token.Pos, string, ...any)) {
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return
	}
	pn, ok := p.TypesInfo.Uses[id].(*types.PkgName)
	if !ok {
		return
	}
	name := sel.Sel.Name
	switch pn.Imported().Path() {
	case "time":
		if wallClock[name] {
			report(sel.Pos(), "time.%s reads the wall clock", name)
		}
	case "math/rand", "math/rand/v2":
		if _, isFunc := p.TypesInfo.Uses[sel.Sel].(*types.Func); isFunc && !strings.HasPrefix(name, "New") {
			report(sel.Pos(), "rand.%s uses the global random source", name)
		}
	}
}

// annotatedLines returns the lines holding an "order-independent:" comment.
func annotatedLines(fset *token.FileSet, f *ast.File) map[int]bool {
	lines := map[int]bool{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.Contains(c.Text, "order-independent:") {
				lines[fset.Position(c.End()).Line] = true
			}
		}
	}
	return lines
}
