package http

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// maxRegister bounds an uploaded register: above the largest register a
// room takes with the default limits (gateway.RegisterBytes of 100,000
// carriers, 25 MB); each room checks its own limits.
const maxRegister = 32 << 20

// heldRegister is what a room says it holds (its retained register topic).
type heldRegister struct {
	Room      string `json:"room"`
	Version   int64  `json:"version"`
	Count     int    `json:"count"`
	UpdatedAt string `json:"updated_at"`
	UpdatedBy string `json:"updated_by"`
}

type registerView struct {
	Kind   string
	Master *dashboard.Register
	Rooms  []heldRegister // every known room, with what it holds (version 0: nothing)
}

// InSync tells whether a room holds the master's version.
func (v registerView) InSync(h heldRegister) bool {
	return v.Master != nil && h.Version == v.Master.Version
}

func (s *Server) registerViews() ([]registerView, error) {
	var out []registerView
	for _, kind := range dashboard.RegisterKinds {
		v := registerView{Kind: kind}
		if m, err := s.Store.Register(kind); err == nil {
			v.Master = m
		} else if gateway.ErrorCode(err) != gateway.ENOTFOUND {
			return nil, err
		}
		byRoom, err := s.heldRegisters(kind)
		if err != nil {
			return nil, err
		}
		for _, r := range s.Store.Rooms() {
			h, ok := byRoom[r.Room]
			if !ok {
				h = heldRegister{Room: r.Room}
			}
			v.Rooms = append(v.Rooms, h)
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) registers(w http.ResponseWriter, r *request) {
	views, err := s.registerViews()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "registers", map[string]any{"Registers": views, "Error": r.URL.Query().Get("error")})
}

// saveRegister takes a new version of a register: the CSV typed or pasted
// into the page (an edit), or a file (an import). It is checked line by line
// as the rooms will check it; nothing is stored unless all of it is good.
func (s *Server) saveRegister(w http.ResponseWriter, r *request) {
	kind := r.PathValue("kind")
	text, source, err := registerText(r)
	var count int
	if err == nil {
		count, err = dashboard.CheckRegister(kind, text)
	}
	var version int64
	if err == nil {
		version = s.nextRegisterVersion(kind)
		err = s.Store.SaveRegister(dashboard.Register{Kind: kind, Version: version, CSV: text, Count: count,
			SHA256: dashboard.SHA256(text), Updated: s.Clock.Now(), UpdatedBy: r.User.Name})
	}
	s.auditf(r, "register."+kind+".save", "", fmt.Sprintf("version %d", version), fmt.Sprintf("%s, %d records", source, count), result(err))
	back(w, r, "/registers", err)
}

func registerText(r *request) (text, source string, err error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return "", "", gateway.Errorf(gateway.EINVALID, "upload: %v", err)
		}
		if f, h, err := r.FormFile("file"); err == nil {
			b, err := io.ReadAll(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", "", gateway.Errorf(gateway.EINVALID, "upload %s: %v", h.Filename, err)
			}
			return strings.TrimPrefix(string(b), "\ufeff"), "file " + h.Filename, nil
		}
	}
	text = strings.ReplaceAll(r.PostFormValue("csv"), "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return "", "", gateway.Errorf(gateway.EINVALID, "csv: the register is empty (paste it, or choose a file)")
	}
	return text, "edited in the console", nil
}

// nextRegisterVersion is above the master's and every room's version, so a
// room accepts it.
func (s *Server) nextRegisterVersion(kind string) int64 {
	var v int64
	if m, err := s.Store.Register(kind); err == nil {
		v = m.Version
	}
	held, _ := s.heldRegisters(kind)
	for _, h := range held {
		v = max(v, h.Version)
	}
	return v + 1
}

// heldRegisters is what each room says it holds of a register, by room.
func (s *Server) heldRegisters(kind string) (map[string]heldRegister, error) {
	held, err := s.Store.Retained("", kind)
	if err != nil {
		return nil, err
	}
	byRoom := map[string]heldRegister{}
	for _, r := range held {
		var h heldRegister
		if json.Unmarshal(r.Payload, &h) == nil {
			h.Room = r.Room
			byRoom[r.Room] = h
		}
	}
	return byRoom, nil
}

// syncRegister sends the master copy to one room or every room.
func (s *Server) syncRegister(w http.ResponseWriter, r *request) {
	kind := r.PathValue("kind")
	m, err := s.Store.Register(kind)
	if err != nil {
		s.auditf(r, "register."+kind+".sync", "", "", "", result(err))
		back(w, r, "/registers", err)
		return
	}
	var rooms []string
	if room := r.PostFormValue("room"); room != "" {
		rooms = []string{room}
	} else {
		for _, rr := range s.Store.Rooms() {
			rooms = append(rooms, rr.Room)
		}
	}
	cmd := map[string]string{"personnel": "personnel/replace", "carriers": "carriers/replace"}[kind]
	var failed []string
	for _, room := range rooms {
		_, err := s.call(r, "register."+kind+".sync", room, fmt.Sprintf("version %d", m.Version), cmd,
			map[string]any{"version": m.Version, "csv": m.CSV}, fmt.Sprintf("%d records, sha256 %s", m.Count, m.SHA256[:12]))
		if err != nil {
			failed = append(failed, room+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		err = gateway.Errorf(gateway.ECONFLICT, "%s", strings.Join(failed, "\n"))
	}
	back(w, r, "/registers", err)
}
