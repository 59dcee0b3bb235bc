package i18n

import (
	"fmt"
	"time"
)

var (
	weekdays = map[string][7]string{
		"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		"de": {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
	}
	months = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	}
)

// When says when at is, as a phrase for a sentence ("opens …"), in at's
// own location: "today at 08:00", "tomorrow at 08:00", "on Monday, 30
// November at 08:00" (with the year when it is not now's year); German
// "heute um 08:00", "am Montag, 30. November um 08:00".
func (t Translator) When(at, now time.Time) string {
	now = now.In(at.Location())
	clock := at.Format("15:04")
	ay, am, ad := at.Date()
	ny, nm, nd := now.Date()
	days := int(time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC).Sub(time.Date(ny, nm, nd, 12, 0, 0, 0, time.UTC)).Hours() / 24)
	lang := t.lang
	if _, ok := weekdays[lang]; !ok {
		lang = "en"
	}
	wd, mon := weekdays[lang][at.Weekday()], months[lang][am-1]
	year := ""
	if ay != ny {
		year = fmt.Sprintf(" %d", ay)
	}
	if lang == "de" {
		switch days {
		case 0:
			return "heute um " + clock
		case 1:
			return "morgen um " + clock
		}
		return fmt.Sprintf("am %s, %d. %s%s um %s", wd, ad, mon, year, clock)
	}
	switch days {
	case 0:
		return "today at " + clock
	case 1:
		return "tomorrow at " + clock
	}
	return fmt.Sprintf("on %s, %d %s%s at %s", wd, ad, mon, year, clock)
}

// Weekday is the name of d ("Monday", "Montag").
func (t Translator) Weekday(d time.Weekday) string {
	names, ok := weekdays[t.lang]
	if !ok {
		names = weekdays["en"]
	}
	return names[d]
}
