package sheet

import (
	"math"
	"strconv"
)

// Excel's serial dates count days: in the 1900 system day 1 is 1900-01-01
// and day 60 is the 29 February 1900 that never was (a Lotus 1-2-3 bug Excel
// keeps); in the 1904 system day 0 is 1904-01-01. The constants are those
// origins as days since 1970-01-01.
const (
	unixDay18991230 = -25569 // serial 0 for serials after the fake leap day
	unixDay18991231 = -25568 // serial 0 for serials before it
	unixDay19040101 = -24107
	maxSerialDate   = 2958466 // 10000-01-01, where Excel stops
)

// appendDate formats the serial date v; it reports false for a value Excel
// cannot show as a date (negative, or after 9999).
func (s *fmtSection) appendDate(dst []byte, v float64, date1904 bool) ([]byte, bool) {
	if v < 0 || v >= maxSerialDate {
		return dst, false
	}
	// Round to the shown precision first, so 10:29:59.7 shows 10:30:00 and
	// 23:59:59.9 becomes the next day, as Excel does.
	scale := int64(1)
	for range s.subsec {
		scale *= 10
	}
	units := int64(math.Round(v * 86400 * float64(scale)))
	perDay := 86400 * scale
	days, rem := units/perDay, units%perDay
	sub, secs := rem%scale, rem/scale
	hour, minute, second := secs/3600, secs/60%60, secs%60
	y, mo, d, wd := excelDate(days, date1904)

	for _, t := range s.tokens {
		switch t.kind {
		case tokLit:
			dst = append(dst, t.lit...)
		case tokYear:
			if t.n == 4 {
				dst = appendPadded(dst, int64(y), 4)
			} else {
				dst = appendPadded(dst, int64(y%100), 2)
			}
		case tokMonth:
			switch t.n {
			case 1, 2:
				dst = appendPadded(dst, int64(mo), t.n)
			case 3:
				dst = append(dst, monthName(mo)[:3]...)
			case 4:
				dst = append(dst, monthName(mo)...)
			default:
				dst = append(dst, monthName(mo)[0])
			}
		case tokDay:
			switch t.n {
			case 1, 2:
				dst = appendPadded(dst, int64(d), t.n)
			case 3:
				dst = append(dst, dayName(wd)[:3]...)
			default:
				dst = append(dst, dayName(wd)...)
			}
		case tokHour:
			h := hour
			if s.hour12 {
				if h = h % 12; h == 0 {
					h = 12
				}
			}
			dst = appendPadded(dst, h, t.n)
		case tokMinute:
			dst = appendPadded(dst, minute, t.n)
		case tokSecond:
			dst = appendPadded(dst, second, t.n)
		case tokSubsec:
			dst = append(dst, '.')
			var buf [8]byte
			digits := appendPadded(buf[:0], sub, s.subsec)
			dst = append(dst, digits[:t.n]...)
		case tokAMPM:
			if hour < 12 {
				dst = append(dst, t.lit...)
			} else {
				dst = append(dst, t.lit2...)
			}
		case tokElapsedH:
			dst = appendPadded(dst, days*24+hour, t.n)
		case tokElapsedM:
			dst = appendPadded(dst, (days*24+hour)*60+minute, t.n)
		case tokElapsedS:
			dst = appendPadded(dst, ((days*24+hour)*60+minute)*60+second, t.n)
		}
	}
	return dst, true
}

// excelDate turns a serial day into year, month, day and weekday (0 is
// Sunday), keeping Excel's fake 1900-02-29 and its day 0, "1/0/1900".
func excelDate(days int64, date1904 bool) (y, m, d, wd int) {
	if date1904 {
		y, m, d = civil(unixDay19040101 + days)
		return y, m, d, int((days + 5) % 7)
	}
	wd = int((days + 6) % 7)
	switch {
	case days == 0:
		return 1900, 1, 0, wd
	case days == 60:
		return 1900, 2, 29, wd
	case days < 60:
		y, m, d = civil(unixDay18991231 + days)
	default:
		y, m, d = civil(unixDay18991230 + days)
	}
	return y, m, d, wd
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm: no time.Time, no allocation).
func civil(z int64) (int, int, int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func appendPadded(dst []byte, v int64, width int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], v, 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// monthName is the en-US name of month m (1-12).
func monthName(m int) string {
	switch m {
	case 1:
		return "January"
	case 2:
		return "February"
	case 3:
		return "March"
	case 4:
		return "April"
	case 5:
		return "May"
	case 6:
		return "June"
	case 7:
		return "July"
	case 8:
		return "August"
	case 9:
		return "September"
	case 10:
		return "October"
	case 11:
		return "November"
	}
	return "December"
}

// dayName is the en-US name of weekday wd (0 is Sunday).
func dayName(wd int) string {
	switch wd {
	case 0:
		return "Sunday"
	case 1:
		return "Monday"
	case 2:
		return "Tuesday"
	case 3:
		return "Wednesday"
	case 4:
		return "Thursday"
	case 5:
		return "Friday"
	}
	return "Saturday"
}
