package csv

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
)

const good = "\ufeffid,name,cards,level,role,rooms,valid_from,valid_until,schedule,holidays\n" +
	"p001,张伟,62E3086CED;90:324,核心,机要员,jiyao-301,2026-01-01,2027-12-31,mon-fri 08:00-18:00,否\n" +
	"p002,李娜,04a2-24e2,important,security-officer,*,,,,yes\n" +
	"\n" +
	"p003,\"王, 芳\",,一般,guard,jiyao-301;jiyao-302,,,,\n"

// Issue 19, item 4: a register longer than the room's limit is refused at
// the first record past it, without reading the rest.
func TestReadPeopleStopsAtTheLimit(t *testing.T) {
	_, err := ReadPeople(strings.NewReader(good+"this line is never read: \"\n"), "people.csv", 2)
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Lines) != 1 || ie.Lines[0].Line != 5 || !strings.Contains(err.Error(), "more than 2 people: the room takes no more (limits.persons)") {
		t.Fatalf("got %v", err)
	}
	if people, err := ReadPeople(strings.NewReader(good), "people.csv", 3); err != nil || len(people) != 3 {
		t.Fatalf("3 people with a limit of 3: %d, %v", len(people), err)
	}
}

func TestReadPeople(t *testing.T) {
	people, err := ReadPeople(strings.NewReader(good), "people.csv", gateway.MaxRecords)
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 3 {
		t.Fatalf("%d people", len(people))
	}
	p := people[0]
	if p.Name != "张伟" || p.Level != gateway.LevelCore || p.Role != gateway.RoleClerk || len(p.Cards) != 2 || p.Cards[1] != "90:324" ||
		p.Schedule != "mon-fri 08:00-18:00" || p.Holidays {
		t.Fatalf("p001 = %+v", p)
	}
	if people[1].Cards[0] != "04A224E2" || !people[1].Holidays || people[1].Rooms[0] != "*" {
		t.Fatalf("p002 = %+v", people[1])
	}
	if people[2].Name != "王, 芳" || len(people[2].Rooms) != 2 {
		t.Fatalf("p003 = %+v", people[2])
	}

	// Written back and read again: the same register.
	var buf bytes.Buffer
	err = WritePeople(&buf, func(fn func(*gateway.Person) error) error {
		for i := range people {
			if err := fn(&people[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := ReadPeople(&buf, "export.csv", gateway.MaxRecords)
	if err != nil || len(again) != 3 || again[0].Cards[0] != "62E3086CED" || again[2].Name != "王, 芳" {
		t.Fatalf("round trip: %+v, %v", again, err)
	}
}

func TestReadPeopleReportsEveryBadLine(t *testing.T) {
	in := "id,name,cards,level,role,rooms,valid_from,valid_until,schedule,holidays\n" +
		"p001,张伟,62E3086CED,核心,clerk,jiyao-301,,,,\n" + // line 2: good
		"p002,李娜,62E3086CED,core,clerk,jiyao-301,,,,\n" + // 3: duplicate card
		"p001,王芳,1111111111,core,clerk,jiyao-301,,,,\n" + // 4: duplicate id
		"p004,赵敏,2222222222,secret,clerk,jiyao-301,,,,\n" + // 5: bad level
		"p005,钱进,3333333333,core,cook,jiyao-301,,,,\n" + // 6: bad role
		"p006,孙丽,4444444444,core,clerk,jiyao-301,2026-13-01,,,\n" + // 7: bad date
		"p007,周杰,5555555555,core,clerk,jiyao-301,,,mon-fri 18:00-08:00,\n" + // 8: bad schedule
		"p008,吴刚,ZZ,core,clerk,jiyao-301,,,,\n" + // 9: bad card
		"p009,郑爽,6666666666,core,clerk\n" + // 10: too few fields
		",无名,7777777777,core,clerk,jiyao-301,,,,\n" // 11: no id
	_, err := ReadPeople(strings.NewReader(in), "bad.csv", gateway.MaxRecords)
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v", err)
	}
	want := map[int]string{3: "cards", 4: "id", 5: "level", 6: "role", 7: "valid_from", 8: "schedule", 9: "cards", 10: "", 11: "id"}
	got := map[int]string{}
	for _, l := range ie.Lines {
		got[l.Line] = l.Field
	}
	for line, field := range want {
		if f, ok := got[line]; !ok || f != field {
			t.Errorf("line %d: want an error on %q, got %q (present %v)\n%v", line, field, f, ok, err)
		}
	}
	if len(ie.Lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%v", len(ie.Lines), len(want), err)
	}
	if !strings.Contains(err.Error(), "bad.csv") || !strings.Contains(err.Error(), "line 3: cards: card ******86CED") && !strings.Contains(err.Error(), "line 3: cards") {
		t.Errorf("message: %v", err)
	}
	if strings.Contains(err.Error(), "62E3086CED") {
		t.Errorf("a full card number in an error message: %v", err)
	}
}

func TestReadPeopleBadHeader(t *testing.T) {
	for _, in := range []string{"", "id,name\n", "id,name,cards,level,role,rooms,colour\n", "\xff\xfe"} {
		if _, err := ReadPeople(strings.NewReader(in), "x.csv", gateway.MaxRecords); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	// GBK bytes are refused, not imported as garbage.
	in := "id,name,cards,level,role,rooms\np1,\xd5\xc5\xce\xb0,1234567890,core,clerk,r\n"
	if _, err := ReadPeople(strings.NewReader(in), "gbk.csv", gateway.MaxRecords); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("GBK: %v", err)
	}
}

func FuzzReadPeople(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("id,name,cards,level,role,rooms\n\"p1,x\n"))
	f.Add([]byte("id,name,cards,level,role,rooms\np1,n,1:2,core,clerk,r\np2,n,1:2,core,clerk,r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		people, err := ReadPeople(bytes.NewReader(b), "fuzz.csv", gateway.MaxRecords)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range people {
			if err := p.Check(); err != nil {
				t.Fatalf("imported a bad person %+v: %v", p, err)
			}
			for _, c := range p.Cards {
				if seen[c] {
					t.Fatalf("card %s imported twice", c)
				}
				seen[c] = true
			}
		}
	})
}

// Issue 31, item 5: the register keeps the dates of classified staff
// (training, commitment, departure, debriefing), round trip; a date that
// is no date is refused naming its line and column; StaffDue says who is
// overdue on a day.
func TestStaffDates(t *testing.T) {
	in := "id,name,cards,level,role,rooms,trained_on,commitment_on,left_on,debriefed_on\n" +
		"p-1,张伟,1234567890,核心,机要员,*,2026-03-01,2026-03-01,,\n" +
		"p-2,李娜,1234567891,重要,保密员,*,2025-01-10,,,\n" +
		"p-3,赵旧,1234567892,一般,机要员,*,2025-05-01,2025-05-01,2026-10-31,\n" +
		"p-4,钱退,1234567893,一般,机要员,*,,,2026-09-30,2026-09-30\n"
	people, err := ReadPeople(strings.NewReader(in), "t", 100)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePeople(&b, func(fn func(*gateway.Person) error) error {
		for i := range people {
			if err := fn(&people[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again, err := ReadPeople(&b, "again", 100)
	if err != nil || len(again) != 4 || again[2].LeftOn != "2026-10-31" || again[0].TrainedOn != "2026-03-01" || again[3].DebriefedOn != "2026-09-30" {
		t.Fatalf("round trip: %+v %v", again, err)
	}
	due := map[string]string{}
	for _, p := range again {
		due[p.ID] = strings.Join(p.StaffDue("2026-12-07"), ",")
	}
	if due["p-1"] != "" || due["p-2"] != "training,commitment" || due["p-3"] != "not_debriefed" || due["p-4"] != "" {
		t.Fatalf("due: %v", due)
	}
	_, err = ReadPeople(strings.NewReader(strings.Replace(in, "2025-01-10", "去年", 1)), "t", 100)
	var ie *ImportError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "trained_on") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a bad date: %v", err)
	}
}
