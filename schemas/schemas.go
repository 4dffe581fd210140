// Package schemas holds the JSON Schemas (draft 2020-12) of every MQTT payload
// and of the config file, embedded so the gateway and the tests validate
// against exactly what is documented.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed *.schema.json
var files embed.FS

//go:embed examples
var examples embed.FS

const base = "https://roomguard.invalid/schemas/"

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	loadErr  error
	printer  = message.NewPrinter(language.English)
)

// Names lists the schemas by name: "config", "event", "status" …
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".schema.json"))
	}
	sort.Strings(names)
	return names
}

// Source returns the schema text of name.
func Source(name string) ([]byte, error) { return files.ReadFile(name + ".schema.json") }

// Examples returns the example payloads of a schema by file name; invalid ones
// are counter-examples that must fail validation.
func Examples(name string) (valid, invalid map[string][]byte) {
	valid, invalid = map[string][]byte{}, map[string][]byte{}
	read := func(dir string, into map[string][]byte) {
		entries, _ := examples.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, _ := examples.ReadFile(dir + "/" + e.Name())
			into[e.Name()] = b
		}
	}
	read("examples/"+name, valid)
	read("examples/"+name+"/invalid", invalid)
	return valid, invalid
}

func load() {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	compiled = map[string]*jsonschema.Schema{}
	for _, name := range Names() {
		src, _ := Source(name)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
		if err != nil {
			loadErr = fmt.Errorf("schemas: %s: %w", name, err)
			return
		}
		if err := c.AddResource(base+name+".schema.json", doc); err != nil {
			loadErr = fmt.Errorf("schemas: %s: %w", name, err)
			return
		}
	}
	for _, name := range Names() {
		s, err := c.Compile(base + name + ".schema.json")
		if err != nil {
			loadErr = fmt.Errorf("schemas: %s: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

// Violation is one way an instance breaks its schema.
type Violation struct {
	Path    []string // JSON path of the offending value (empty: the whole document)
	Message string
	Unknown []string // properties the schema does not allow here, when that is the fault
}

// Pointer is the JSON pointer of the offending value.
func (v Violation) Pointer() string {
	if len(v.Path) == 0 {
		return "/"
	}
	return "/" + strings.Join(v.Path, "/")
}

// Invalid is returned when an instance breaks its schema.
type Invalid struct {
	Schema     string
	Violations []Violation
}

func (e *Invalid) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "does not match the %s schema:", e.Schema)
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\n  at %s: %s", v.Pointer(), v.Message)
	}
	return b.String()
}

// Validate checks a decoded JSON value (as encoding/json decodes with
// UseNumber, or map[string]any / []any / string / json.Number / bool / nil).
func Validate(name string, instance any) error {
	once.Do(load)
	if loadErr != nil {
		return loadErr
	}
	s, ok := compiled[name]
	if !ok {
		return fmt.Errorf("schemas: no schema named %q", name)
	}
	err := s.Validate(instance)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		inv := &Invalid{Schema: name}
		leaves(ve, &inv.Violations)
		return inv
	}
	return err
}

// ValidateJSON checks a JSON document.
func ValidateJSON(name string, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return Validate(name, v)
}

// leaves collects the innermost errors: they name the actual offending value.
func leaves(e *jsonschema.ValidationError, out *[]Violation) {
	if len(e.Causes) == 0 {
		v := Violation{Path: e.InstanceLocation, Message: e.ErrorKind.LocalizedString(printer)}
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			v.Unknown = ap.Properties
		}
		*out = append(*out, v)
		return
	}
	for _, c := range e.Causes {
		leaves(c, out)
	}
}

// Marshal encodes v as JSON and validates it against schema name; it is how
// tests and debug builds make sure what goes out matches what is documented.
func Marshal(name string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return b, ValidateJSON(name, b)
}
