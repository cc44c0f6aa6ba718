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
	"sort"
	"strings"
	"testing"
)

// TestNoInternalTypeInPublicAPI lists the exported API of every package of the module outside
// internal/, as the type checker sees it (export data from `go list -export`): exported functions
// with their parameters and results, exported types with their exported fields, methods and alias
// targets, exported variables and constants. It resolves every type named there — through aliases,
// pointers, slices, arrays, maps, channels, functions and type arguments — and fails on any defined
// in an internal package: a user can neither name nor read such a type. An alias does not hide one
// (type Caller = wxhttp.Client would be reported as wxhttp.Client).
func TestNoInternalTypeInPublicAPI(t *testing.T) {
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
	var found []string
	for _, p := range mine {
		tp, err := imp.Import(p.ImportPath)
		if err != nil {
			t.Fatalf("import %s: %v", p.ImportPath, err)
		}
		found = append(found, publicInternalUses(tp)...)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("internal type in the public API: %s", f)
	}
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
