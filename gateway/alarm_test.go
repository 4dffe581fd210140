package gateway_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/schemas"
)

// The retained alarm is one named type both ends share (issue 29, item
// 5): the room writes it in the schema's form, times to the millisecond and
// the times not yet come left out, and a console reads back what was
// written.
func TestAlarmStateRoundTrip(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	raised := time.Date(2026, 12, 7, 9, 30, 1, 123456789, cst)
	a := &gateway.Alarm{ID: "a-1", Class: gateway.AlarmIntrusion, Priority: 1, Device: "window-1", Detail: "opened while armed",
		Count: 2, Level: 1, RaisedSeq: 42, RaisedAt: raised, AckBy: "p-li", AckComment: "checked", AckAt: raised.Add(time.Minute)}
	b := a.AlarmJSON("jiyao-301")
	if err := schemas.ValidateJSON("alarm", b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	want := `{"room":"jiyao-301","id":"a-1","class":"intrusion","priority":1,"state":"acknowledged","device":"window-1","detail":"opened while armed",` +
		`"silent":false,"count":2,"level":1,"raised_seq":42,"ack_by":"p-li","ack_comment":"checked","raised_at":"2026-12-07T09:30:01.123+08:00",` +
		`"ack_at":"2026-12-07T09:31:01.123+08:00"}`
	if string(b) != want {
		t.Fatalf("payload\n got %s\nwant %s", b, want)
	}
	var st gateway.AlarmState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Class != gateway.AlarmIntrusion || st.State != "acknowledged" || !st.RaisedAt.Equal(raised.Truncate(time.Millisecond)) ||
		!st.AckAt.Equal(raised.Add(time.Minute).Truncate(time.Millisecond)) || !st.RestoredAt.IsZero() || !st.ClosedAt.IsZero() || st.RaisedSeq != 42 {
		t.Fatalf("read back %+v", st)
	}
	if err := json.Unmarshal([]byte(`{"id":"a-2","raised_at":"yesterday"}`), &st); err == nil {
		t.Fatal("a time that is not RFC 3339 was read")
	}
}
