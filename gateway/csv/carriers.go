package csv

import (
	"io"
	"strings"

	"github.com/roomguard/roomguard/gateway"
)

// CarrierColumns are the carrier register's columns.
var CarrierColumns = []string{"id", "epc", "title", "class", "kind", "home", "custodian"}

var carrierRequired = map[string]bool{"id": true, "epc": true, "title": true, "class": true, "kind": true, "home": true, "custodian": true}

// ReadCarriers reads a whole carrier register, like ReadPeople: every bad
// line reported, all or nothing, at most max carriers. Classes and kinds may be Chinese (绝密,
// 机密, 秘密; 文件, 密码电报, U盘 …); an EPC may have spaces or dashes.
func ReadCarriers(r io.Reader, source string, max int) ([]gateway.Carrier, error) {
	var out []gateway.Carrier
	idLine := map[string]int{}
	epcLine := map[string]int{}
	err := readTable(r, source, CarrierColumns, carrierRequired, rowLimit{max, "carriers", "limits.carriers"}, func(line int, get func(string) string, fail failFunc) {
		c := gateway.Carrier{ID: get("id"), EPC: gateway.NormalizeEPC(get("epc")), Title: get("title"), Home: get("home"), Custodian: get("custodian")}
		bad := false
		if cl, err := gateway.ParseClassification(get("class")); err != nil {
			fail(line, "class", "%v", err)
			bad = true
		} else {
			c.Class = cl
		}
		if k, err := gateway.ParseCarrierKind(get("kind")); err != nil {
			fail(line, "kind", "%v", err)
			bad = true
		} else {
			c.Kind = k
		}
		if bad {
			return
		}
		if err := c.Check(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			fail(line, field, "%s", msg)
			return
		}
		if first, dup := idLine[c.ID]; dup {
			fail(line, "id", "%q is also on line %d", c.ID, first)
			return
		}
		if first, dup := epcLine[c.EPC]; dup {
			fail(line, "epc", "tag %s is also on line %d (one tag, one carrier)", c.EPC, first)
			return
		}
		idLine[c.ID], epcLine[c.EPC] = line, line
		out = append(out, c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteCarriers writes the carrier register, with a BOM.
func WriteCarriers(w io.Writer, carriers []gateway.Carrier) error {
	return writeTable(w, CarrierColumns, func(row func([]string) error) error {
		for _, c := range carriers {
			if err := row([]string{c.ID, c.EPC, c.Title, string(c.Class), c.Kind, c.Home, c.Custodian}); err != nil {
				return err
			}
		}
		return nil
	})
}
