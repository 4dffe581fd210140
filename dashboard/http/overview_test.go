package http_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// building retains rooms on floors floors × perFloor, each online with a
// door and a window, the first of floor 2 with an intrusion alarm and the
// last room offline.
func building(c *console, floors, perFloor int) {
	for f := 1; f <= floors; f++ {
		for n := 1; n <= perFloor; n++ {
			room := fmt.Sprintf("room-%d%02d", f, n)
			state := "online"
			if f == floors && n == perFloor {
				state = "offline"
			}
			c.retain(room, "status", "", map[string]any{"state": state, "room": room, "name": fmt.Sprintf("%d%02d室", f, n), "location": fmt.Sprintf("%d楼", f)})
			c.retain(room, "mode", "", map[string]any{"mode": "open"})
			c.retain(room, "devices", "door-main", map[string]any{"device": "door-main", "kind": "door", "state": "closed"})
			c.retain(room, "devices", "window-1", map[string]any{"device": "window-1", "kind": "window", "state": "closed"})
		}
	}
	c.retain("room-201", "alarms", "room-201-1", map[string]any{"room": "room-201", "id": "room-201-1", "class": "intrusion", "priority": 1, "state": "active"})
}

// Issue 33, item 2: a building's overview grouped by where the rooms are
// (their status's location): the floor with the most urgent room first,
// then the floor with a room offline, then the rest by name; in a group the
// rooms as the overview orders them. One room's box is served alone, with
// the count line, for the page's script to put in place.
func TestOverviewGroupedByLocation(t *testing.T) {
	c := newConsole(t, "g:guard")
	building(c, 3, 3)
	g := c.as("g")
	_, body := g.get("/")
	var groups []string
	for _, m := range regexp.MustCompile(`<h2 class="group" id="group-([^"]*)">`).FindAllStringSubmatch(body, -1) {
		groups = append(groups, m[1])
	}
	if got := strings.Join(groups, " "); got != "2楼 3楼 1楼" {
		t.Fatalf("the groups: %q, want 2楼 (an alarm) 3楼 (offline) 1楼", got)
	}
	var rooms []string
	for _, m := range regexp.MustCompile(`id="room-(room-\d+)" data-room="[^"]*" data-rank="(\d+)"`).FindAllStringSubmatch(body, -1) {
		rooms = append(rooms, m[1]+":"+m[2])
	}
	if got := strings.Join(rooms, " "); got != "room-201:1 room-202:101 room-203:101 room-303:100 room-301:101 room-302:101 room-101:101 room-102:101 room-103:101" {
		t.Fatalf("the rooms: %s", got)
	}
	if !strings.Contains(body, `class="rooms" data-delta="1"`) {
		t.Fatal("the overview is not marked for deltas")
	}
	if _, filtered := g.get("/?q=2楼"); strings.Contains(filtered, "data-delta") || !strings.Contains(filtered, `id="room-room-202"`) || strings.Contains(filtered, `id="room-room-101"`) {
		t.Fatal("a search by floor: the floor's rooms only, and no deltas (a change may take a room in or out)")
	}
	code, box := g.get("/rooms/room-302/box")
	if code != http.StatusOK || strings.Count(box, `<section class="room card`) != 1 || !strings.Contains(box, `id="room-room-302" data-room="room-302" data-rank="101"`) ||
		!strings.Contains(box, `id="rooms-count"`) || !strings.Contains(box, "9 间") || !strings.Contains(box, "1 间有未关闭报警") {
		t.Fatalf("the box: %d\n%s", code, box)
	}
	if code, _ := g.get("/rooms/room-999/box"); code != http.StatusNotFound {
		t.Fatalf("the box of a room nobody added: %d", code)
	}
}

// BenchmarkOverviewLive (issue 33: pages updated by deltas): what the
// console spends for one browser on the overview of a building of 200
// rooms when one room's door opens: the whole overview read again (what
// every page did before) vs the room's box alone (what the overview's
// script now asks for), same run.
func BenchmarkOverviewLive(b *testing.B) {
	c := newConsole(b, "g:guard")
	building(c, 20, 10)
	g := c.as("g")
	for _, path := range []string{"/", "/rooms/room-1005/box"} {
		name := map[string]string{"/": "whole", "/rooms/room-1005/box": "box"}[path]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if code, _ := g.get(path); code != http.StatusOK {
					b.Fatal(code)
				}
			}
		})
	}
}
