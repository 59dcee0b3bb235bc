package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// roomsCommands are the subcommands of `jitsi-gate rooms`.
var roomsCommands = map[string]command{
	"create": {"create a room and print its join link", runRoomsCreate},
	"update": {"change a room (only the flags given)", runRoomsUpdate},
	"delete": {"delete a room", runRoomsDelete},
	"show":   {"show one room", runRoomsShow},
	"list":   {"list the rooms", runRoomsList},
	"import": {"create and update rooms from a CSV timetable (all or nothing)", runRoomsImport},
	"export": {"write the rooms as a CSV timetable (import reads it back)", runRoomsExport},
}

// runRooms manages the room registry (docs/rooms.md) from the command line.
func runRooms(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		w := e.stderr
		if len(args) > 0 {
			w = e.stdout
		}
		fmt.Fprintln(w, "Usage: jitsi-gate rooms COMMAND -config FILE [flags]")
		fmt.Fprintln(w, "\nCommands:")
		for _, n := range roomsCommandNames() {
			fmt.Fprintf(w, "  %-7s %s\n", n, roomsCommands[n].summary)
		}
		fmt.Fprintln(w, "\nRun 'jitsi-gate rooms COMMAND -h' for its flags. The CSV format is in docs/rooms.md.")
		if len(args) == 0 {
			return exitError{code: 2}
		}
		return nil
	}
	sub, ok := roomsCommands[args[0]]
	if !ok {
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate rooms: unknown command %q (%s)", args[0], strings.Join(roomsCommandNames(), ", "))}
	}
	return sub.run(ctx, e, args[1:])
}

func roomsCommandNames() []string {
	names := make([]string, 0, len(roomsCommands))
	for n := range roomsCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// roomsEnv is what a rooms subcommand works with.
type roomsEnv struct {
	cfg   *config.Config
	store *store.Store
	svc   *rooms.Service
}

// openRooms loads the config and opens the store and the room service,
// printing every problem.
func openRooms(ctx context.Context, e env, configPath string) (*roomsEnv, error) {
	cfg, err := loadConfig(configPath, e.getenv)
	if err != nil {
		printProblems(e.stderr, configPath, err)
		return nil, exitError{code: 1}
	}
	logger := newLogger(io.Discard, cfg.Log)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		printProblems(e.stderr, configPath, err)
		return nil, exitError{code: 1}
	}
	svc, err := newRoomService(cfg, st, logger)
	if err != nil {
		st.Close()
		printProblems(e.stderr, configPath, err)
		return nil, exitError{code: 1}
	}
	return &roomsEnv{cfg: cfg, store: st, svc: svc}, nil
}

// roomFlags are the flags of the subcommands that work on one room.
type roomFlags struct {
	config, name, tenant *string
}

func addRoomFlags(fs *flag.FlagSet) roomFlags {
	return roomFlags{
		config: fs.String("config", "", "config file; empty: the built-in demo configuration"),
		name:   fs.String("name", "", "room name (required)"),
		tenant: fs.String("tenant", "", "tenant (default: the one in jitsi.url, if any)"),
	}
}

// open checks -name, opens the registry and finds the room; cmd names the
// subcommand in messages. The caller closes re.store.
func (f roomFlags) open(ctx context.Context, e env, fs *flag.FlagSet, cmd string) (*roomsEnv, *rooms.Room, error) {
	if strings.TrimSpace(*f.name) == "" {
		fs.Usage()
		return nil, nil, exitError{code: 2, msg: "jitsi-gate rooms " + cmd + ": -name is required"}
	}
	re, err := openRooms(ctx, e, *f.config)
	if err != nil {
		return nil, nil, err
	}
	r, err := re.svc.ByName(ctx, *f.tenant, *f.name)
	if err != nil {
		re.store.Close()
		return nil, nil, roomError(cmd, err)
	}
	return re, r, nil
}

// parseInterleaved parses flags that may come before and after the
// positional arguments (`rooms import FILE -dry-run`).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitError{code: 2}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// specFlags are the flags of create and update, one per Spec field.
type specFlags struct {
	name, tenant, title, organizers, participants, password string
	start, end, weekly, timezone, from, until, openEarly    string
	lobby                                                   bool
	maxOccupants                                            int
}

func (f *specFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", `room name as people type it, e.g. "Mathe 7b" (required)`)
	fs.StringVar(&f.tenant, "tenant", "", "Jitsi tenant (default: the one in jitsi.url, if any)")
	fs.StringVar(&f.title, "title", "", "title shown to people (default: the name)")
	fs.StringVar(&f.organizers, "organizers", "", "comma-separated usernames, BACKEND:username and group:NAME entries; organizers may open the room early")
	fs.StringVar(&f.participants, "participants", "", "comma-separated usernames and group:NAME entries (empty: anyone the rules let in)")
	fs.BoolVar(&f.lobby, "lobby", false, "turn on the lobby (Prosody reservations_enable_lobby_support)")
	fs.StringVar(&f.password, "password", "", `room password ("-": read it from the first line of stdin, keeping it out of the shell history)`)
	fs.IntVar(&f.maxOccupants, "max-occupants", 0, "most participants at once (0: no limit)")
	fs.StringVar(&f.start, "start", "", "one-off window start, RFC 3339 with offset, e.g. 2026-09-14T08:00:00+02:00 (with -end)")
	fs.StringVar(&f.end, "end", "", "one-off window end, RFC 3339 with offset (with -start)")
	fs.StringVar(&f.weekly, "weekly", "", `weekly slots, e.g. "mon 08:00-08:45,thu 10:00-10:45"`)
	fs.StringVar(&f.timezone, "timezone", "", "IANA timezone of the slots (default: rooms.timezone)")
	fs.StringVar(&f.from, "from", "", "first day of the term, e.g. 2026-09-01 (limits weekly slots)")
	fs.StringVar(&f.until, "until", "", "last day of the term, e.g. 2027-07-31")
	fs.StringVar(&f.openEarly, "open-early", "", "organizers may open the room this long before a slot, e.g. 10m (default: rooms.open_early)")
}

// apply writes the flags that were given (set) into spec.
func (f *specFlags) apply(e env, spec *rooms.Spec, set map[string]bool, cmd string) error {
	list := func(v string) []string {
		out := []string{}
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out
	}
	if set["tenant"] {
		spec.Tenant = f.tenant
	}
	if set["title"] {
		spec.Title = f.title
	}
	if set["organizers"] {
		spec.Organizers = list(f.organizers)
	}
	if set["participants"] {
		spec.Participants = list(f.participants)
	}
	if set["lobby"] {
		spec.Lobby = f.lobby
	}
	if set["password"] {
		spec.Password = f.password
		if f.password == "-" {
			line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read the password from stdin: %w", err)
			}
			spec.Password = strings.TrimRight(line, "\r\n")
		}
	}
	if set["max-occupants"] {
		spec.MaxOccupants = f.maxOccupants
	}
	switch {
	case set["start"] != set["end"]:
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate rooms %s: -start and -end go together", cmd)}
	case set["start"] && f.start == "" && f.end == "":
		spec.Windows = []rooms.WindowSpec{}
	case set["start"]:
		spec.Windows = []rooms.WindowSpec{{Start: f.start, End: f.end}}
	}
	if set["weekly"] {
		// Split only; the service checks the slots with everything else,
		// so one run reports every problem.
		spec.Weekly = []rooms.SlotSpec{}
		if strings.TrimSpace(f.weekly) != "" {
			for _, item := range strings.Split(f.weekly, ",") {
				fields := strings.Fields(item)
				var sl rooms.SlotSpec
				if len(fields) > 0 {
					sl.Day = fields[0]
					sl.Start, sl.End, _ = strings.Cut(strings.Join(fields[1:], ""), "-")
				}
				spec.Weekly = append(spec.Weekly, sl)
			}
		}
	}
	if set["timezone"] {
		spec.Timezone = f.timezone
	}
	if set["from"] {
		spec.ValidFrom = f.from
	}
	if set["until"] {
		spec.ValidUntil = f.until
	}
	if set["open-early"] {
		spec.OpenEarly = f.openEarly
	}
	return nil
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// roomError turns a service error into the command's exit: every field
// problem on its own line.
func roomError(cmd string, err error) error {
	var ve *rooms.ValidationError
	switch {
	case errors.As(err, &ve):
		lines := make([]string, len(ve.Errors))
		for i, fe := range ve.Errors {
			lines[i] = "  - " + flagOf(fe.Field) + ": " + fe.Message
		}
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: invalid room, nothing was written:\n%s", cmd, strings.Join(lines, "\n"))}
	case errors.Is(err, rooms.ErrConflict):
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: a room with this name already exists in this tenant (change it with: jitsi-gate rooms update)", cmd)}
	case errors.Is(err, rooms.ErrNotFound):
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: no such room (list them with: jitsi-gate rooms list)", cmd)}
	case errors.Is(err, rooms.ErrStale):
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: the room was changed by someone else meanwhile; run the command again", cmd)}
	}
	return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: %v", cmd, err)}
}

// flagOf names the flag of a Spec field.
func flagOf(field string) string {
	switch field {
	case "windows":
		return "-start/-end"
	case "valid_from":
		return "-from"
	case "valid_until":
		return "-until"
	case "max_occupants":
		return "-max-occupants"
	case "open_early":
		return "-open-early"
	}
	return "-" + field
}

func runRoomsCreate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms create", `-config FILE -name "Mathe 7b" [-organizers teacher1,group:fachschaft-mathe] [-weekly "mon 08:00-08:45"] ...`)
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	asJSON := fs.Bool("json", false, "print the room as JSON")
	var f specFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := flagsSet(fs)
	if strings.TrimSpace(f.name) == "" {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate rooms create: -name is required"}
	}
	spec := rooms.Spec{Name: f.name}
	if err := f.apply(e, &spec, set, "create"); err != nil {
		return err
	}
	re, err := openRooms(ctx, e, *configPath)
	if err != nil {
		return err
	}
	defer re.store.Close()
	r, err := re.svc.Create(ctx, spec, "cli")
	if err != nil {
		return roomError("create", err)
	}
	return printRoom(e.stdout, re.svc, r, *asJSON, false)
}

func runRoomsUpdate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms update", `-config FILE -name "Mathe 7b" [-tenant T] [-rename NEW] [the flags of create to change]`)
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	rename := fs.String("rename", "", "new room name (the join link changes)")
	asJSON := fs.Bool("json", false, "print the room as JSON")
	var f specFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := flagsSet(fs)
	if strings.TrimSpace(f.name) == "" {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate rooms update: -name is required (the room to change)"}
	}
	re, err := openRooms(ctx, e, *configPath)
	if err != nil {
		return err
	}
	defer re.store.Close()
	r, err := re.svc.ByName(ctx, f.tenant, f.name)
	if err != nil {
		return roomError("update", err)
	}
	spec := r.Spec()
	delete(set, "tenant") // -tenant finds the room; it does not move it
	if err := f.apply(e, &spec, set, "update"); err != nil {
		return err
	}
	if *rename != "" {
		spec.Name = *rename
	}
	up, err := re.svc.Update(ctx, r.ID, spec, r.Version)
	if err != nil {
		return roomError("update", err)
	}
	return printRoom(e.stdout, re.svc, up, *asJSON, false)
}

func runRoomsDelete(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms delete", `-config FILE -name "Mathe 7b" [-tenant T]`)
	rf := addRoomFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	re, r, err := rf.open(ctx, e, fs, "delete")
	if err != nil {
		return err
	}
	defer re.store.Close()
	if err := re.svc.Delete(ctx, r.ID, r.Version); err != nil {
		return roomError("delete", err)
	}
	fmt.Fprintf(e.stdout, "Deleted room %s (%s).\n", r.Title, roomLabel(r))
	return nil
}

func runRoomsShow(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms show", `-config FILE -name "Mathe 7b" [-tenant T] [-json] [-show-password]`)
	rf := addRoomFlags(fs)
	asJSON := fs.Bool("json", false, "print the room as JSON")
	showPassword := fs.Bool("show-password", false, "print the room password")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	re, r, err := rf.open(ctx, e, fs, "show")
	if err != nil {
		return err
	}
	defer re.store.Close()
	return printRoom(e.stdout, re.svc, r, *asJSON, *showPassword)
}

func runRoomsList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms list", "-config FILE [-q TEXT] [-tenant T] [-json]")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	query := fs.String("q", "", "only rooms whose name or title contains this")
	tenant := fs.String("tenant", "", "only the rooms of this tenant")
	asJSON := fs.Bool("json", false, "print the rooms as a JSON array (passwords left out)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	re, err := openRooms(ctx, e, *configPath)
	if err != nil {
		return err
	}
	defer re.store.Close()
	filter := rooms.Filter{Query: *query}
	if *tenant != "" {
		t := strings.ToLower(strings.TrimSpace(*tenant))
		filter.Tenant = &t
	}
	list, err := re.svc.List(ctx, filter)
	if err != nil {
		return roomError("list", err)
	}
	if *asJSON {
		out := make([]rooms.Resource, 0, len(list))
		for _, r := range list {
			res := re.svc.Resource(r)
			res.Password = ""
			out = append(out, res)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No rooms. Create one with: jitsi-gate rooms create -name NAME")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tTENANT\tTITLE\tWHEN\tJOIN LINK")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Display, dash(r.Tenant), r.Title, whenText(r), re.svc.JoinURL(r))
	}
	return tw.Flush()
}

func runRoomsImport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms import", "-config FILE [-dry-run] FILE.csv")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	dryRun := fs.Bool("dry-run", false, "check the file and show what would change; write nothing")
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate rooms import: give exactly one CSV file (- for stdin)"}
	}
	var in io.Reader = e.stdin
	if positional[0] != "-" {
		f, err := os.Open(positional[0])
		if err != nil {
			return exitError{code: 1, msg: "jitsi-gate rooms import: " + err.Error()}
		}
		defer f.Close()
		in = f
	}
	re, err := openRooms(ctx, e, *configPath)
	if err != nil {
		return err
	}
	defer re.store.Close()
	rep, err := re.svc.Import(ctx, in, rooms.ImportOptions{DryRun: *dryRun, CreatedBy: "import"})
	var ie *rooms.ImportError
	if errors.As(err, &ie) {
		fmt.Fprintf(e.stderr, "%s: %d problem(s), nothing was written:\n", positional[0], len(ie.Errors))
		for _, le := range ie.Errors {
			fmt.Fprintf(e.stderr, "  - %s\n", le)
		}
		return exitError{code: 1}
	}
	if err != nil {
		return roomError("import", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, ch := range rep.Changes {
		detail := ""
		if ch.Action == rooms.ActionUpdate {
			detail = "changes " + strings.Join(ch.Fields, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ch.Action, ch.Display, dash(ch.Tenant), lineRange(ch.Lines), detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verb := "Written"
	if !rep.Applied {
		verb = "Dry run, nothing written"
	}
	fmt.Fprintf(e.stdout, "%s: %d to create, %d to update, %d unchanged.\n", verb, rep.Created, rep.Updated, rep.Unchanged)
	return nil
}

func runRoomsExport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms export", "-config FILE [-o FILE.csv] [-excel]")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	out := fs.String("o", "", "write to this file (mode 0600: it holds room passwords) instead of stdout")
	excel := fs.Bool("excel", false, "';' and a UTF-8 byte order mark, as German Excel reads and writes CSV")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	re, err := openRooms(ctx, e, *configPath)
	if err != nil {
		return err
	}
	defer re.store.Close()
	opts := rooms.ExportOptions{}
	if *excel {
		opts.Comma, opts.BOM = ';', true
	}
	if *out == "" {
		if err := re.svc.Export(ctx, e.stdout, opts); err != nil {
			return roomError("export", err)
		}
		return nil
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate rooms export: " + err.Error()}
	}
	// The file holds room passwords: an existing file keeps its mode
	// otherwise.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return exitError{code: 1, msg: "jitsi-gate rooms export: " + err.Error()}
	}
	if err := re.svc.Export(ctx, f, opts); err != nil {
		f.Close()
		return roomError("export", err)
	}
	if err := f.Close(); err != nil {
		return exitError{code: 1, msg: "jitsi-gate rooms export: " + err.Error()}
	}
	return nil
}

// printRoom prints a room for people, or as the API's JSON.
func printRoom(w io.Writer, svc *rooms.Service, r *rooms.Room, asJSON, showPassword bool) error {
	if asJSON {
		res := svc.Resource(r)
		if !showPassword {
			res.Password = ""
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Room:", fmt.Sprintf("%s (%s)", r.Title, roomLabel(r)))
	row("Join link:", svc.JoinURL(r))
	row("Organizers:", listText(r.Organizers, "none"))
	row("Participants:", listText(r.Participants, "anyone the rules let in"))
	row("Lobby:", yesNo(r.Lobby))
	switch {
	case r.Password == "":
		row("Password:", "none")
	case showPassword:
		row("Password:", r.Password)
	default:
		row("Password:", "set (shown with -show-password)")
	}
	if r.MaxOccupants > 0 {
		row("Max occupants:", fmt.Sprint(r.MaxOccupants))
	}
	row("When:", whenText(r))
	for _, win := range r.Schedule.Windows {
		row("", fmt.Sprintf("%s – %s", win.Start.Format("Mon 2006-01-02 15:04"), win.End.Format("Mon 2006-01-02 15:04")))
	}
	if r.ValidFrom != "" || r.ValidUntil != "" {
		row("Term:", fmt.Sprintf("%s – %s", dash(r.ValidFrom), dash(r.ValidUntil)))
	}
	row("Timezone:", r.Timezone)
	row("Open early:", r.Spec().OpenEarly+" (organizers)")
	if !r.Schedule.Unrestricted() {
		a := r.OpenFor(time.Now(), false)
		switch {
		case a.Open:
			row("Now:", "open until "+a.Current.End.Format("Mon 2006-01-02 15:04"))
		case a.HasNext:
			row("Next:", a.Next.Start.Format("Monday 2006-01-02 15:04")+" – "+a.Next.End.Format("15:04"))
		default:
			row("Next:", "no more times scheduled")
		}
	}
	row("Id:", fmt.Sprintf("%s (version %d, created by %s at %s)", r.ID, r.Version, dash(r.CreatedBy), r.CreatedAt.Format(time.RFC3339)))
	return tw.Flush()
}

func roomLabel(r *rooms.Room) string {
	if r.Tenant != "" {
		return r.Tenant + "/" + r.Name
	}
	return r.Name
}

// whenText summarises a room's schedule in one line.
func whenText(r *rooms.Room) string {
	s := r.Schedule
	if s.Unrestricted() {
		return "always open"
	}
	var parts []string
	if len(s.Weekly) > 0 {
		parts = append(parts, "weekly "+schedule.FormatWeekly(s.Weekly))
	}
	if n := len(s.Windows); n > 0 {
		parts = append(parts, fmt.Sprintf("%d one-off window(s)", n))
	}
	return strings.Join(parts, "; ")
}

func listText(l []string, empty string) string {
	if len(l) == 0 {
		return empty
	}
	return strings.Join(l, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lineRange(lines []int) string {
	if len(lines) == 1 {
		return fmt.Sprintf("line %d", lines[0])
	}
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprint(l)
	}
	return "lines " + strings.Join(parts, ",")
}

// runMigrate applies the schema migrations of the configured store and
// prints the version (a Kubernetes init step before a rollout).
func runMigrate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "migrate", "-config FILE [-status]")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	status := fs.Bool("status", false, "only print the schema version; apply nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1}
	}
	st, err := openStoreWith(ctx, cfg, newLogger(io.Discard, cfg.Log), *status)
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1}
	}
	defer st.Close()
	v, err := st.Version(ctx)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate migrate: " + err.Error()}
	}
	latest := st.LatestVersion()
	switch {
	case v < latest:
		fmt.Fprintf(e.stdout, "%s schema version %d; this jitsi-gate brings it to %d (run without -status)\n", st.Driver(), v, latest)
	case v > latest:
		fmt.Fprintf(e.stdout, "%s schema version %d, newer than this jitsi-gate knows (%d)\n", st.Driver(), v, latest)
	default:
		fmt.Fprintf(e.stdout, "%s schema version %d (up to date)\n", st.Driver(), v)
	}
	return nil
}
