package sheet

import (
	"math"
	"strconv"
)

// decimal is a non-negative number as Excel holds it: at most 15
// significant digits, the value being 0.d[0]d[1]...d[n-1] × 10^exp. Rounding
// this decimal (not the binary float) is what makes 1.005 show as 1.01 and
// 0.1+0.2 as 0.3, as in Excel.
type decimal struct {
	d   [17]byte
	n   int
	exp int
}

func toDecimal(v float64) decimal {
	var x decimal
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return x
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], v, 'e', 14, 64) // d.dddddddddddddde±dd
	x.d[0] = b[0]
	x.n = 1
	i := 2
	for ; b[i] != 'e'; i++ {
		x.d[x.n] = b[i]
		x.n++
	}
	e, neg := 0, b[i+1] == '-'
	for _, c := range b[i+2:] {
		e = e*10 + int(c-'0')
	}
	if neg {
		e = -e
	}
	x.exp = e + 1
	x.trim()
	return x
}

func (x *decimal) trim() {
	for x.n > 0 && x.d[x.n-1] == '0' {
		x.n--
	}
	if x.n == 0 {
		x.exp = 0
	}
}

// digit is the i-th significant digit, '0' outside the stored ones.
func (x *decimal) digit(i int) byte {
	if i < 0 || i >= x.n {
		return '0'
	}
	return x.d[i]
}

// round keeps frac decimals, rounding half away from zero like Excel.
func (x *decimal) round(frac int) {
	keep := x.exp + frac
	if keep >= x.n {
		return
	}
	if keep < 0 {
		x.n, x.exp = 0, 0
		return
	}
	up := x.d[keep] >= '5'
	x.n = keep
	if up {
		i := keep - 1
		for i >= 0 && x.d[i] == '9' {
			i--
		}
		if i < 0 {
			x.d[0], x.n = '1', 1
			x.exp++
		} else {
			x.d[i]++
			x.n = i + 1
		}
	}
	x.trim()
}

// appendFixed writes x without an exponent: integer digits (or 0), then the
// stored decimals.
func (x *decimal) appendFixed(dst []byte) []byte {
	if x.exp <= 0 {
		dst = append(dst, '0')
	}
	for i := 0; i < x.exp; i++ {
		dst = append(dst, x.digit(i))
	}
	if x.n > x.exp {
		dst = append(dst, '.')
		for i := x.exp; i < x.n; i++ {
			dst = append(dst, x.digit(i))
		}
	}
	return dst
}

// appendGeneral writes v as Excel's General format shows it in a cell of the
// standard width: at most 11 characters besides the sign, integers without
// decimals, and 1.23457E+12 for numbers too large or too small.
func appendGeneral(dst []byte, v float64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	x := toDecimal(v)
	if x.n == 0 {
		return append(dst, '0')
	}
	lead := x.exp - 1 // the power of ten of the first digit
	switch {
	case lead >= 11 || lead <= -10:
		return appendGeneralSci(dst, x)
	case lead <= -5:
		// Tiny numbers stay fixed only when nothing is lost in 9 decimals.
		y := x
		y.round(12)
		if y.n-y.exp > 9 {
			return appendGeneralSci(dst, x)
		}
		return y.appendFixed(dst)
	case lead < 0:
		x.round(9)
		return x.appendFixed(dst)
	}
	y := x
	y.round(max(0, 9-lead))
	if y.exp-1 >= 11 {
		return appendGeneralSci(dst, x)
	}
	return y.appendFixed(dst)
}

// appendGeneralSci writes x with six significant digits and an exponent of
// at least two digits: 1.23457E+12, 1E-10.
func appendGeneralSci(dst []byte, x decimal) []byte {
	x.round(6 - x.exp)
	e := x.exp - 1
	dst = append(dst, x.digit(0))
	if x.n > 1 {
		dst = append(dst, '.')
		dst = append(dst, x.d[1:x.n]...)
	}
	dst = append(dst, 'E')
	if e < 0 {
		dst = append(dst, '-')
		e = -e
	} else {
		dst = append(dst, '+')
	}
	return appendPadded(dst, int64(e), 2)
}
