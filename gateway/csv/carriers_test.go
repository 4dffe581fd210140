package csv

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
)

const carrierFile = "\xEF\xBB\xBFid,epc,title,class,kind,home,custodian\n" +
	"JM-0001,3008 33B2 DDD9 0140 0000 0001,年度工作要点,机密,文件,safe-a,p001\n" +
	"JM-0002,300833B2DDD9014000000002,\"密码电报, 第7号\",绝密,密码电报,safe-b,p001\n" +
	"JM-0003,300833b2ddd9014000000003,涉密U盘,confidential,U盘,safe-a,p002\n"

func TestCarriersRoundTrip(t *testing.T) {
	cs, err := ReadCarriers(strings.NewReader(carrierFile), "carriers.csv", gateway.MaxRecords)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].EPC != "300833B2DDD9014000000001" || cs[1].Class != "top-secret" || cs[1].Kind != "telegram" || cs[2].EPC != "300833B2DDD9014000000003" {
		t.Fatalf("%+v", cs)
	}
	var b bytes.Buffer
	if err := WriteCarriers(&b, cs); err != nil {
		t.Fatal(err)
	}
	again, err := ReadCarriers(&b, "export", gateway.MaxRecords)
	if err != nil || len(again) != 3 || !reflect.DeepEqual(again[1], cs[1]) {
		t.Fatalf("%+v %v", again, err)
	}
}

// Every bad line is named with its field; nothing is returned.
func TestCarriersBadLines(t *testing.T) {
	in := "id,epc,title,class,kind,home,custodian\n" +
		"JM-0001,300833B2DDD9014000000001,甲,机密,文件,safe-a,p001\n" +
		"JM-0002,300833B2DDD9014000000001,乙,机密,文件,safe-a,p001\n" + // the same tag
		"JM-0001,300833B2DDD9014000000003,丙,机密,文件,safe-a,p001\n" + // the same id
		"JM-0004,30083,丁,机密,文件,safe-a,p001\n" + // not whole words
		"JM-0005,300833B2DDD9014000000005,戊,内部,文件,safe-a,p001\n" + // no such class
		"JM/0006,300833B2DDD9014000000006,己,秘密,文件,safe-a,p001\n" + // a slash would break a topic
		"JM-0007,300833B2DDD9014000000007,庚,秘密,文件,,p001\n" // no safe
	_, err := ReadCarriers(strings.NewReader(in), "c.csv", gateway.MaxRecords)
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Lines) != 6 {
		t.Fatalf("%v", err)
	}
	want := []struct {
		line  int
		field string
	}{{3, "epc"}, {4, "id"}, {5, "epc"}, {6, "class"}, {7, "id"}, {8, "home"}}
	for i, w := range want {
		if ie.Lines[i].Line != w.line || ie.Lines[i].Field != w.field {
			t.Errorf("error %d: %+v, want line %d field %s", i, ie.Lines[i], w.line, w.field)
		}
	}
}

func FuzzReadCarriers(f *testing.F) {
	f.Add([]byte(carrierFile))
	f.Add([]byte("id,epc\n\"a,b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ReadCarriers(bytes.NewReader(b), "fuzz", gateway.MaxRecords)
		if err == nil {
			for _, c := range cs {
				if c.Check() != nil {
					t.Fatalf("accepted a bad carrier %+v", c)
				}
			}
		}
	})
}
