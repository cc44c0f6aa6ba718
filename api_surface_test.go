package wxopen_test

import (
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// TestNoInternalTypeInPublicAPI lists the exported API of every package of the module outside
// internal/, as the type checker sees it (export data from `go list -export`): exported functions
// with their parameters and results, exported types with their exported fields, methods and alias
// targets, exported variables and constants. It resolves every type named there — through aliases,
// pointers, slices, arrays, maps, channels, functions and type arguments — and fails on any defined
// in an internal package: a user can neither name nor read such a type. An alias does not hide one
// (type Caller = wxhttp.Client would be reported as wxhttp.Client).
func TestNoInternalTypeInPublicAPI(t *testing.T) {
	var found []string
	for _, tp := range publicPackages(t) {
		found = append(found, publicInternalUses(tp)...)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("internal type in the public API: %s", f)
	}
}

// publicPackages type-checks (from `go list -export` export data) every package of the module
// outside internal/ and returns them.
func publicPackages(t *testing.T) []*types.Package {
	t.Helper()
	cmd := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Export,Module,Name,Standard", "./...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath, Export, Name string
		Standard                 bool
		Module                   *struct{ Path string }
	}
	exports := map[string]string{}
	var mine []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == "github.com/wxopen-go/wxopen" && p.Name != "main" && !isInternal(p.ImportPath) {
			mine = append(mine, p)
		}
	}
	if len(mine) < 10 {
		t.Fatalf("go list found %d public packages of the module", len(mine))
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var pkgs []*types.Package
	for _, p := range mine {
		tp, err := imp.Import(p.ImportPath)
		if err != nil {
			t.Fatalf("import %s: %v", p.ImportPath, err)
		}
		pkgs = append(pkgs, tp)
	}
	return pkgs
}

// integerTimeAllowed lists "pkg.Type.Field" exported fields that look like times by name and are
// integers on purpose. Only a request field whose wire meaning is not a point in time belongs here,
// with the reason. It is empty: every time-named field is a time.Time.
var integerTimeAllowed = map[string]string{}

// TestTimesAreTimeTime fails on any exported field of an exported struct type (and of the anonymous
// structs inside one) of a public package whose name says it is a point in time — ending in Time,
// Timestamp or At, or starting with Time followed by another word (not Timeout) — and whose type
// is an integer (also behind a pointer, slice, array or a named integer type): results carry
// time.Time, with WeChat's unix seconds kept on the wire by the type's JSON/XML methods.
func TestTimesAreTimeTime(t *testing.T) {
	var found []string
	for _, p := range publicPackages(t) {
		found = append(found, integerTimeFields(p)...)
	}
	sort.Strings(found)
	for _, f := range found {
		if _, ok := integerTimeAllowed[f]; ok {
			continue
		}
		t.Errorf("time-named field is an integer, not time.Time: %s", f)
	}
	for f := range integerTimeAllowed {
		if !slices.Contains(found, f) {
			t.Errorf("integerTimeAllowed names %s, which is no longer an integer time field: remove it", f)
		}
	}
}

// looksLikeTime reports whether an exported field name names a point in time.
func looksLikeTime(name string) bool {
	if strings.HasSuffix(name, "Time") || strings.HasSuffix(name, "Timestamp") || strings.HasSuffix(name, "At") {
		return true
	}
	rest, ok := strings.CutPrefix(name, "Time")
	return ok && rest != "" && unicode.IsUpper([]rune(rest)[0])
}

// integerTimeFields returns "pkg.Type.Field" for each time-named integer field of p's exported
// struct types.
func integerTimeFields(p *types.Package) []string {
	var out []string
	isInteger := func(typ types.Type) bool {
		for {
			switch u := typ.Underlying().(type) {
			case *types.Basic:
				return u.Info()&types.IsInteger != 0
			case *types.Pointer:
				typ = u.Elem()
			case *types.Slice:
				typ = u.Elem()
			case *types.Array:
				typ = u.Elem()
			default:
				return false
			}
		}
	}
	var fields func(owner string, s *types.Struct)
	fields = func(owner string, s *types.Struct) {
		for i := 0; i < s.NumFields(); i++ {
			f := s.Field(i)
			if !f.Exported() {
				continue
			}
			if looksLikeTime(f.Name()) && isInteger(f.Type()) {
				out = append(out, owner+"."+f.Name())
			}
			// Anonymous structs are only checked here; named ones where they are declared.
			typ := types.Unalias(f.Type())
			for {
				if ptr, ok := typ.(*types.Pointer); ok {
					typ = types.Unalias(ptr.Elem())
				} else if sl, ok := typ.(*types.Slice); ok {
					typ = types.Unalias(sl.Elem())
				} else {
					break
				}
			}
			if inner, ok := typ.(*types.Struct); ok {
				fields(owner+"."+f.Name(), inner)
			}
		}
	}
	scope := p.Scope()
	for _, name := range scope.Names() {
		o, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || !o.Exported() || o.IsAlias() {
			continue
		}
		if s, ok := o.Type().Underlying().(*types.Struct); ok {
			fields(p.Name()+"."+name, s)
		}
	}
	return out
}

func isInternal(path string) bool {
	return strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal") || strings.HasPrefix(path, "internal/")
}

// publicInternalUses returns "pkg.Name: internal/pkg.Type" for each internal type in p's exported API.
func publicInternalUses(p *types.Package) []string {
	var out []string
	report := func(owner string, typ types.Type) {
		seen := map[types.Type]bool{}
		var walk func(types.Type)
		walk = func(typ types.Type) {
			typ = types.Unalias(typ)
			if typ == nil || seen[typ] {
				return
			}
			seen[typ] = true
			switch t := typ.(type) {
			case *types.Named:
				if obj := t.Obj(); obj.Pkg() != nil && isInternal(obj.Pkg().Path()) {
					out = append(out, p.Name()+"."+owner+": "+obj.Pkg().Path()+"."+obj.Name())
				}
				for i := 0; i < t.TypeArgs().Len(); i++ {
					walk(t.TypeArgs().At(i))
				}
				// A named type of a public package is checked where it is declared.
			case *types.Pointer:
				walk(t.Elem())
			case *types.Slice:
				walk(t.Elem())
			case *types.Array:
				walk(t.Elem())
			case *types.Map:
				walk(t.Key())
				walk(t.Elem())
			case *types.Chan:
				walk(t.Elem())
			case *types.Signature:
				for i := 0; i < t.Params().Len(); i++ {
					walk(t.Params().At(i).Type())
				}
				for i := 0; i < t.Results().Len(); i++ {
					walk(t.Results().At(i).Type())
				}
			case *types.Struct:
				for i := 0; i < t.NumFields(); i++ {
					if f := t.Field(i); f.Exported() || f.Embedded() {
						walk(f.Type())
					}
				}
			case *types.Interface:
				for i := 0; i < t.NumMethods(); i++ {
					if m := t.Method(i); m.Exported() {
						walk(m.Type())
					}
				}
				for i := 0; i < t.NumEmbeddeds(); i++ {
					walk(t.EmbeddedType(i))
				}
			case *types.TypeParam:
				walk(t.Constraint())
			case *types.Union:
				for i := 0; i < t.Len(); i++ {
					walk(t.Term(i).Type())
				}
			}
		}
		walk(typ)
	}
	scope := p.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.TypeName:
			if o.IsAlias() {
				report(name, o.Type()) // the alias target itself
				continue
			}
			named, ok := o.Type().(*types.Named)
			if !ok {
				continue
			}
			for i := 0; i < named.TypeParams().Len(); i++ {
				report(name, named.TypeParams().At(i).Constraint())
			}
			report(name, named.Underlying())
			for i := 0; i < named.NumMethods(); i++ {
				if m := named.Method(i); m.Exported() {
					report(name+"."+m.Name(), m.Type())
				}
			}
		default: // *types.Func, *types.Var, *types.Const
			report(name, o.Type())
		}
	}
	return out
}
