package wxopen_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestNoInternalTypeInPublicAPI lists the exported API of every package of the module outside
// internal/ — exported functions and their parameters and results, methods of exported types,
// exported struct fields and interface methods, exported variables, constants and defined types —
// and fails on any type from an internal package in it: a user cannot build or name such a type.
// An exported alias (type CallInfo = wxhttp.CallInfo) is how a public package names one: it is
// allowed, and uses of the alias are public (authorizer.Caller and RawRequest: the shared HTTP caller
// and the raw call the typed packages send).
func TestNoInternalTypeInPublicAPI(t *testing.T) {
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			base := d.Name()
			if path != "." && (base == "internal" || base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				return filepath.SkipDir
			}
			if path != "." {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		found = append(found, internalUses(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("internal type in the public API: %s", f)
	}
}

// internalUses returns "file:line: Name uses pkg.Type" for each internal type in f's exported API.
func internalUses(fset *token.FileSet, f *ast.File) []string {
	internal := map[string]string{} // local import name → path, for internal imports
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if !strings.Contains(p, "/internal/") && !strings.HasSuffix(p, "/internal") {
			continue
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		internal[name] = p
	}
	if len(internal) == 0 {
		return nil
	}
	var out []string
	check := func(owner string, expr ast.Node) {
		if expr == nil {
			return
		}
		ast.Inspect(expr, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok {
				if _, bad := internal[id.Name]; bad {
					out = append(out, fset.Position(sel.Pos()).String()+": "+owner+" uses "+id.Name+"."+sel.Sel.Name)
				}
			}
			return true
		})
	}
	checkFields := func(owner string, fl *ast.FieldList, exportedOnly bool) {
		if fl == nil {
			return
		}
		for _, fld := range fl.List {
			if exportedOnly {
				exported := len(fld.Names) == 0 // embedded
				for _, n := range fld.Names {
					exported = exported || n.IsExported()
				}
				if !exported {
					continue
				}
			}
			check(owner, fld.Type)
		}
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			owner := d.Name.Name
			if d.Recv != nil {
				recv := receiverName(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				owner = recv + "." + owner
			}
			checkFields(owner, d.Type.TypeParams, false)
			checkFields(owner, d.Type.Params, false)
			checkFields(owner, d.Type.Results, false)
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() || s.Assign.IsValid() { // aliases name internal types on purpose
						continue
					}
					switch tt := s.Type.(type) {
					case *ast.StructType:
						checkFields(s.Name.Name, tt.Fields, true)
					case *ast.InterfaceType:
						checkFields(s.Name.Name, tt.Methods, true)
					default:
						check(s.Name.Name, s.Type)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							check(n.Name, s.Type)
							for _, v := range s.Values {
								check(n.Name, v)
							}
							break
						}
					}
				}
			}
		}
	}
	return out
}

func receiverName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiverName(t.X)
	case *ast.IndexExpr:
		return receiverName(t.X)
	case *ast.IndexListExpr:
		return receiverName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}
