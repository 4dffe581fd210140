package room_test

import (
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
)

// A safe's combination changed (钥匙/密码, issue 31, item 2): two people,
// each through their own channel; the first asks naming the witness, the
// witness confirms naming them; safe.combination_changed in the change of
// the confirmation. What the practice forbids is refused and writes
// nothing.
func TestCombinationChangedByTwoPeople(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.news()
	v.log.written()
	ask := gateway.KeyChange{Subject: "safe-a", Holder: "p-zhao", By: "p-zhao", Witness: "p-li", Via: "console/s1"}
	for _, c := range []struct {
		name, code, contains string
		change               func(*gateway.KeyChange)
	}{
		{"a subject the room has not", gateway.EINVALID, "neither a safe nor a door", func(q *gateway.KeyChange) { q.Subject = "drawer" }},
		{"one person", gateway.ESAMEPERSON, "cannot witness", func(q *gateway.KeyChange) { q.Witness = "p-zhao" }},
		{"a witness not in the register", gateway.EUNKNOWNPERSON, "witness", func(q *gateway.KeyChange) { q.Witness = "p-nobody" }},
		{"no holder", gateway.EINVALID, "holder", func(q *gateway.KeyChange) { q.Holder = "" }},
	} {
		q := ask
		c.change(&q)
		_, err := v.room.KeyChanged(q)
		v.refused(c.name, err, c.code, c.contains)
	}
	if done, err := v.room.KeyChanged(ask); err != nil || done {
		t.Fatalf("asked: %v %v", done, err)
	}
	v.expect("safe.combination_asked")
	v.log.written()
	_, err := v.room.KeyChanged(gateway.KeyChange{Subject: "safe-a", Holder: "p-zhao", By: "p-li", Witness: "p-zhao", Via: "console/s1"})
	v.refused("the witness through the asker's channel", err, gateway.ESAMEPERSON, "own session")
	done, err := v.room.KeyChanged(gateway.KeyChange{Subject: "safe-a", Holder: "p-zhao", By: "p-li", Witness: "p-zhao", Via: "console/s2"})
	if err != nil || !done {
		t.Fatalf("confirmed: %v %v", done, err)
	}
	v.expect("safe.combination_changed")
	if d := v.lastData("safe.combination_changed"); d["by"] != "p-zhao" || d["witness"] != "p-li" || d["holder"] != "p-zhao" || d["kind"] != "combination" {
		t.Fatalf("safe.combination_changed %v", d)
	}
	// A door's key, the same way.
	if _, err := v.room.KeyChanged(gateway.KeyChange{Subject: "door-main", Holder: "p-li", By: "p-li", Witness: "p-zhang", Via: "a"}); err != nil {
		t.Fatal(err)
	}
	if done, err := v.room.KeyChanged(gateway.KeyChange{Subject: "door-main", Holder: "p-li", By: "p-zhang", Witness: "p-li", Via: "b"}); err != nil || !done {
		t.Fatalf("the door's key: %v %v", done, err)
	}
	if d := v.lastData("safe.combination_changed"); d["kind"] != "key" || !strings.Contains(d["subject"].(string), "door-main") {
		t.Fatalf("the door's key %v", d)
	}
}
