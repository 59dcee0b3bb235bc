package rooms

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// The CSV format of the timetable import and export (docs/rooms.md):
// a header line naming the columns (any order, any case), then one line
// per weekly slot (day, start, end) or one-off window (date, start, end,
// optionally end_date), or one line without either for a room that is
// always open. Lines with the same tenant and name form one room; its
// other columns may be repeated on every line (they must then agree) or
// given once. Lists (organizers, participants) are separated by ';' or
// ',' inside the field. UTF-8, with or without a byte order mark; the
// delimiter is ',' or ';' (what the header uses).
var csvColumns = []string{
	"name", "tenant", "title", "organizers", "participants",
	"day", "date", "start", "end", "end_date",
	"timezone", "valid_from", "valid_until",
	"lobby", "password", "max_occupants", "open_early",
}

// roomColumns are the columns that describe the room rather than one
// slot; the lines of a room must agree on them.
var roomColumns = []string{
	"title", "organizers", "participants", "timezone", "valid_from", "valid_until",
	"lobby", "password", "max_occupants", "open_early",
}

// MaxImportBytes bounds an imported file.
const MaxImportBytes = 10 << 20

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ImportOptions control Import.
type ImportOptions struct {
	// DryRun checks the file and reports what would change without
	// writing anything (the admin page's preview, `rooms import -dry-run`).
	DryRun bool
	// CreatedBy is recorded on the rooms the import creates.
	CreatedBy string
}

// Action is what an import does to one room.
type Action string

const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionUnchanged Action = "unchanged"
)

// Change is one room of an import.
type Change struct {
	Action Action
	// Tenant and Name (backend-safe) identify the room; Display is the
	// name as Jitsi shows it, Title the title it will have.
	Tenant, Name, Display, Title string
	// Lines are the file's line numbers of the room.
	Lines []int
	// Fields are the Spec fields an update changes (JSON names).
	Fields []string
	// ID is the room's id (updated and unchanged rooms; created rooms once
	// written).
	ID string
}

// ImportReport is what Import did, or (DryRun) would do.
type ImportReport struct {
	// Changes are the rooms of the file, in the order they first appear.
	Changes                     []Change
	Created, Updated, Unchanged int
	// Applied is true when the changes were written.
	Applied bool
}

// LineError is one problem of an imported file.
type LineError struct {
	// Line is the line number in the file (1 is the header); 0 for the
	// file as a whole.
	Line int
	// Column is the column at fault, "" when it is the line as a whole.
	Column  string
	Message string
}

func (e LineError) String() string {
	switch {
	case e.Line > 0 && e.Column != "":
		return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

// ImportError lists every problem of a file; nothing was written.
type ImportError struct {
	Errors []LineError
}

func (e *ImportError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, le := range e.Errors {
		parts[i] = le.String()
	}
	return fmt.Sprintf("import: %d problem(s), nothing was written: %s", len(e.Errors), strings.Join(parts, "; "))
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ImportError) Is(target error) bool { return target == ErrInvalid }

// csvRoom collects the lines of one room.
type csvRoom struct {
	key   cacheKey
	typed string // the name as written on its first line
	lines []int
	// first holds the first non-empty value of each room column and its line.
	first   map[string]csvValue
	slots   []csvSlot
	windows []csvWindow
	// bad: one of its lines has a problem.
	bad bool
}

type csvValue struct {
	value string
	line  int
}

type csvSlot struct {
	line int
	spec SlotSpec
}

type csvWindow struct {
	line              int
	date, endDate     schedule.Date
	start, end        schedule.Clock
	hasEndDate        bool
	startCol, dateCol string
}

// Import reads a CSV timetable (format above; docs/rooms.md), checks
// every line and every room, and then (unless opts.DryRun) creates and
// updates the rooms in one transaction: all or nothing. A bad file is an
// *ImportError listing every problem with its line and column, and
// nothing is written. Rooms that are not in the file are left alone.
func (s *Service) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	groups, errs := s.readCSV(r)
	type planned struct {
		group *csvRoom
		rec   store.Room
	}
	var plan []planned
	for _, g := range groups {
		if g.bad {
			continue // its line problems are reported; the room's would repeat them
		}
		rec, errs2 := s.csvRoomRecord(g)
		errs = append(errs, errs2...)
		if len(errs2) == 0 {
			plan = append(plan, planned{g, rec})
		}
	}
	if len(errs) > 0 {
		return nil, importError(errs)
	}

	existing, err := s.store.ListRooms(ctx, store.RoomFilter{})
	if err != nil {
		return nil, fmt.Errorf("rooms: import: %w", err)
	}
	byKey := make(map[cacheKey]store.Room, len(existing))
	for _, rec := range existing {
		byKey[cacheKey{rec.Tenant, rec.Name}] = rec
	}
	report := &ImportReport{}
	var writes []store.Room
	var writeIndex []int // index into report.Changes
	for _, p := range plan {
		ch := Change{Tenant: p.rec.Tenant, Name: p.rec.Name, Display: displayOf(p.rec.Name), Title: p.rec.Title, Lines: p.group.lines}
		old, ok := byKey[p.group.key]
		switch {
		case !ok:
			ch.Action = ActionCreate
			report.Created++
		default:
			ch.ID = old.ID
			ch.Fields = changedFields(old, p.rec)
			if len(ch.Fields) == 0 {
				ch.Action = ActionUnchanged
				report.Unchanged++
			} else {
				ch.Action = ActionUpdate
				report.Updated++
			}
		}
		report.Changes = append(report.Changes, ch)
		if ch.Action != ActionUnchanged {
			rec := p.rec
			rec.CreatedBy = opts.CreatedBy
			writes = append(writes, rec)
			writeIndex = append(writeIndex, len(report.Changes)-1)
		}
	}
	if opts.DryRun || len(writes) == 0 {
		report.Applied = !opts.DryRun
		return report, nil
	}
	res, err := s.store.ImportRooms(ctx, writes)
	s.forgetAll()
	if err != nil {
		var ie *store.ImportError
		if errors.As(err, &ie) && (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid)) {
			ch := report.Changes[writeIndex[ie.Index]]
			return nil, importError([]LineError{{Line: ch.Lines[0], Column: "name",
				Message: fmt.Sprintf("room %q could not be written (%v); nothing was written", ch.Display, ie.Err)}})
		}
		return nil, fmt.Errorf("rooms: import: %w", err)
	}
	for i, stored := range res.Rooms {
		report.Changes[writeIndex[i]].ID = stored.ID
	}
	report.Applied = true
	s.log.Info("rooms: imported", "created", report.Created, "updated", report.Updated,
		"unchanged", report.Unchanged, "by", opts.CreatedBy)
	return report, nil
}

func importError(errs []LineError) *ImportError {
	slices.SortStableFunc(errs, func(a, b LineError) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return slices.Index(csvColumns, a.Column) - slices.Index(csvColumns, b.Column)
	})
	return &ImportError{Errors: errs}
}

func displayOf(safe string) string {
	if n, err := room.Parse(safe); err == nil {
		return n.Display
	}
	return safe
}

// readCSV reads the file into rooms, checking what one line can tell.
func (s *Service) readCSV(r io.Reader) ([]*csvRoom, []LineError) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, []LineError{{Message: "cannot read the file: " + err.Error()}}
	}
	if len(data) > MaxImportBytes {
		return nil, []LineError{{Message: fmt.Sprintf("the file is larger than %d MiB", MaxImportBytes>>20)}}
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		line := 1
		for i := 0; i < len(data); {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			if r == '\n' {
				line++
			}
			i += size
		}
		return nil, []LineError{{Line: line, Message: "is not UTF-8 text; save the file as \"CSV UTF-8\""}}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = detectDelimiter(data)
	cr.FieldsPerRecord = -1

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []LineError{{Line: 1, Message: "the file is empty; the first line must name the columns: " + strings.Join(csvColumns, ",")}}
	}
	if err != nil {
		return nil, []LineError{csvParseError(err)}
	}
	cols, errs := readHeader(header)
	if len(errs) > 0 {
		return nil, errs
	}

	var groups []*csvRoom
	byKey := map[cacheKey]*csvRoom{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// After a broken quote the reader cannot tell where lines
			// end, so later lines would be misreported.
			errs = append(errs, csvParseError(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		vals := map[string]string{}
		extra := false
		for i, v := range rec {
			name, ok := cols[i]
			if !ok {
				if strings.TrimSpace(v) != "" {
					extra = true
				}
				continue
			}
			vals[name] = restoreFormula(strings.TrimSpace(v))
		}
		if extra {
			errs = append(errs, LineError{Line: line, Message: fmt.Sprintf("has a value in a column without a name in the header (%d fields, the header names %d)", len(rec), len(cols))})
			continue
		}
		g, lineErrs := s.addCSVLine(byKey, line, vals)
		errs = append(errs, lineErrs...)
		if g == nil {
			continue
		}
		if len(lineErrs) > 0 {
			g.bad = true
		}
		if len(g.lines) == 1 {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 && len(errs) == 0 {
		errs = append(errs, LineError{Line: 2, Message: "the file has a header but no rooms"})
	}
	return groups, errs
}

// detectDelimiter picks ';' when the header line has more semicolons than
// commas outside quotes (German Excel), else ','.
func detectDelimiter(data []byte) rune {
	commas, semis := 0, 0
	quoted := false
	for _, b := range data {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == '\n':
			if semis > commas {
				return ';'
			}
			return ','
		case b == ',':
			commas++
		case b == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

func csvParseError(err error) LineError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return LineError{Line: pe.Line, Message: fmt.Sprintf("column %d: %v (a quote must open and close a whole field; double it inside one: \"\")", pe.Column, pe.Err)}
	}
	return LineError{Message: err.Error()}
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// readHeader maps field positions to column names.
func readHeader(header []string) (map[int]string, []LineError) {
	cols := map[int]string{}
	seen := map[string]int{}
	var errs []LineError
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		switch {
		case name == "":
			continue // Excel writes trailing empty columns; their values are checked
		case !slices.Contains(csvColumns, name):
			errs = append(errs, LineError{Line: 1, Column: h,
				Message: fmt.Sprintf("%q is not a column; the columns are %s", h, strings.Join(csvColumns, ", "))})
			continue
		}
		if first, dup := seen[name]; dup {
			errs = append(errs, LineError{Line: 1, Column: name, Message: fmt.Sprintf("column %s appears twice (fields %d and %d)", name, first+1, i+1)})
			continue
		}
		seen[name] = i
		cols[i] = name
	}
	if _, ok := seen["name"]; !ok && len(errs) == 0 {
		errs = append(errs, LineError{Line: 1, Message: "the header has no name column (the first line must name the columns: " + strings.Join(csvColumns, ",") + ")"})
	}
	return cols, errs
}

// addCSVLine files one line under its room and checks what it can.
func (s *Service) addCSVLine(byKey map[cacheKey]*csvRoom, line int, v map[string]string) (*csvRoom, []LineError) {
	var errs []LineError
	bad := func(col, format string, args ...any) {
		errs = append(errs, LineError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
	}
	var key cacheKey
	typed := v["name"]
	if typed == "" {
		bad("name", "is empty; every line names its room")
	} else if n, err := room.Parse(typed); err != nil {
		bad("name", "%q is not a valid room name: %v", typed, err)
	} else {
		key.name = n.Safe
	}
	t, err := s.tenantOf(v["tenant"])
	if err != nil {
		bad("tenant", "%q: %v", v["tenant"], err)
	}
	key.tenant = t
	if len(errs) > 0 {
		return nil, errs
	}
	g := byKey[key]
	if g == nil {
		g = &csvRoom{key: key, typed: typed, first: map[string]csvValue{}}
		byKey[key] = g
	}
	g.lines = append(g.lines, line)

	for _, col := range roomColumns {
		val := v[col]
		if val == "" {
			continue
		}
		if prev, ok := g.first[col]; ok {
			if !sameValue(col, prev.value, val) {
				shown := fmt.Sprintf(" (%q)", prev.value)
				if col == "password" {
					shown = ""
				}
				bad(col, "differs from line %d%s; the lines of room %q must agree, or leave it empty after the first", prev.line, shown, g.typed)
			}
			continue
		}
		g.first[col] = csvValue{val, line}
	}

	day, date := v["day"], v["date"]
	switch {
	case day != "" && date != "":
		bad("date", "a line is a weekly slot (day) or a one-off date, not both")
	case day != "":
		if v["end_date"] != "" {
			bad("end_date", "only for one-off dates; a weekly slot ends on its day")
		}
		sl := SlotSpec{Day: day, Start: v["start"], End: v["end"]}
		_, dayErr := schedule.ParseDay(day)
		if dayErr != nil {
			bad("day", "%v", dayErr)
		}
		start, end, ok := clocks(v, bad)
		if ok && dayErr == nil {
			if _, err := schedule.ParseSlot(fmt.Sprintf("%s %s-%s", day, start, end)); err != nil {
				bad("end", "%v", err)
			}
		}
		g.slots = append(g.slots, csvSlot{line: line, spec: sl})
	case date != "":
		w := csvWindow{line: line}
		d, err := schedule.ParseDate(date)
		if err != nil {
			bad("date", "%v", err)
		}
		w.date = d
		if ed := v["end_date"]; ed != "" {
			if w.endDate, err = schedule.ParseDate(ed); err != nil {
				bad("end_date", "%v", err)
			}
			w.hasEndDate = true
		}
		start, end, ok := clocks(v, bad)
		w.start, w.end = start, end
		if ok && !w.hasEndDate && end <= start {
			bad("end", "the end (%s) must be after the start (%s); a window over midnight needs end_date", end, start)
		}
		g.windows = append(g.windows, w)
	case v["start"] != "" || v["end"] != "" || v["end_date"] != "":
		bad("start", "start and end need a day (weekly slot) or a date (one-off)")
	}
	return g, errs
}

// clocks reads the start and end columns.
func clocks(v map[string]string, bad func(col, format string, args ...any)) (start, end schedule.Clock, ok bool) {
	ok = true
	var err error
	switch {
	case v["start"] == "":
		bad("start", "is required with a day or date")
		ok = false
	default:
		if start, err = schedule.ParseClock(v["start"]); err != nil {
			bad("start", "%v", err)
			ok = false
		} else if start == schedule.EndOfDay {
			bad("start", "24:00 is not a start; use 00:00 of the next day")
			ok = false
		}
	}
	switch {
	case v["end"] == "":
		bad("end", "is required with a day or date")
		ok = false
	default:
		if end, err = schedule.ParseClock(v["end"]); err != nil {
			bad("end", "%v", err)
			ok = false
		}
	}
	return start, end, ok
}

// sameValue compares two values of a room column the way they are read.
func sameValue(col, a, b string) bool {
	switch col {
	case "organizers", "participants":
		return slices.Equal(splitList(a), splitList(b))
	case "lobby":
		x, errA := parseBool(a)
		y, errB := parseBool(b)
		return errA == nil && errB == nil && x == y
	case "timezone":
		return strings.EqualFold(a, b)
	}
	return a == b
}

// splitList splits a list field at ';' and ','.
func splitList(v string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseBool reads a yes/no field in English or German, or as x/1/0.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "no", "n", "0", "nein", "off":
		return false, nil
	case "true", "yes", "y", "1", "ja", "j", "x", "on":
		return true, nil
	}
	return false, fmt.Errorf("%q is not yes or no (write true or false)", v)
}

// csvRoomRecord builds and checks the room of a group of lines.
func (s *Service) csvRoomRecord(g *csvRoom) (store.Room, []LineError) {
	var errs []LineError
	first := g.lines[0]
	val := func(col string) string { return g.first[col].value }
	lineOf := func(col string) int {
		if v, ok := g.first[col]; ok {
			return v.line
		}
		return first
	}
	spec := Spec{
		Name: g.typed, Tenant: g.key.tenant, Title: val("title"),
		Organizers: splitList(val("organizers")), Participants: splitList(val("participants")),
		Password: val("password"), Timezone: val("timezone"),
		ValidFrom: val("valid_from"), ValidUntil: val("valid_until"), OpenEarly: val("open_early"),
		Weekly: []SlotSpec{}, Windows: []WindowSpec{},
	}
	var err error
	if spec.Lobby, err = parseBool(val("lobby")); err != nil {
		errs = append(errs, LineError{Line: lineOf("lobby"), Column: "lobby", Message: err.Error()})
	}
	if v := val("max_occupants"); v != "" {
		if spec.MaxOccupants, err = strconv.Atoi(v); err != nil {
			errs = append(errs, LineError{Line: lineOf("max_occupants"), Column: "max_occupants",
				Message: fmt.Sprintf("%q is not a whole number (0 or empty: no limit)", v)})
		}
	}
	for _, sl := range g.slots {
		spec.Weekly = append(spec.Weekly, sl.spec)
	}
	if len(g.windows) > 0 {
		tz := spec.Timezone
		if tz == "" {
			tz = s.opts.Timezone
		}
		if loc, err := s.location(tz); err == nil {
			for _, w := range g.windows {
				endDate := w.date
				if w.hasEndDate {
					endDate = w.endDate
				}
				spec.Windows = append(spec.Windows, WindowSpec{
					Start: w.date.At(w.start, loc).Format(time.RFC3339),
					End:   endDate.At(w.end, loc).Format(time.RFC3339),
				})
			}
		} // else normalize reports the timezone
	}
	if len(errs) > 0 {
		return store.Room{}, errs
	}
	n, err := s.normalize(spec)
	if err == nil {
		return n.rec, nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return store.Room{}, []LineError{{Line: first, Message: err.Error()}}
	}
	for _, fe := range ve.Errors {
		le := LineError{Line: lineOf(fe.Field), Column: fe.Field, Message: fe.Message}
		switch fe.Field {
		case "name":
			le.Line = first
		case "weekly":
			le.Column = "day"
			le.Line = lineOfItem(fe.Message, "slot ", len(g.slots), func(i int) int { return g.slots[i].line },
				func(i int) string { return slotText(g.slots[i].spec) }, g.slots != nil, first)
		case "windows":
			le.Column = "date"
			le.Line = lineOfItem(fe.Message, "window ", len(g.windows), func(i int) int { return g.windows[i].line },
				func(i int) string { return spec.Windows[i].Start }, len(spec.Windows) == len(g.windows), first)
		}
		errs = append(errs, le)
	}
	return store.Room{}, errs
}

// lineOfItem finds the line a slot or window problem is about: the
// message starts with "slot 3: " (its position), or quotes the item
// (an overlap names both; the later line is the one to look at).
func lineOfItem(msg, prefix string, n int, line func(int) int, text func(int) string, haveText bool, fallback int) int {
	if rest, ok := strings.CutPrefix(msg, prefix); ok {
		if num, _, ok := strings.Cut(rest, ":"); ok {
			if i, err := strconv.Atoi(num); err == nil && i >= 1 && i <= n {
				return line(i - 1)
			}
		}
	}
	found := 0
	if haveText {
		for i := range n {
			if t := text(i); t != "" && strings.Contains(msg, t) {
				found = max(found, line(i))
			}
		}
	}
	if found > 0 {
		return found
	}
	return fallback
}

// slotText is a slot as the schedule package quotes it ("mon 08:00-08:45").
func slotText(sl SlotSpec) string {
	p, err := parseSlot(sl)
	if err != nil {
		return ""
	}
	return p.String()
}

// changedFields names the Spec fields in which rec differs from old.
func changedFields(old, rec store.Room) []string {
	var out []string
	add := func(changed bool, field string) {
		if changed {
			out = append(out, field)
		}
	}
	add(old.Title != rec.Title, "title")
	add(!slices.Equal(old.Organizers, rec.Organizers), "organizers")
	add(!slices.Equal(old.Participants, rec.Participants), "participants")
	add(old.Lobby != rec.Lobby, "lobby")
	add(old.Password != rec.Password, "password")
	add(old.MaxOccupants != rec.MaxOccupants, "max_occupants")
	add(!slices.EqualFunc(old.Windows, rec.Windows, func(a, b store.Window) bool {
		return a.Start.Equal(b.Start) && a.End.Equal(b.End)
	}), "windows")
	add(!slices.Equal(old.Weekly, rec.Weekly), "weekly")
	add(old.Timezone != rec.Timezone, "timezone")
	add(old.ValidFrom != rec.ValidFrom, "valid_from")
	add(old.ValidUntil != rec.ValidUntil, "valid_until")
	add(old.OpenEarly != rec.OpenEarly.Truncate(time.Millisecond), "open_early")
	return out
}

// ExportOptions control Export.
type ExportOptions struct {
	// Comma is the delimiter: ',' (the default) or ';' (what German Excel
	// reads and writes).
	Comma rune
	// BOM starts the file with a UTF-8 byte order mark, without which
	// Excel reads UTF-8 as its local code page.
	BOM bool
	// Filter selects the rooms; the zero Filter exports all.
	Filter Filter
}

// Export writes the rooms as the CSV Import reads, so that importing an
// export changes nothing. The file contains the rooms' passwords.
func (s *Service) Export(ctx context.Context, w io.Writer, opts ExportOptions) error {
	switch opts.Comma {
	case 0:
		opts.Comma = ','
	case ',', ';':
	default:
		return fmt.Errorf("rooms: export: delimiter %q: use ',' or ';'", opts.Comma)
	}
	list, err := s.List(ctx, opts.Filter)
	if err != nil {
		return err
	}
	if opts.BOM {
		if _, err := w.Write(utf8BOM); err != nil {
			return fmt.Errorf("rooms: export: %w", err)
		}
	}
	cw := csv.NewWriter(w)
	cw.Comma = opts.Comma
	if err := cw.Write(csvColumns); err != nil {
		return fmt.Errorf("rooms: export: %w", err)
	}
	for _, r := range list {
		for _, row := range csvRows(r) {
			for i := range row {
				row[i] = defuseFormula(row[i])
			}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("rooms: export: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("rooms: export: %w", err)
	}
	return nil
}

// csvRows are the lines of one room, in csvColumns order: its weekly
// slots (Monday first), then its windows, or one line without either.
func csvRows(r *Room) [][]string {
	loc := r.Schedule.Location
	maxOcc := ""
	if r.MaxOccupants > 0 {
		maxOcc = strconv.Itoa(r.MaxOccupants)
	}
	lobby := "false"
	if r.Lobby {
		lobby = "true"
	}
	base := map[string]string{
		"name": r.Display, "tenant": r.Tenant, "title": r.Title,
		"organizers": strings.Join(r.Organizers, ";"), "participants": strings.Join(r.Participants, ";"),
		"timezone": r.Timezone, "valid_from": r.ValidFrom, "valid_until": r.ValidUntil,
		"lobby": lobby, "password": r.Password, "max_occupants": maxOcc, "open_early": formatDuration(r.OpenEarly),
	}
	row := func(extra map[string]string) []string {
		out := make([]string, len(csvColumns))
		for i, c := range csvColumns {
			if v, ok := extra[c]; ok {
				out[i] = v
			} else {
				out[i] = base[c]
			}
		}
		return out
	}
	var rows [][]string
	for _, sl := range schedule.SortSlots(r.Schedule.Weekly) {
		rows = append(rows, row(map[string]string{"day": schedule.DayName(sl.Day), "start": sl.Start.String(), "end": sl.End.String()}))
	}
	windows := slices.Clone(r.Schedule.Windows)
	slices.SortFunc(windows, func(a, b schedule.Window) int { return a.Start.Compare(b.Start) })
	for _, w := range windows {
		start, end := w.Start.In(loc), w.End.In(loc)
		cols := map[string]string{"date": start.Format(time.DateOnly), "start": start.Format("15:04")}
		endDay := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
		switch {
		case sameDate(start, end):
			cols["end"] = end.Format("15:04")
		case end.Equal(endDay.AddDate(0, 0, 1)) && end.Hour() == 0 && end.Minute() == 0:
			cols["end"] = "24:00"
		default:
			cols["end"], cols["end_date"] = end.Format("15:04"), end.Format(time.DateOnly)
		}
		rows = append(rows, row(cols))
	}
	if len(rows) == 0 {
		rows = append(rows, row(nil))
	}
	return rows
}

func sameDate(a, b time.Time) bool {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	return ya == yb && ma == mb && da == db
}

// formulaStarts are the first characters with which a spreadsheet reads a
// cell as a formula (=HYPERLINK("https://…?"&O2,…) would send other rooms'
// passwords away when an admin opens the export).
const formulaStarts = "=+-@\t\r"

// defuseFormula makes a cell that a spreadsheet would run as a formula
// plain text, the way spreadsheets themselves mark text: a leading '.
func defuseFormula(cell string) string {
	if cell != "" && strings.ContainsRune(formulaStarts, rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// restoreFormula undoes defuseFormula on import, so export → import is
// unchanged.
func restoreFormula(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && strings.ContainsRune(formulaStarts, rune(cell[1])) {
		return cell[1:]
	}
	return cell
}
