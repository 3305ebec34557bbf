package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/deal"
)

// Languages a report can be written in.
const (
	Russian = "ru"
	English = "en"
)

// ValidLanguage reports whether lang is a language Render knows.
func ValidLanguage(lang string) bool { return lang == Russian || lang == English }

// texts are the words of one language. Templates use them as .T.Field, so a
// missing translation is a compile error, not an empty cell.
type texts struct {
	Subject, SubjectWeek, SubjectManager                            string
	Heading, HeadingWeek, Team, Period, Generated                   string
	TalkTitle, Manager, Calls, Talk, Share, Target, Distance        string
	NoCalls, TeamTotal, Unknown, TalkNote                           string
	SourcesTitle, Source, Leads, Reached, Qualified, Won, Revenue   string
	Unreachable, Total, Change, SourcesNote, SourcesTeamOnly        string
	MissedTitle, MissedNone, At, Client, Owner, Age, MissedNote     string
	SpeedTitle, Median, P90, WithinSLA, SpeedNone                   string
	RefusalsTitle, Reason, Deals, RefusalsNone                      string
	QueueTitle, QueueNone, Name, Category, Score, LastTouch         string
	Threshold, ThresholdLearned                                     string
	Omitted, NoData, Attachments, WeekTitle, DayTitle, ChartTalkAlt string
	ChartSourcesAlt, ChartSpeedAlt, Legend, TargetRow               string
	Hours, Minutes, Seconds, Points, More                           string
}

var catalog = map[string]*texts{
	Russian: {
		Subject: "callpulse: итоги дня %s", SubjectWeek: "callpulse: итоги дня %s и недели %s",
		SubjectManager: "callpulse: ваши итоги за %s — %s",
		Heading:        "Итоги дня %s", HeadingWeek: "Неделя %s", Team: "вся команда",
		Period: "Период", Generated: "Отчёт составлен %s (%s)",
		TalkTitle: "Время разговоров по категориям клиентов", Manager: "Менеджер", Calls: "Звонков",
		Talk: "Разговоры", Share: "Доля", Target: "цель", Distance: "Отклонение от цели",
		NoCalls: "нет разговоров", TeamTotal: "Вся команда", Unknown: "без категории",
		TalkNote:     "Сначала менеджеры, дальше всех отошедшие от цели (отклонение — половина суммы |доля − цель| по категориям).",
		SourcesTitle: "Воронка по рекламным источникам", Source: "Источник", Leads: "Лиды",
		Reached: "Дозвонились", Qualified: "Квалифицированы", Won: "Выиграны", Revenue: "Выручка",
		Unreachable: "Недозвон", Total: "Итого", Change: "изменение к %s",
		SourcesNote:     "Лиды — клиенты, впервые обратившиеся в этот период; их результаты учтены по сегодняшний день.",
		SourcesTeamOnly: "Воронка по источникам — общая для команды и есть в отчёте руководителя.",
		MissedTitle:     "Пропущенные звонки без перезвона", MissedNone: "Все пропущенные звонки перезвонены.",
		At: "Когда", Client: "Клиент", Owner: "Ответственный", Age: "Ждёт",
		MissedNote: "Звонки за %s, по которым ещё не перезвонили; норматив перезвона %s.",
		SpeedTitle: "Скорость реакции на новый лид", Median: "Медиана", P90: "90-й перцентиль",
		WithinSLA: "В нормативе", SpeedNone: "Новых лидов не было.",
		RefusalsTitle: "Основные причины отказов", Reason: "Причина", Deals: "Сделок",
		RefusalsNone: "Проигранных сделок нет.",
		QueueTitle:   "Очередь обзвона: лучшие лиды", QueueNone: "Очередь пуста.",
		Name: "Имя", Category: "Кат.", Score: "Баллы", LastTouch: "Последний контакт",
		Threshold: "Порог: %s баллов (%s)", ThresholdLearned: "по %d сделкам",
		Omitted: "Раздел «%s» не включён: источник данных не настроен.", NoData: "нет данных",
		Attachments: "Исходные строки — во вложенных CSV-файлах.",
		WeekTitle:   "Неделя %s", DayTitle: "День %s",
		ChartTalkAlt:    "Доли времени разговоров по категориям A/B/C",
		ChartSourcesAlt: "Воронка по источникам: лиды, дозвонились, выиграны",
		ChartSpeedAlt:   "Доля новых лидов, обработанных в нормативе, по менеджерам",
		Legend:          "цель", TargetRow: "Цель",
		Hours: "ч", Minutes: "мин", Seconds: "с", Points: "п.п.", More: "и ещё %d",
	},
	English: {
		Subject: "callpulse: daily report for %s", SubjectWeek: "callpulse: daily report for %s and week %s",
		SubjectManager: "callpulse: your numbers for %s — %s",
		Heading:        "Daily report for %s", HeadingWeek: "Week %s", Team: "whole team",
		Period: "Period", Generated: "Generated %s (%s)",
		TalkTitle: "Talk time by client category", Manager: "Manager", Calls: "Calls",
		Talk: "Talk time", Share: "Share", Target: "target", Distance: "Off target",
		NoCalls: "no calls", TeamTotal: "Whole team", Unknown: "no category",
		TalkNote:     "Managers furthest from target first (off target = half the sum of |share − target| over the categories).",
		SourcesTitle: "Ad-source funnel", Source: "Source", Leads: "Leads",
		Reached: "Reached", Qualified: "Qualified", Won: "Won", Revenue: "Revenue",
		Unreachable: "Unreachable", Total: "Total", Change: "change against %s",
		SourcesNote:     "Leads are clients whose first contact fell in the period; their outcomes are counted up to today.",
		SourcesTeamOnly: "The ad-source funnel is the team's; it is in the team report.",
		MissedTitle:     "Missed calls not called back", MissedNone: "Every missed call has been called back.",
		At: "When", Client: "Client", Owner: "Owner", Age: "Waiting",
		MissedNote: "Calls of %s not yet called back; the callback target is %s.",
		SpeedTitle: "Speed to lead", Median: "Median", P90: "90th percentile",
		WithinSLA: "Within target", SpeedNone: "There were no new leads.",
		RefusalsTitle: "Top refusal reasons", Reason: "Reason", Deals: "Deals",
		RefusalsNone: "No deals were lost.",
		QueueTitle:   "Call queue: top leads", QueueNone: "The queue is empty.",
		Name: "Name", Category: "Cat.", Score: "Score", LastTouch: "Last touch",
		Threshold: "Threshold: %s points (%s)", ThresholdLearned: "learned from %d deals",
		Omitted: "Section “%s” left out: its data source is not configured.", NoData: "no data",
		Attachments: "The raw rows are in the attached CSV files.",
		WeekTitle:   "Week %s", DayTitle: "Day %s",
		ChartTalkAlt:    "Shares of talk time by category A/B/C",
		ChartSourcesAlt: "Funnel per source: leads, reached, won",
		ChartSpeedAlt:   "Share of new leads reached within target, per manager",
		Legend:          "target", TargetRow: "Target",
		Hours: "h", Minutes: "min", Seconds: "s", Points: "pp", More: "and %d more",
	},
}

// format writes numbers, money, durations and dates the way a language
// does.
type format struct {
	lang string
	t    *texts
	loc  *time.Location
}

func newFormat(lang string, loc *time.Location) format {
	return format{lang: lang, t: catalog[lang], loc: loc}
}

// group inserts the thousands separator into a string of digits.
func (f format) group(digits string) string {
	sep := ","
	if f.lang == Russian {
		sep = "\u00a0"
	}
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Int formats a whole number.
func (f format) Int(n uint64) string { return f.group(strconv.FormatUint(n, 10)) }

// Dec formats x with the given decimals and the language's separators.
func (f format) Dec(x float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(x), 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	out := f.group(whole)
	if frac != "" {
		if f.lang == Russian {
			out += "," + frac
		} else {
			out += "." + frac
		}
	}
	if x < 0 && strings.Trim(s, "0.") != "" {
		out = "−" + out
	}
	return out
}

// Pct formats a ratio as a percentage with one decimal.
func (f format) Pct(ratio float64) string {
	if f.lang == Russian {
		return f.Dec(ratio*100, 1) + "\u00a0%"
	}
	return f.Dec(ratio*100, 1) + "%"
}

// Money formats an amount in the installation's currency.
func (f format) Money(a deal.Amount) string {
	neg := a < 0
	if neg {
		a = -a
	}
	s := f.group(strconv.FormatInt(int64(a)/100, 10))
	if cents := int64(a) % 100; cents != 0 {
		sep := "."
		if f.lang == Russian {
			sep = ","
		}
		s += fmt.Sprintf("%s%02d", sep, cents)
	}
	if neg {
		s = "−" + s
	}
	return s
}

// Dur formats a duration as hours and minutes, or minutes and seconds
// under an hour, or seconds under a minute.
func (f format) Dur(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%d\u00a0%s %02d\u00a0%s", h, f.t.Hours, m, f.t.Minutes)
	case m > 0:
		return fmt.Sprintf("%d\u00a0%s %02d\u00a0%s", m, f.t.Minutes, s, f.t.Seconds)
	}
	return fmt.Sprintf("%d\u00a0%s", s, f.t.Seconds)
}

// Secs formats a number of seconds as Dur does.
func (f format) Secs(seconds float64) string {
	return f.Dur(time.Duration(seconds * float64(time.Second)))
}

// Date formats a calendar day.
func (f format) Date(t time.Time) string {
	if f.lang == Russian {
		return t.Format("02.01.2006")
	}
	return t.Format(time.DateOnly)
}

// Time formats an instant in the report's zone, to the minute.
func (f format) Time(t time.Time) string {
	t = t.In(f.loc)
	if f.lang == Russian {
		return t.Format("02.01.2006 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// Period formats a period as one day or a range of days.
func (f format) Period(p analytics.Period) string {
	if p.From.Equal(p.To) {
		return f.Date(p.From)
	}
	return f.Date(p.From) + "–" + f.Date(p.To)
}

// Delta formats the change of a count, with its sign; "±0" when none.
func (f format) Delta(now, before uint64) string {
	switch {
	case now > before:
		return "+" + f.Int(now-before)
	case now < before:
		return "−" + f.Int(before-now)
	}
	return "±0"
}

// DeltaMoney formats the change of an amount, with its sign.
func (f format) DeltaMoney(now, before deal.Amount) string {
	switch d := now - before; {
	case d > 0:
		return "+" + f.Money(d)
	case d < 0:
		return f.Money(d)
	}
	return "±0"
}

// DeltaPts formats the change of a ratio in percentage points.
func (f format) DeltaPts(now, before float64) string {
	d := math.Round((now-before)*1000) / 10
	switch {
	case d > 0:
		return "+" + f.Dec(d, 1) + "\u00a0" + f.t.Points
	case d < 0:
		return f.Dec(d, 1) + "\u00a0" + f.t.Points
	}
	return "±0"
}
