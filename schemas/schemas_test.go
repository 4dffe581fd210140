package schemas_test

import (
	"testing"

	"github.com/roomguard/roomguard/schemas"
)

func TestExamplesMatchTheirSchemas(t *testing.T) {
	for _, name := range schemas.Names() {
		valid, invalid := schemas.Examples(name)
		if name != "config" && len(valid) == 0 {
			t.Errorf("%s: no examples", name)
		}
		for file, doc := range valid {
			if err := schemas.ValidateJSON(name, doc); err != nil {
				t.Errorf("%s/%s: %v", name, file, err)
			}
		}
		for file, doc := range invalid {
			if err := schemas.ValidateJSON(name, doc); err == nil {
				t.Errorf("%s/invalid/%s: accepted, want refused", name, file)
			}
		}
	}
}

func TestViolationNamesThePath(t *testing.T) {
	err := schemas.ValidateJSON("status", []byte(`{"state":"sleeping","room":"jiyao-301"}`))
	inv, ok := err.(*schemas.Invalid)
	if !ok || len(inv.Violations) == 0 || inv.Violations[0].Pointer() != "/state" {
		t.Fatalf("got %v, want a violation at /state", err)
	}
}
