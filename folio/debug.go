// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"fmt"
	"strings"
)

// Bug is the value a failed VM_BUG_ON_FOLIO panics with: what broke, and
// the dump_page of the folio it broke on. A stress harness recovers it
// and reports it.
type Bug struct {
	Reason string
	Dump   string
}

func (b *Bug) Error() string {
	return fmt.Sprintf("kernel BUG: %s\n%s", b.Reason, b.Dump)
}

func (f Folio) bug(format string, args ...any) {
	panic(&Bug{Reason: fmt.Sprintf(format, args...), Dump: f.m.DumpPage(f.pfn)})
}

// BugOn panics with a Bug naming f when cond holds (VM_BUG_ON_FOLIO).
func (f Folio) BugOn(cond bool, format string, args ...any) {
	if cond {
		f.bug(format, args...)
	}
}

// DumpPage describes page frame pfn the way dump_page does.
func (m *Memmap) DumpPage(pfn uint32) string {
	if int(pfn) >= len(m.pages) {
		return fmt.Sprintf("page: pfn:%#x outside the memmap", pfn)
	}
	p := &m.pages[pfn]
	var b strings.Builder
	fmt.Fprintf(&b, "page: refcount:%d mapcount:%d mapping:%s index:%#x pfn:%#x",
		p.refcount.Load(), p.mapcount.Load()+1, mappingString(p.mapping.Load()), p.index.Load(), pfn)
	w := p.flags.Load()
	c, flags := compoundOf(w), w&flagsMask
	switch {
	case c&tailBit != 0:
		fmt.Fprintf(&b, " compound head:%#x", c&^tailBit)
	case flags&bit(PGHead) != 0:
		fmt.Fprintf(&b, " head order:%d", c&0xff)
	}
	fmt.Fprintf(&b, "\nflags: %s", FlagsString(flags))
	return b.String()
}

func mappingString(mp uint64) string {
	switch {
	case mp == 0:
		return "0000000000000000"
	case mp == MovableOps:
		return "movable_ops"
	case mp == Poison:
		return fmt.Sprintf("%016x (poison)", mp)
	case mp&3 == 0:
		return fmt.Sprintf("as:%d", mp>>2)
	}
	return fmt.Sprintf("%016x", mp)
}

// badPage is bad_page: report, count and keep the report.
func (m *Memmap) badPage(pfn uint32, reason string) {
	report := fmt.Sprintf("BUG: Bad page state pfn:%#05x\n%s\npage dumped because: %s",
		pfn, m.DumpPage(pfn), reason)
	m.badN.Add(1)
	m.badMu.Lock()
	if len(m.bad) < 64 {
		m.bad = append(m.bad, report)
	}
	m.badMu.Unlock()
	if m.onBad != nil {
		m.onBad(report)
	}
}

// BadPages returns how many bad_page reports there were, and the first
// of them (up to 64).
func (m *Memmap) BadPages() (int64, []string) {
	m.badMu.Lock()
	defer m.badMu.Unlock()
	return m.badN.Load(), append([]string(nil), m.bad...)
}
